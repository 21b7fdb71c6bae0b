import Foundation
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// One program in a pipeline.
public struct Stage: Sendable {
    /// A short name for messages and progress ("pg-extract").
    public var name: String
    /// What to run.
    public var command: Command
    /// Append `--progress-fd 3` and read its JSON lines.
    public var reportsProgress: Bool
    /// Append `--commit-fd 4` (s3put): the pipeline writes `commit` there only when every
    /// earlier stage exited 0, and closes it without a word otherwise.
    public var commitGate: Bool

    /// A stage.
    public init(name: String, command: Command, reportsProgress: Bool = true, commitGate: Bool = false) {
        self.name = name
        self.command = command
        self.reportsProgress = reportsProgress
        self.commitGate = commitGate
    }
}

/// The outcome of one stage.
public struct StageResult: Sendable {
    /// The stage's name.
    public var name: String
    /// How it ended.
    public var termination: Termination
    /// Its last lines of stderr (diagnostics), for messages.
    public var errorLines: [String]
    /// Its last progress line, decoded.
    public var lastProgress: [String: JSONValue]
}

/// The outcome of a pipeline.
public struct PipelineResult: Sendable {
    /// Every stage, in order.
    public var stages: [StageResult]
    /// Everything the last stage wrote to stdout (when captured).
    public var output: Data

    /// Whether every stage exited 0.
    public var succeeded: Bool { stages.allSatisfy { $0.termination.succeeded } }

    /// The first stage that failed, with its reason: `rowfmt (exit status 1): line 3: …`.
    public var failure: String? {
        // Report the earliest failure that is not a mere consequence (SIGPIPE, an aborted commit).
        let failed = stages.filter { !$0.termination.succeeded }
        guard !failed.isEmpty else { return nil }
        let cause = failed.first { $0.termination != .signaled(SIGPIPE) && $0.termination != .signaled(SIGTERM) } ?? failed[0]
        let detail = cause.errorLines.last.map { ": " + $0 } ?? ""
        return "\(cause.name) (\(cause.termination))\(detail)"
    }
}

/// A decoded JSON value from a progress line.
public enum JSONValue: Sendable, Equatable, Decodable {
    case number(Double), string(String), bool(Bool), null

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else { self = .null }
    }

    /// The value as an integer, when it is a number.
    public var integer: Int64? { if case .number(let n) = self { return Int64(n) } else { return nil } }
}

/// Runs stages joined by pipes (no shell), reads their stderr and progress, and holds the
/// commit gate. Stage i's stdout is stage i+1's stdin; the first reads `stdin`, the last writes
/// to `stdout` or, when nil, into `PipelineResult.output`.
public final class Pipeline: @unchecked Sendable {
    /// The stages, in order.
    public let stages: [Stage]
    /// Called with (stage index, progress fields) for every progress line, from a reader thread.
    public var onProgress: (@Sendable (Int, [String: JSONValue]) -> Void)?
    /// Called with (stage index, line) for every line a stage writes to stderr, from a reader thread.
    public var onErrorLine: (@Sendable (Int, String) -> Void)?
    /// Decides, once every stage before the commit gate exited 0, whether to commit; given the
    /// earlier stages' last progress lines (e.g. no object for a slice of zero rows). Default: yes.
    public var commitCondition: (@Sendable ([[String: JSONValue]]) -> Bool)?
    /// Set when the commit condition declined: the commit stage's abort is then expected.
    public private(set) var commitDeclined = false
    private var children: [ChildProcess] = []
    private let lock = NSLock()
    private var cancelled = false

    /// A pipeline of `stages`.
    public init(stages: [Stage]) {
        precondition(!stages.isEmpty, "a pipeline needs a stage")
        self.stages = stages
    }

    /// Terminates every running stage (SIGTERM); the commit gate stays shut.
    public func cancel() {
        lock.lock()
        cancelled = true
        let running = children
        lock.unlock()
        running.forEach { $0.kill(SIGTERM) }
    }

    /// Runs the pipeline to the end, on the calling thread (which must outlive the children).
    public func run(stdin: Int32? = nil, stdout: Int32? = nil) throws -> PipelineResult {
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(devNull) }
        var readers: [(fd: Int32, stage: Int, kind: StreamKind)] = []
        var toClose: [Int32] = []
        var gate: Int32?
        var gateStage: Int?
        var previousRead: Int32 = stdin ?? devNull
        var captureRead: Int32?
        defer { toClose.forEach { close($0) } }
        for (index, stage) in stages.enumerated() {
            var descriptors: [(parent: Int32, child: Int32)] = [(previousRead, 0)]
            let isLast = index == stages.count - 1
            if isLast {
                if let stdout {
                    descriptors.append((stdout, 1))
                } else {
                    let out = try makePipe()
                    descriptors.append((out.write, 1))
                    toClose.append(out.write)
                    captureRead = out.read
                }
            } else {
                let next = try makePipe()
                descriptors.append((next.write, 1))
                toClose.append(next.write)
                previousRead = next.read
                toClose.append(next.read)
            }
            let err = try makePipe()
            descriptors.append((err.write, 2))
            toClose.append(err.write)
            readers.append((err.read, index, .stderr))
            var arguments = stage.command.arguments
            if stage.reportsProgress {
                let progress = try makePipe()
                descriptors.append((progress.write, 3))
                toClose.append(progress.write)
                readers.append((progress.read, index, .progress))
                arguments += ["--progress-fd", "3"]
            }
            if stage.commitGate {
                let commit = try makePipe()
                descriptors.append((commit.read, 4))
                toClose.append(commit.read)
                gate = commit.write
                gateStage = index
                arguments += ["--commit-fd", "4"]
            }
            var command = stage.command
            command.arguments = arguments
            let child: ChildProcess
            do {
                child = try ChildProcess.spawn(command, descriptors: descriptors)
            } catch {
                cancel()
                children.forEach { $0.wait() }
                readers.forEach { close($0.fd) }
                if let gate { close(gate) }
                throw error
            }
            lock.lock()
            children.append(child)
            let stop = cancelled
            lock.unlock()
            if stop { child.kill(SIGTERM) }
        }
        // The parent keeps no pipe ends the children use: EOF must reach them.
        toClose.forEach { close($0) }
        toClose = []

        let collector = StreamCollector(readers: readers, capture: captureRead, stageCount: stages.count,
                                        onProgress: onProgress, onErrorLine: onErrorLine)
        let readerThread = Thread { collector.run() }
        readerThread.start()

        var terminations: [Termination?] = Array(repeating: nil, count: stages.count)
        for index in 0..<stages.count {
            if index == gateStage, let gate {
                let earlierOK = terminations[0..<index].allSatisfy { $0?.succeeded == true }
                lock.lock()
                let stop = cancelled
                lock.unlock()
                var wanted = true
                if earlierOK && !stop, let commitCondition {
                    collector.drainProgress(stages: 0..<index)
                    wanted = commitCondition(Array(collector.lastProgress[0..<index]))
                    commitDeclined = !wanted
                }
                if earlierOK && !stop && wanted {
                    _ = "commit\n".withCString { write(gate, $0, 7) }
                }
                // Closing without a word aborts the upload.
                close(gate)
            }
            let t = children[index].wait()
            terminations[index] = t
            if !t.succeeded && t != .signaled(SIGPIPE) {
                // One stage failed: the rest cannot produce a valid result; stop them now. The
                // commit stage is left to abort cleanly when its gate closes without a word.
                for later in (index + 1)..<children.count where !stages[later].commitGate {
                    children[later].kill(SIGTERM)
                }
            }
        }
        collector.finished.wait()
        let results = stages.indices.map { i in
            StageResult(name: stages[i].name, termination: terminations[i]!, errorLines: collector.errorLines[i],
                        lastProgress: collector.lastProgress[i])
        }
        return PipelineResult(stages: results, output: collector.captured)
    }
}

enum StreamKind { case stderr, progress }
