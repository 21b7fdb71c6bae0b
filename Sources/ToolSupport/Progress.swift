#if canImport(Glibc)
import Glibc
#endif

/// Writes progress JSON lines to `--progress-fd N` (see docs/progress.md).
///
/// Lines carry cumulative `rows` and `bytes`, at most about five a second, and a final
/// line with `"done": true`. A closed descriptor (EPIPE) is ignored: progress is advice.
public final class ProgressReporter {
    private let fd: Int32?
    private let stage: String
    private var lastWrite: UInt64 = 0
    private var broken = false
    /// Minimum nanoseconds between two lines.
    public var interval: UInt64 = 200_000_000

    /// A reporter for `stage` ("pg-extract", …) on `fd`, or a no-op when `fd` is nil.
    public init(fd: Int32?, stage: String) {
        self.fd = fd
        self.stage = stage
    }

    /// Whether anything is written at all.
    public var isActive: Bool { fd != nil && !broken }

    /// Reports cumulative counts if enough time has passed since the last line.
    @inline(__always)
    public func update(rows: UInt64? = nil, bytes: UInt64) {
        guard fd != nil, !broken else { return }
        let now = monotonicNanoseconds()
        guard now &- lastWrite >= interval else { return }
        lastWrite = now
        emit(rows: rows, bytes: bytes, done: false, extra: [:])
    }

    /// Writes the final line; `extra` adds fields (already JSON-encoded values).
    public func finish(rows: UInt64? = nil, bytes: UInt64, extra: [String: String] = [:]) {
        guard fd != nil, !broken else { return }
        emit(rows: rows, bytes: bytes, done: true, extra: extra)
    }

    private func emit(rows: UInt64?, bytes: UInt64, done: Bool, extra: [String: String]) {
        guard let fd else { return }
        var line = "{\"stage\":\(JSON.quote(stage))"
        if let rows { line += ",\"rows\":\(rows)" }
        line += ",\"bytes\":\(bytes)"
        for (key, value) in extra.sorted(by: { $0.key < $1.key }) { line += ",\(JSON.quote(key)):\(value)" }
        if done { line += ",\"done\":true" }
        line += "}\n"
        let ok = line.utf8.withContiguousStorageIfAvailable { buf -> Bool in
            var off = 0
            while off < buf.count {
                let n = write(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                off += n
            }
            return true
        } ?? false
        if !ok { broken = true }
    }
}

/// Nanoseconds from a monotonic clock.
public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Minimal JSON text helpers shared by the tools' line outputs.
public enum JSON {
    /// A JSON string literal for `text`, escaping quotes, backslashes and control characters.
    public static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }
}
