#if canImport(Glibc)
import Glibc
#endif
import ToolSupport

/// An instant with nanosecond precision, read and written as RFC 3339 text.
///
/// Go's zero time `0001-01-01T00:00:00Z` (written by the original for unset times) is `zero`;
/// it round-trips unchanged. Output is UTC with trailing fractional zeros trimmed (Go's
/// RFC3339Nano), so files stay readable by the original.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var seconds: Int64
    /// Nanoseconds within the second, 0..<1e9.
    public var nanoseconds: Int32

    /// Go's zero time, meaning "unset".
    public static let zero = Timestamp(seconds: -62_135_596_800, nanoseconds: 0)

    /// An instant from seconds and nanoseconds since the Unix epoch.
    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(seconds: Int64(ts.tv_sec), nanoseconds: Int32(ts.tv_nsec))
    }

    /// Whether this is the unset (zero) time.
    public var isZero: Bool { self == .zero }

    /// Seconds since the epoch as a floating-point number.
    public var timeIntervalSince1970: Double { Double(seconds) + Double(nanoseconds) / 1e9 }

    /// This instant moved by `delta` seconds.
    public func adding(seconds delta: Int64) -> Timestamp {
        Timestamp(seconds: seconds + delta, nanoseconds: nanoseconds)
    }

    /// Midnight UTC at the start of this instant's day.
    public var startOfDayUTC: Timestamp {
        Timestamp(seconds: seconds.floorDivided(by: 86_400) * 86_400)
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    /// Parses RFC 3339 (`2024-01-02T03:04:05.123Z`, `…+02:00`); nil when malformed.
    public init?(rfc3339 text: String) {
        let b = Array(text.utf8)
        func digits(_ at: Int, _ count: Int) -> Int? {
            guard at + count <= b.count else { return nil }
            var v = 0
            for i in at..<(at + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        func byte(_ at: Int, _ c: Character) -> Bool { at < b.count && b[at] == c.asciiValue! }
        guard let year = digits(0, 4), byte(4, "-"), let month = digits(5, 2), byte(7, "-"),
              let day = digits(8, 2), byte(10, "T") || byte(10, "t") || byte(10, " "),
              let hour = digits(11, 2), byte(13, ":"), let minute = digits(14, 2), byte(16, ":"),
              let second = digits(17, 2),
              Civil.isValid(year: year, month: month, day: day),
              hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var nanos = 0
        if byte(i, ".") {
            i += 1
            var scale = 100_000_000
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                nanos += Int(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        var offset = 0
        if byte(i, "Z") || byte(i, "z") {
            i += 1
        } else if byte(i, "+") || byte(i, "-") {
            guard let oh = digits(i + 1, 2), byte(i + 3, ":"), let om = digits(i + 4, 2), oh < 24, om < 60 else { return nil }
            offset = (oh * 60 + om) * 60 * (byte(i, "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = Civil.days(year: year, month: month, day: day)
        seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offset)
        nanoseconds = Int32(nanos)
    }

    /// RFC 3339 in UTC with fractional seconds, trailing zeros trimmed (Go's RFC3339Nano).
    public var rfc3339: String {
        let days = seconds.floorDivided(by: 86_400)
        let secs = Int(seconds - days * 86_400)
        let (y, m, d) = Civil.date(days: Int(days))
        var out = [UInt8](repeating: 0, count: 30)
        var n = 0
        func put(_ value: Int, _ width: Int) {
            var v = value
            for i in stride(from: width - 1, through: 0, by: -1) {
                out[n + i] = UInt8(48 + v % 10)
                v /= 10
            }
            n += width
        }
        func put(_ c: Character) {
            out[n] = c.asciiValue!
            n += 1
        }
        put(y, 4); put("-"); put(m, 2); put("-"); put(d, 2); put("T")
        put(secs / 3600, 2); put(":"); put(secs / 60 % 60, 2); put(":"); put(secs % 60, 2)
        if nanoseconds != 0 {
            put(".")
            put(Int(nanoseconds), 9)
            while out[n - 1] == 48 { n -= 1 }
        }
        put("Z")
        return String(decoding: out[0..<n], as: UTF8.self)
    }

    /// The calendar date in UTC as `YYYY-MM-DD`.
    public var dateUTC: String { String(rfc3339.prefix(10)) }

    public var description: String { rfc3339 }

    /// Parses `YYYY-MM-DD` as midnight UTC.
    public init?(date text: String) {
        guard text.utf8.count == 10, let t = Timestamp(rfc3339: text + "T00:00:00Z") else { return nil }
        self = t
    }
}
