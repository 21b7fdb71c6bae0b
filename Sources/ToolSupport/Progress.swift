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
    /// The frame the lines are about (`--framed`, docs/framing.md), written as `"frame"`.
    private let frame: String?
    private var lastWrite: UInt64 = 0
    private var broken = false
    /// Minimum nanoseconds between two lines.
    public var interval: UInt64 = 200_000_000

    /// A reporter for `stage` ("pg-extract", …) on `fd`, or a no-op when `fd` is nil; with
    /// `frame`, every line names that frame (a framed stream's slice, docs/framing.md).
    public init(fd: Int32?, stage: String, frame: String? = nil) {
        self.fd = fd
        self.stage = stage
        self.frame = frame
    }

    /// A reporter on the same descriptor for one frame of a framed stream.
    public func forFrame(_ id: String) -> ProgressReporter {
        let reporter = ProgressReporter(fd: broken ? nil : fd, stage: stage, frame: id)
        reporter.interval = interval
        return reporter
    }

    /// The final line of a frame that failed: `error` says why (docs/framing.md).
    public func failFrame(_ message: String, rows: UInt64? = nil, bytes: UInt64 = 0) {
        finish(rows: rows, bytes: bytes, extra: ["error": JSON.quote(message)])
    }

    /// Whether anything is written at all.
    public var isActive: Bool { fd != nil && !broken }

    /// Reports cumulative counts if enough time has passed since the last line; `extra` adds
    /// fields (already JSON-encoded values, documented in the tool's man page).
    @inline(__always)
    public func update(rows: UInt64? = nil, bytes: UInt64, extra: [String: String] = [:]) {
        guard fd != nil, !broken else { return }
        let now = monotonicNanoseconds()
        guard now &- lastWrite >= interval else { return }
        lastWrite = now
        emit(rows: rows, bytes: bytes, done: false, extra: extra)
    }

    /// Reports cumulative counts now, however recent the last line (a moment a reader must
    /// see, such as every part of an upload acknowledged).
    public func updateNow(rows: UInt64? = nil, bytes: UInt64, extra: [String: String] = [:]) {
        guard fd != nil, !broken else { return }
        lastWrite = monotonicNanoseconds()
        emit(rows: rows, bytes: bytes, done: false, extra: extra)
    }

    /// Writes the final line; `extra` adds fields (already JSON-encoded values).
    public func finish(rows: UInt64? = nil, bytes: UInt64, extra: [String: String] = [:]) {
        guard fd != nil, !broken else { return }
        emit(rows: rows, bytes: bytes, done: true, extra: extra)
    }

    /// Writes a retry event line (docs/progress.md): which attempt comes next, of how many,
    /// after how long a pause, and why. Safe from any thread (one write(2) of a short line).
    public func retry(attempt: Int, of maxAttempts: Int, delaySeconds: Double, reason: String) {
        guard !broken else { return }
        retryReporter()(attempt, maxAttempts, delaySeconds, reason)
    }

    /// A thread-safe function that reports retries: a retry event line on the progress
    /// descriptor, or, without one, a `STAGE: warning: retrying …` line on stderr.
    public func retryReporter() -> @Sendable (Int, Int, Double, String) -> Void {
        let stage = self.stage
        guard let fd else {
            return { attempt, of, delay, reason in
                writeStandardError("\(stage): warning: retrying (attempt \(attempt) of \(of), in \(TextFormat.fixed(delay, 2)) s): \(reason)\n")
            }
        }
        return { attempt, of, delay, reason in
            let line = "{\"stage\":\(JSON.quote(stage)),\"event\":\"retry\",\"attempt\":\(attempt),\"max_attempts\":\(of),"
                + "\"delay_seconds\":\(TextFormat.fixed(delay, 3)),\"reason\":\(JSON.quote(reason))}\n"
            _ = ProgressReporter.writeLine(line, to: fd)
        }
    }

    private func emit(rows: UInt64?, bytes: UInt64, done: Bool, extra: [String: String]) {
        guard let fd else { return }
        var line = "{\"stage\":\(JSON.quote(stage))"
        if let frame { line += ",\"frame\":\(JSON.quote(frame))" }
        if let rows { line += ",\"rows\":\(rows)" }
        line += ",\"bytes\":\(bytes)"
        for (key, value) in extra.sorted(by: { $0.key < $1.key }) { line += ",\(JSON.quote(key)):\(value)" }
        if done {
            if let peak = ownPeakResidentBytes() { line += ",\"peak_rss_bytes\":\(peak)" }
            line += ",\"done\":true"
        }
        line += "}\n"
        if !Self.writeLine(line, to: fd) { broken = true }
    }

    private static func writeLine(_ line: String, to fd: Int32) -> Bool {
        line.utf8.withContiguousStorageIfAvailable { buf -> Bool in
            var off = 0
            while off < buf.count {
                let n = write(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                off += n
            }
            return true
        } ?? false
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
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 2)
        appendQuoted(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the JSON string literal for `text` as UTF-8 bytes (the fast path of `quote`).
    public static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for i in 0..<bytes.count {
                let b = bytes[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i]))
                start = i + 1
                switch b {
                case UInt8(ascii: "\""): out += [92, UInt8(ascii: "\"")]
                case UInt8(ascii: "\\"): out += [92, 92]
                case UInt8(ascii: "\n"): out += [92, UInt8(ascii: "n")]
                case UInt8(ascii: "\r"): out += [92, UInt8(ascii: "r")]
                case UInt8(ascii: "\t"): out += [92, UInt8(ascii: "t")]
                default: out += [92, UInt8(ascii: "u"), 48, 48, hexDigits[Int(b >> 4)], hexDigits[Int(b & 15)]]
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<bytes.count]))
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// This process's peak resident set size since it started its program (`VmHWM` in
/// `/proc/self/status`), or nil where that file is missing. Unlike `getrusage`'s `ru_maxrss`,
/// it leaves out the pages a child shared with its parent between fork and exec: a tool started
/// by a 150 MB orchestrator would otherwise report 150 MB of its own.
public func ownPeakResidentBytes() -> Int? {
    let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard n > 0 else { return nil }
    for line in buffer[0..<n].split(separator: 10) where line.starts(with: Array("VmHWM:".utf8)) {
        let digits = line.dropFirst(6).filter { $0 >= 48 && $0 <= 57 }
        return Int(String(decoding: digits, as: UTF8.self)).map { $0 * 1024 }
    }
    return nil
}
