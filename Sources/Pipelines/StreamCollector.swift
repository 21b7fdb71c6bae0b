import Dispatch
import FoundationEssentials
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// Drains the stages' stderr and progress pipes (and the captured stdout) with poll(2) on one
/// thread, so no stage ever blocks on a full diagnostics pipe.
final class StreamCollector: @unchecked Sendable {
    private var readers: [(fd: Int32, stage: Int, kind: StreamKind)]
    private let capture: Int32?
    private let onProgress: (@Sendable (Int, [String: JSONValue]) -> Void)?
    private let onErrorLine: (@Sendable (Int, String) -> Void)?
    private var partial: [Int32: [UInt8]] = [:]
    /// The last lines of stderr of each stage.
    private(set) var errorLines: [[String]]
    /// The last progress line of each stage (read under `condition` while running).
    private var progressLines: [[String: JSONValue]]
    /// Stages whose progress pipe reached end of file.
    private var progressClosed: Set<Int> = []
    private let condition = Condition()
    /// The last stage's stdout, when captured.
    private(set) var captured = Data()
    /// Signalled when every stream reached end of file.
    let finished = DispatchSemaphore(value: 0)
    /// Lines of stderr kept per stage.
    static let keptLines = 20

    init(readers: [(fd: Int32, stage: Int, kind: StreamKind)], capture: Int32?, stageCount: Int,
         onProgress: (@Sendable (Int, [String: JSONValue]) -> Void)?, onErrorLine: (@Sendable (Int, String) -> Void)?) {
        self.readers = readers
        self.capture = capture
        self.onProgress = onProgress
        self.onErrorLine = onErrorLine
        errorLines = Array(repeating: [], count: stageCount)
        progressLines = Array(repeating: [:], count: stageCount)
    }

    /// The last progress line of each stage.
    var lastProgress: [[String: JSONValue]] {
        condition.lock()
        defer { condition.unlock() }
        return progressLines
    }

    /// Waits until the progress pipes of `stages` reached end of file (their stages exited).
    func drainProgress(stages: Range<Int>) {
        let watched = Set(readers.filter { $0.kind == .progress && stages.contains($0.stage) }.map(\.stage))
        condition.lock()
        while !watched.isSubset(of: progressClosed) { condition.wait() }
        condition.unlock()
    }

    func run() {
        var open = readers.map(\.fd) + (capture.map { [$0] } ?? [])
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            var polls = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let n = poll(&polls, nfds_t(polls.count), -1)
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            for p in polls where p.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 {
                    flushPartial(p.fd)
                    if let reader = readers.first(where: { $0.fd == p.fd }), reader.kind == .progress {
                        condition.lock()
                        progressClosed.insert(reader.stage)
                        condition.broadcast()
                        condition.unlock()
                    }
                    close(p.fd)
                    open.removeAll { $0 == p.fd }
                    continue
                }
                if p.fd == capture {
                    captured.append(contentsOf: buffer[0..<count])
                } else {
                    consume(fd: p.fd, bytes: buffer[0..<count])
                }
            }
        }
        finished.signal()
    }

    private func consume(fd: Int32, bytes: ArraySlice<UInt8>) {
        var pending = partial[fd] ?? []
        pending += bytes
        while let newline = pending.firstIndex(of: 0x0A) {
            line(fd: fd, String(decoding: pending[..<newline], as: UTF8.self))
            pending.removeSubrange(...newline)
        }
        partial[fd] = pending
    }

    private func flushPartial(_ fd: Int32) {
        if let rest = partial[fd], !rest.isEmpty { line(fd: fd, String(decoding: rest, as: UTF8.self)) }
        partial[fd] = nil
    }

    private func line(fd: Int32, _ text: String) {
        guard let reader = readers.first(where: { $0.fd == fd }) else { return }
        switch reader.kind {
        case .stderr:
            errorLines[reader.stage].append(text)
            if errorLines[reader.stage].count > Self.keptLines { errorLines[reader.stage].removeFirst() }
            onErrorLine?(reader.stage, text)
        case .progress:
            guard let fields = JSONValue.fields(ofLine: text) else { return }
            // Event lines (`"event":"retry"`) are passed on but are not the stage's progress.
            if fields["event"] == nil {
                condition.lock()
                progressLines[reader.stage] = fields
                condition.unlock()
            }
            onProgress?(reader.stage, fields)
        }
    }
}
