import ToolSupport

/// The partition-name patterns that place a table by its name: `T_YYYYMMDD`, `T_pYYYYMMDD`,
/// `T_YYYY_MM_DD` (a day) and `T_YYYY_MM`, `T_YYYYMM` (a month).
public enum NamePatterns {
    /// The window a relation's name gives it as a child of `base`, or nil when no pattern matches.
    public static func window(relation: String, base: String) -> Window? {
        let prefix = base + "_"
        guard relation.hasPrefix(prefix) else { return nil }
        var s = Array(relation.utf8.dropFirst(prefix.utf8.count))
        if s.first == UInt8(ascii: "p"), s.count == 9 { s.removeFirst() }
        func digits(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r {
                guard s[i] >= 48, s[i] <= 57 else { return nil }
                v = v * 10 + Int(s[i] - 48)
            }
            return v
        }
        let underscore = UInt8(ascii: "_")
        switch s.count {
        case 8:
            guard let y = digits(0..<4), let m = digits(4..<6), let d = digits(6..<8) else { return nil }
            return day(y, m, d)
        case 10:
            guard s[4] == underscore, s[7] == underscore, let y = digits(0..<4), let m = digits(5..<7), let d = digits(8..<10) else { return nil }
            return day(y, m, d)
        case 7:
            guard s[4] == underscore, let y = digits(0..<4), let m = digits(5..<7) else { return nil }
            return month(y, m)
        case 6:
            guard let y = digits(0..<4), let m = digits(4..<6) else { return nil }
            return month(y, m)
        default:
            return nil
        }
    }

    private static func day(_ y: Int, _ m: Int, _ d: Int) -> Window? {
        guard Civil.isValid(year: y, month: m, day: d) else { return nil }
        let start = Instant(year: y, month: m, day: d)
        return Window(start: start, end: start.adding(days: 1))
    }

    private static func month(_ y: Int, _ m: Int) -> Window? {
        guard Civil.isValid(year: y, month: m, day: 1) else { return nil }
        let start = Instant(year: y, month: m, day: 1)
        return Window(start: start, end: OutputDuration.monthly.next(after: start))
    }
}
