import ToolSupport

/// The length of one output file's window; windows are calendar-aligned in UTC.
public enum OutputDuration: String, CaseIterable, Codable, Sendable {
    case hourly, daily, weekly, monthly, yearly

    /// The calendar window containing `t`.
    public func window(containing t: Instant) -> Window {
        let c = t.civil
        let start: Instant
        switch self {
        case .hourly: start = Instant(year: c.year, month: c.month, day: c.day, hour: c.hour)
        case .daily: start = Instant(year: c.year, month: c.month, day: c.day)
        case .weekly: start = Instant(year: c.year, month: c.month, day: c.day).adding(days: -Civil.weekday(days: t.day))
        case .monthly: start = Instant(year: c.year, month: c.month, day: 1)
        case .yearly: start = Instant(year: c.year, month: 1, day: 1)
        }
        return Window(start: start, end: next(after: start))
    }

    /// The start of the window after the one starting at `start`.
    public func next(after start: Instant) -> Instant {
        let c = start.civil
        switch self {
        case .hourly: return Instant(microseconds: start.microseconds + Instant.hour)
        case .daily: return start.adding(days: 1)
        case .weekly: return start.adding(days: 7)
        case .monthly: return c.month == 12 ? Instant(year: c.year + 1, month: 1, day: 1) : Instant(year: c.year, month: c.month + 1, day: 1)
        case .yearly: return Instant(year: c.year + 1, month: 1, day: 1)
        }
    }

    /// The window's label, the part of the file stem after the table: `2024-01-05`, `2024-W05`, …
    public func label(windowStart start: Instant) -> String {
        let c = start.civil
        switch self {
        case .hourly: return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))-\(pad(c.hour, 2))"
        case .daily: return start.dateText
        case .weekly:
            let w = Civil.isoWeek(days: start.day)
            return "\(pad(w.year, 4))-W\(pad(w.week, 2))"
        case .monthly: return "\(pad(c.year, 4))-\(pad(c.month, 2))"
        case .yearly: return pad(c.year, 4)
        }
    }

    /// The path-template parts `YYYY MM DD HH` of a window start.
    public static func templateParts(windowStart start: Instant) -> TemplateParts {
        let c = start.civil
        return TemplateParts(YYYY: pad(c.year, 4), MM: pad(c.month, 2), DD: pad(c.day, 2), HH: pad(c.hour, 2))
    }

    /// The calendar windows overlapping `span`, in order.
    public func windows(overlapping span: Window) -> [Window] {
        guard !span.isEmpty else { return [] }
        var out: [Window] = []
        var w = window(containing: span.start)
        while w.start < span.end {
            out.append(w)
            w = Window(start: w.end, end: next(after: w.end))
        }
        return out
    }
}

/// The values a path template's placeholders take for one slice.
public struct TemplateParts: Codable, Equatable, Sendable {
    /// Four-digit year.
    public var YYYY: String
    /// Two-digit month.
    public var MM: String
    /// Two-digit day.
    public var DD: String
    /// Two-digit hour.
    public var HH: String

    /// Parts from their values.
    public init(YYYY: String, MM: String, DD: String, HH: String) {
        self.YYYY = YYYY
        self.MM = MM
        self.DD = DD
        self.HH = HH
    }
}
