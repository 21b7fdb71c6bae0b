/// Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01).
public enum Civil {
    /// Days since 1970-01-01 of a date.
    public static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date of a day number.
    public static func date(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Day of the week, 0 = Monday … 6 = Sunday.
    public static func weekday(days: Int) -> Int { ((days % 7) + 7 + 3) % 7 }

    /// Whether the date exists.
    public static func isValid(year: Int, month: Int, day: Int) -> Bool {
        guard (1...12).contains(month), day >= 1 else { return false }
        return date(days: days(year: year, month: month, day: day)) == (year, month, day)
    }

    /// ISO 8601 week-numbering year and week of a day.
    public static func isoWeek(days: Int) -> (year: Int, week: Int) {
        let thursday = days - weekday(days: days) + 3
        let year = date(days: thursday).year
        let week = (thursday - self.days(year: year, month: 1, day: 1)) / 7 + 1
        return (year, week)
    }
}

extension Int64 {
    /// Division rounding toward negative infinity, so instants before 1970 fall on the right day.
    public func floorDivided(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}
