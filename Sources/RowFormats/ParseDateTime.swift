/// A cursor over date, time and interval text.
struct Scanner {
    let text: UnsafeRawBufferPointer
    var i = 0

    init(_ text: UnsafeRawBufferPointer) { self.text = text }

    var atEnd: Bool { i >= text.count }
    var peek: UInt8? { i < text.count ? text[i] : nil }

    func fail(_ what: String) -> ValueError { ValueError("not a \(what): \(TextParse.quoted(text))") }

    func end(_ what: String) throws { guard atEnd else { throw fail(what) } }

    mutating func eat(_ c: Character) -> Bool {
        guard let p = peek, p == c.asciiValue! else { return false }
        i += 1
        return true
    }

    mutating func rest(is word: String) -> Bool {
        let r = String(decoding: text[i...], as: UTF8.self)
        guard r.lowercased() == word else { return false }
        i = text.count
        return true
    }

    /// Digits as a number; `count` bounds how many (nil: any, at least one).
    mutating func number(_ what: String, exactly count: Int? = nil) throws -> Int64 {
        var n: Int64 = 0, k = 0
        while let p = peek, p &- 0x30 < 10, count.map({ k < $0 }) ?? true {
            guard n < Int64.max / 10 - 10 else { throw fail(what) }
            n = n * 10 + Int64(p - 0x30)
            i += 1
            k += 1
        }
        guard k > 0, count.map({ k == $0 }) ?? true else { throw fail(what) }
        return n
    }

    /// `.ffffff` after seconds, rounded to microseconds.
    mutating func fraction() -> Int64 {
        guard eat(".") else { return 0 }
        var micros: Int64 = 0, k = 0, roundUp = false
        while let p = peek, p &- 0x30 < 10 {
            if k < 6 { micros = micros * 10 + Int64(p - 0x30) } else if k == 6 { roundUp = p >= UInt8(ascii: "5") }
            k += 1
            i += 1
        }
        while k < 6 { micros *= 10; k += 1 }
        return micros + (roundUp ? 1 : 0)
    }

    /// `HH:MM[:SS[.ffffff]]` as microseconds since midnight.
    mutating func clock(kind: String) throws -> Int64 {
        let h = try number(kind, exactly: 2)
        guard eat(":") else { throw fail(kind) }
        let m = try number(kind, exactly: 2)
        var s: Int64 = 0, f: Int64 = 0
        if eat(":") {
            s = try number(kind, exactly: 2)
            f = fraction()
        }
        guard h <= 24, m < 60, s <= 60 else { throw fail(kind) }
        let micros = ((h * 60 + m) * 60 + s) * 1_000_000 + f
        guard micros <= 86_400_000_000 else { throw fail(kind) }
        return micros
    }

    /// `Z`, `±HH`, `±HH:MM`, `±HH:MM:SS` or `±HHMM` as seconds east of UTC; nil when none.
    mutating func offset() throws -> Int? {
        if eat("Z") || eat("z") { return 0 }
        guard let p = peek, p == UInt8(ascii: "+") || p == UInt8(ascii: "-") else { return nil }
        i += 1
        let sign = p == UInt8(ascii: "-") ? -1 : 1
        let h = try number("time zone offset", exactly: 2)
        var m: Int64 = 0, s: Int64 = 0
        if eat(":") {
            m = try number("time zone offset", exactly: 2)
            if eat(":") { s = try number("time zone offset", exactly: 2) }
        } else if let q = peek, q &- 0x30 < 10 {
            m = try number("time zone offset", exactly: 2)
        }
        guard h <= 15, m < 60, s < 60 else { throw fail("time zone offset") }
        return sign * Int((h * 60 + m) * 60 + s)
    }

    /// `YYYY-MM-DD` (more year digits allowed), unchecked: the caller applies ` BC` and then `days`.
    mutating func calendarDate(_ what: String) throws -> (year: Int64, month: Int, day: Int) {
        let y = try number(what)
        guard eat("-") else { throw fail(what) }
        let m = try number(what, exactly: 2)
        guard eat("-") else { throw fail(what) }
        let d = try number(what, exactly: 2)
        return (y, Int(m), Int(d))
    }

    /// The day number (from 2000-01-01) of a date whose year is astronomical (0 is 1 BC), if it exists.
    func days(_ date: (year: Int64, month: Int, day: Int), _ what: String) throws -> Int64 {
        let (y, m, d) = date
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(m), d >= 1, d <= lengths[m - 1] else { throw fail(what) }
        return DateTimeText.days(year: y, month: m, day: d)
    }

    /// Reads an optional ` BC` and returns the astronomical year of `year` as written (year 1 at least).
    mutating func era(_ year: Int64, _ what: String) throws -> Int64 {
        guard year >= 1 else { throw fail(what) }
        return bcSuffix() ? 1 - year : year
    }

    mutating func bcSuffix() -> Bool {
        let save = i
        if eat(" ") && (eat("B") || eat("b")) && (eat("C") || eat("c")) { return true }
        i = save
        return false
    }

    /// A date: `YYYY-MM-DD[ BC]`, `infinity`, `-infinity`.
    mutating func date() throws -> Int32 {
        if rest(is: "infinity") || rest(is: "+infinity") { return .max }
        if rest(is: "-infinity") { return .min }
        var date = try calendarDate("date")
        date.year = try era(date.year, "date")
        try end("date")
        let days = try days(date, "date")
        guard let value = Int32(exactly: days) else { throw ValueError("date out of range: \(TextParse.quoted(text))") }
        return value
    }

    /// A timestamp: date, `T` or space, clock, optional offset, optional ` BC`; infinities.
    /// With `zoned`, the offset is applied (no offset means UTC); without, an offset is ignored as PostgreSQL does.
    mutating func timestamp(zoned: Bool) throws -> Int64 {
        if rest(is: "infinity") || rest(is: "+infinity") { return .max }
        if rest(is: "-infinity") { return .min }
        let what = zoned ? "timestamp with time zone" : "timestamp"
        var date = try calendarDate(what)
        guard eat("T") || eat("t") || eat(" ") else { throw fail(what) }
        let micros = try clock(kind: what)
        let east = try offset() ?? 0
        date.year = try era(date.year, what)
        try end(what)
        let days = try days(date, what)
        let (product, overflow) = days.multipliedReportingOverflow(by: DateTimeText.microsPerDay)
        guard !overflow else { throw ValueError("\(what) out of range: \(TextParse.quoted(text))") }
        return product + micros - (zoned ? Int64(east) * 1_000_000 : 0)
    }

    /// An interval in IntervalStyle=postgres (`1 year 2 mons -3 days +04:05:06.5`). Every step is
    /// checked: the extremes (`-2562047788:00:54.775808`, `-178956970 years -8 mons`,
    /// `-2147483648 days`) read back exactly, and anything beyond them is an error, never a trap.
    mutating func interval() throws -> (Int64, Int32, Int32) {
        let what = "interval"
        var months: Int64 = 0, days: Int64 = 0, micros: Int64 = 0
        var any = false
        func add(_ a: Int64, _ b: Int64) throws -> Int64 {
            let (sum, overflow) = a.addingReportingOverflow(b)
            guard !overflow else { throw fail(what) }
            return sum
        }
        func times(_ a: Int64, _ b: Int64) throws -> Int64 {
            let (product, overflow) = a.multipliedReportingOverflow(by: b)
            guard !overflow else { throw fail(what) }
            return product
        }
        while true {
            while eat(" ") {}
            if atEnd { break }
            var negative = false
            if eat("-") { negative = true } else { _ = eat("+") }
            let n = try number(what)
            if eat(":") {
                let m = try number(what, exactly: 2)
                var s: Int64 = 0, f: Int64 = 0
                if eat(":") {
                    s = try number(what, exactly: 2)
                    f = fraction()
                }
                // The magnitude in unsigned arithmetic: Int64.min's is one more than Int64.max.
                var t = UInt64(n), overflow = false
                for (factor, addend) in [(UInt64(60), UInt64(m)), (60, UInt64(s)), (1_000_000, UInt64(f))] {
                    let (product, o1) = t.multipliedReportingOverflow(by: factor)
                    let (sum, o2) = product.addingReportingOverflow(addend)
                    overflow = overflow || o1 || o2
                    t = sum
                }
                guard !overflow, t <= (negative ? Int64.min.magnitude : UInt64(Int64.max)) else { throw fail(what) }
                micros = try add(micros, negative ? Int64(bitPattern: 0 &- t) : Int64(t))
            } else {
                let value = negative ? -n : n
                guard eat(" ") else { throw fail(what) }
                let start = i
                while let p = peek, p != UInt8(ascii: " ") { i += 1 }
                switch String(decoding: text[start..<i], as: UTF8.self).lowercased() {
                case "year", "years": months = try add(months, try times(value, 12))
                case "mon", "mons", "month", "months": months = try add(months, value)
                case "day", "days": days = try add(days, value)
                case "hour", "hours": micros = try add(micros, try times(value, 3_600_000_000))
                case "min", "mins", "minute", "minutes": micros = try add(micros, try times(value, 60_000_000))
                case "sec", "secs", "second", "seconds": micros = try add(micros, try times(value, 1_000_000))
                default: throw fail(what)
                }
            }
            any = true
        }
        guard any, let d = Int32(exactly: days), let m = Int32(exactly: months) else { throw fail(what) }
        return (micros, d, m)
    }
}
