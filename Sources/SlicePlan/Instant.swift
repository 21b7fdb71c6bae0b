import ToolSupport

/// A point in time in UTC, in microseconds since 1970-01-01 (PostgreSQL's own resolution).
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Microseconds since the Unix epoch.
    public var microseconds: Int64

    /// An instant from microseconds since the epoch.
    public init(microseconds: Int64) { self.microseconds = microseconds }

    /// Earlier instants sort first.
    public static func < (a: Instant, b: Instant) -> Bool { a.microseconds < b.microseconds }

    /// Midnight (or `hour`:00) UTC of a calendar date.
    public init(year: Int, month: Int, day: Int, hour: Int = 0) {
        let days = Int64(Civil.days(year: year, month: month, day: day))
        microseconds = (days * 86_400 + Int64(hour) * 3_600) * 1_000_000
    }

    /// Days since 1970-01-01 (floor).
    public var day: Int { Int(microseconds.floorDivided(by: 86_400_000_000)) }

    /// The calendar fields in UTC.
    public var civil: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, micro: Int) {
        let d = day
        let (y, m, dd) = Civil.date(days: d)
        let rest = microseconds - Int64(d) * 86_400_000_000
        let seconds = Int(rest / 1_000_000)
        return (y, m, dd, seconds / 3600, seconds / 60 % 60, seconds % 60, Int(rest % 1_000_000))
    }

    /// RFC 3339 in UTC: `2024-01-05T00:00:00Z` (fraction only when non-zero).
    public var description: String {
        let c = civil
        var s = "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))"
        if c.micro != 0 {
            var fraction = pad(c.micro, 6)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            s += "." + fraction
        }
        return s + "Z"
    }

    /// A PostgreSQL timestamptz literal body: `2024-01-05 00:00:00+00` (with fraction when non-zero).
    public var postgresText: String {
        String(description.dropLast()).replacingFirst("T", with: " ") + "+00"
    }

    /// The date part, `YYYY-MM-DD`.
    public var dateText: String {
        let c = civil
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))"
    }

    /// Parses `YYYY-MM-DD` (midnight UTC) or RFC 3339 with `Z`/`+00:00`/offset and optional fraction.
    public static func parse(_ text: String) -> Instant? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard b.count >= 10, let y = num(0, 4), b[4] == UInt8(ascii: "-"), let m = num(5, 2), b[7] == UInt8(ascii: "-"),
              let d = num(8, 2), Civil.isValid(year: y, month: m, day: d) else { return nil }
        var t = Instant(year: y, month: m, day: d)
        if b.count == 10 { return t }
        guard b.count >= 19, b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " "), let hh = num(11, 2), b[13] == UInt8(ascii: ":"),
              let mm = num(14, 2), b[16] == UInt8(ascii: ":"), let ss = num(17, 2), hh < 24, mm < 60, ss < 60 else { return nil }
        t.microseconds += Int64(hh * 3600 + mm * 60 + ss) * 1_000_000
        var i = 19
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            var micro = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 6 { micro = micro * 10 + Int(b[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            if digits < 6 { for _ in digits..<6 { micro *= 10 } }
            t.microseconds += Int64(micro)
        }
        guard i < b.count else { return t }
        if b[i] == UInt8(ascii: "Z"), i + 1 == b.count { return t }
        guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), let oh = num(i + 1, 2) else { return nil }
        var offset = oh * 3600
        var j = i + 3
        if j < b.count, b[j] == UInt8(ascii: ":") { j += 1 }
        if j < b.count {
            guard let om = num(j, 2), j + 2 == b.count else { return nil }
            offset += om * 60
        }
        t.microseconds -= Int64(b[i] == UInt8(ascii: "+") ? offset : -offset) * 1_000_000
        return t
    }

    /// The instant `days` days later.
    public func adding(days: Int) -> Instant { Instant(microseconds: microseconds + Int64(days) * 86_400_000_000) }

    /// Stands for an unbounded lower side (MINVALUE, no `--start-date`).
    public static let distantPast = Instant(microseconds: Int64.min / 4)
    /// Stands for an unbounded upper side (MAXVALUE).
    public static let distantFuture = Instant(microseconds: Int64.max / 4)

    /// Microseconds of an hour.
    public static let hour: Int64 = 3_600_000_000
}

/// A half-open time window `[start, end)`.
public struct Window: Hashable, Sendable, CustomStringConvertible {
    /// First instant inside.
    public var start: Instant
    /// First instant after.
    public var end: Instant

    /// A window from its bounds.
    public init(start: Instant, end: Instant) {
        self.start = start
        self.end = end
    }

    /// Whether nothing lies inside.
    public var isEmpty: Bool { end <= start }

    /// The overlap of two windows (possibly empty).
    public func intersection(_ other: Window) -> Window {
        Window(start: max(start, other.start), end: min(end, other.end))
    }

    /// Whether `other` lies entirely inside this window.
    public func contains(_ other: Window) -> Bool { start <= other.start && other.end <= end }

    /// Whether `t` lies inside.
    public func contains(_ t: Instant) -> Bool { start <= t && t < end }

    public var description: String { "[\(start), \(end))" }
}

/// Zero-padded decimal (short for ToolSupport's `TextFormat.zeroPadded`, used in every label).
func pad(_ value: Int, _ width: Int) -> String { TextFormat.zeroPadded(value, width: width) }


extension String {
    fileprivate func replacingFirst(_ target: Character, with replacement: String) -> String {
        guard let i = firstIndex(of: target) else { return self }
        return String(self[..<i]) + replacement + String(self[index(after: i)...])
    }
}
