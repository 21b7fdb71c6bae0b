import SlicePlan
import ToolSupport

/// PostgreSQL's date and time arithmetic: microseconds and days since 2000-01-01, proleptic Gregorian.
enum DateTimeText {
    static let microsPerSecond: Int64 = 1_000_000
    static let microsPerDay: Int64 = 86_400_000_000
    /// Days from 1970-01-01 to 2000-01-01.
    static let epochShift: Int64 = 10_957

    /// Year (astronomical: 0 is 1 BC), month and day of a day number counted from 2000-01-01.
    @inline(__always)
    static func civil(_ days: Int64) -> (year: Int64, month: Int, day: Int) {
        let date = Civil.date(days: Int(days + epochShift))
        return (Int64(date.year), date.month, date.day)
    }

    /// The day number (from 2000-01-01) of a civil date; `year` is astronomical.
    static func days(year: Int64, month: Int, day: Int) -> Int64 {
        Int64(Civil.days(year: Int(year), month: month, day: day)) - epochShift
    }

    @inline(__always)
    static func appendYMD(_ date: (year: Int64, month: Int, day: Int), to out: ByteBuffer) {
        let year = date.year > 0 ? date.year : 1 - date.year
        out.appendDecimal(UInt64(year), width: 4)
        out.append(UInt8(ascii: "-"))
        out.appendDecimal(UInt64(date.month), width: 2)
        out.append(UInt8(ascii: "-"))
        out.appendDecimal(UInt64(date.day), width: 2)
    }

    /// `YYYY-MM-DD`, ` BC` for years before 1, `infinity` / `-infinity`.
    static func appendDate(_ days: Int32, to out: ByteBuffer) {
        if days == .max { out.append("infinity"); return }
        if days == .min { out.append("-infinity"); return }
        let date = civil(Int64(days))
        appendYMD(date, to: out)
        if date.year <= 0 { out.append(" BC") }
    }

    /// `HH:MM:SS` and the fraction without trailing zeros.
    @inline(__always)
    static func appendClock(_ micros: Int64, to out: ByteBuffer) {
        let seconds = micros / microsPerSecond
        out.appendDecimal(UInt64(seconds / 3600), width: 2)
        out.append(UInt8(ascii: ":"))
        out.appendDecimal(UInt64(seconds / 60 % 60), width: 2)
        out.append(UInt8(ascii: ":"))
        out.appendDecimal(UInt64(seconds % 60), width: 2)
        appendFraction(micros % microsPerSecond, to: out)
    }

    @inline(__always)
    static func appendFraction(_ fraction: Int64, to out: ByteBuffer) {
        guard fraction != 0 else { return }
        var f = fraction.magnitude
        var width = 6
        while f % 10 == 0 { f /= 10; width -= 1 }
        out.append(UInt8(ascii: "."))
        out.appendDecimal(f, width: width)
    }

    /// A time of day (µs since midnight, up to 24:00:00).
    static func appendTime(_ micros: Int64, to out: ByteBuffer) {
        appendClock(micros, to: out)
    }

    /// A UTC offset in seconds east: `+HH`, `+HH:MM`, `+HH:MM:SS` (`short`), or always `+HH:MM` (xsd).
    static func appendOffset(_ east: Int, short: Bool, to out: ByteBuffer) {
        out.append(east < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        let a = abs(east)
        out.appendDecimal(UInt64(a / 3600), width: 2)
        let minutes = a / 60 % 60, seconds = a % 60
        if !short || minutes != 0 || seconds != 0 {
            out.append(UInt8(ascii: ":"))
            out.appendDecimal(UInt64(minutes), width: 2)
        }
        if seconds != 0 {
            out.append(UInt8(ascii: ":"))
            out.appendDecimal(UInt64(seconds), width: 2)
        }
    }

    /// A timestamp (µs since 2000-01-01 UTC); `zoned` adds the UTC offset of TimeZone=UTC.
    static func appendTimestamp(_ micros: Int64, zoned: Bool, style: TextRender.Style, to out: ByteBuffer) {
        if micros == .max { out.append("infinity"); return }
        if micros == .min { out.append("-infinity"); return }
        var days = micros / microsPerDay
        var rest = micros % microsPerDay
        if rest < 0 { rest += microsPerDay; days -= 1 }
        let date = civil(days)
        appendYMD(date, to: out)
        out.append(style == .xsd ? UInt8(ascii: "T") : UInt8(ascii: " "))
        appendClock(rest, to: out)
        if zoned { appendOffset(0, short: style == .iso, to: out) }
        if date.year <= 0 { out.append(" BC") }
    }

    /// An interval in IntervalStyle=postgres: `1 year 2 mons 3 days 04:05:06.789`.
    static func appendInterval(micros: Int64, days: Int32, months: Int32, to out: ByteBuffer) {
        var isZero = true, isBefore = false
        func part(_ value: Int64, _ unit: StaticString) {
            guard value != 0 else { return }
            if !isZero { out.append(UInt8(ascii: " ")) }
            if isBefore && value > 0 { out.append(UInt8(ascii: "+")) }
            out.appendDecimal(value)
            out.append(UInt8(ascii: " "))
            out.append(unit)
            if value != 1 { out.append(UInt8(ascii: "s")) }
            isBefore = value < 0
            isZero = false
        }
        part(Int64(months / 12), "year")
        part(Int64(months % 12), "mon")
        part(Int64(days), "day")
        let hours = micros / 3_600_000_000
        let minutes = micros / 60_000_000 % 60
        let seconds = micros / microsPerSecond % 60
        let fraction = micros % microsPerSecond
        if isZero || hours != 0 || minutes != 0 || seconds != 0 || fraction != 0 {
            if !isZero { out.append(UInt8(ascii: " ")) }
            let minus = hours < 0 || minutes < 0 || seconds < 0 || fraction < 0
            if minus { out.append(UInt8(ascii: "-")) } else if isBefore { out.append(UInt8(ascii: "+")) }
            out.appendDecimal(hours.magnitude, width: 2)
            out.append(UInt8(ascii: ":"))
            out.appendDecimal(minutes.magnitude, width: 2)
            out.append(UInt8(ascii: ":"))
            out.appendDecimal(seconds.magnitude, width: 2)
            appendFraction(fraction, to: out)
        }
    }
}

/// inet and cidr text: dotted quads, RFC 5952-style IPv6 with the longest zero run as `::`.
enum NetworkText {
    static func append(_ v: UnsafeRawBufferPointer, to out: ByteBuffer) throws {
        guard v.count >= 4 else { throw ValueError("malformed inet value") }
        let family = v[0], bits = Int(v[1]), isCIDR = v[2] != 0, length = Int(v[3])
        let maxBits: Int
        switch (family, length) {
        case (2, 4): maxBits = 32
        case (3, 16): maxBits = 128
        default: throw ValueError("malformed inet value")
        }
        guard v.count == 4 + length, bits <= maxBits else { throw ValueError("malformed inet value") }
        let a = UnsafeRawBufferPointer(rebasing: v[4...])
        if maxBits == 32 {
            appendQuad(a, 0, to: out)
        } else {
            appendIPv6(a, to: out)
        }
        if bits != maxBits || isCIDR {
            out.append(UInt8(ascii: "/"))
            out.appendDecimal(UInt64(bits))
        }
    }

    static func appendQuad(_ a: UnsafeRawBufferPointer, _ at: Int, to out: ByteBuffer) {
        for i in 0..<4 {
            if i > 0 { out.append(UInt8(ascii: ".")) }
            out.appendDecimal(UInt64(a[at + i]))
        }
    }

    static func appendIPv6(_ a: UnsafeRawBufferPointer, to out: ByteBuffer) {
        var words = [Int](repeating: 0, count: 8)
        for i in 0..<8 { words[i] = Int(a[2 * i]) << 8 | Int(a[2 * i + 1]) }
        var bestBase = -1, bestLength = 0, base = -1, length = 0
        for i in 0..<8 {
            if words[i] == 0 {
                if base < 0 { base = i; length = 1 } else { length += 1 }
                if length > bestLength { bestBase = base; bestLength = length }
            } else {
                base = -1
            }
        }
        if bestLength < 2 { bestBase = -1 }
        var i = 0
        while i < 8 {
            if i == bestBase {
                out.append(UInt8(ascii: ":"))
                i += bestLength
                if i == 8 { out.append(UInt8(ascii: ":")) }
                continue
            }
            if i > 0 { out.append(UInt8(ascii: ":")) }
            if i == 6 && bestBase == 0 && (bestLength == 6 || (bestLength == 5 && words[5] == 0xFFFF)) {
                appendQuad(a, 12, to: out)
                return
            }
            let w = words[i]
            var started = false
            for shift in stride(from: 12, through: 0, by: -4) {
                let nibble = (w >> shift) & 15
                if nibble != 0 || started || shift == 0 { out.append(hexDigits[nibble]); started = true }
            }
            i += 1
        }
    }
}
