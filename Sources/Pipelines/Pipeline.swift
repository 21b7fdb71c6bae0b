import Dispatch
import FoundationEssentials
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
    /// A side branch fed a copy of this stage's output (a tee): the stage gets the write end of
    /// a pipe as fd 5 (its command names it, e.g. `tee /dev/fd/5`), the branch reads that pipe
    /// on stdin, its stdout goes to /dev/null. Its result is in `PipelineResult.branches`, and a
    /// commit gate after this stage opens only when the branch exited 0 too.
    public var branch: Branch?

    /// A stage.
    public init(name: String, command: Command, reportsProgress: Bool = true, commitGate: Bool = false, branch: Branch? = nil) {
        self.name = name
        self.command = command
        self.reportsProgress = reportsProgress
        self.commitGate = commitGate
        self.branch = branch
    }
}

/// A program fed a copy of a stage's output (see `Stage.branch`).
public struct Branch: Sendable {
    /// A short name for messages ("pg_restore").
    public var name: String
    /// What to run; it reads the copy on stdin.
    public var command: Command

    /// A branch.
    public init(name: String, command: Command) {
        self.name = name
        self.command = command
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
    /// The CPU time and peak memory it used.
    public var usage: ResourceUsage?

    /// A stage's outcome.
    public init(name: String, termination: Termination, errorLines: [String], lastProgress: [String: JSONValue], usage: ResourceUsage?) {
        self.name = name
        self.termination = termination
        self.errorLines = errorLines
        self.lastProgress = lastProgress
        self.usage = usage
    }
}

/// The outcome of a pipeline.
public struct PipelineResult: Sendable {
    /// Every stage, in order.
    public var stages: [StageResult]
    /// Everything the last stage wrote to stdout (when captured).
    public var output: Data
    /// The side branches, by the index of the stage that feeds them.
    public var branches: [Int: StageResult] = [:]

    /// Whether every stage and every branch exited 0.
    public var succeeded: Bool {
        stages.allSatisfy { $0.termination.succeeded } && branches.values.allSatisfy { $0.termination.succeeded }
    }

    /// The stage whose own error explains the failure: the first failed stage (in pipeline
    /// order, a branch right after the stage that feeds it) that is not a mere consequence of
    /// another's (EPIPE, input cut short, an uncommitted upload, SIGPIPE, the pipeline's SIGTERM);
    /// when every failure is a consequence, the first of them. Nil when all succeeded.
    public var cause: StageResult? {
        let ordered = stages.indices.flatMap { i in [stages[i]] + (branches[i].map { [$0] } ?? []) }
        let failed = ordered.filter { !$0.termination.succeeded }
        return failed.first { !$0.termination.isConsequence } ?? failed.first
    }

    /// The cause's name, status and own error line: `rowfmt (exit status 1): line 3: …`.
    public var failure: String? {
        guard let cause else { return nil }
        return "\(cause.name) (\(cause.termination))" + (cause.errorMessage.map { ": " + $0 } ?? "")
    }
}

extension StageResult {
    /// The stage's own error: its last line of stderr, preferring a `NAME: error: …` line, whose
    /// `NAME: error: ` prefix goes when it repeats the stage's name.
    public var errorMessage: String? {
        let prefix = name + ": error: "
        guard let line = errorLines.last(where: { $0.contains(": error: ") }) ?? errorLines.last else { return nil }
        return line.hasPrefix(prefix) ? String(line.dropFirst(prefix.count)) : line
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

    /// The members of a progress line (a flat JSON object; a nested value reads as null), or nil
    /// when the line is no JSON object. Parsed by `FlatJSON`, not a `JSONDecoder`: a framed
    /// pipeline reads several such lines per slice, 100,000 slices in a run.
    public static func fields(ofLine text: String) -> [String: JSONValue]? {
        guard let members = try? FlatJSON.object(Array(text.utf8), what: "a progress line") else { return nil }
        return members.mapValues { value in
            switch value {
            case .string(let s): .string(s)
            case .number(let n): Double(n).map { .number($0) } ?? .null
            case .bool(let b): .bool(b)
            case .null, .object, .array: .null
            }
        }
    }
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
    /// When set, the commit gate's write end goes to the caller once every stage has started,
    /// instead of the pipeline's one verdict after the earlier stages exit: a framed s3put reads
    /// one verdict per frame (docs/framing.md). The caller writes them and closes the descriptor.
    public var onGateOpened: (@Sendable (Int32) -> Void)?
    private var children: [ChildProcess] = []
    private var branchChildren: [Int: ChildProcess] = [:]
    private let lock = Lock()
    private var cancelled = false

    /// A pipeline of `stages`.
    public init(stages: [Stage]) {
        precondition(!stages.isEmpty, "a pipeline needs a stage")
        self.stages = stages
    }

    /// The process IDs of the stages started so far, in stage order (to watch them in /proc).
    public var processIDs: [pid_t] {
        lock.lock()
        defer { lock.unlock() }
        return children.map(\.pid)
    }

    /// Terminates every running stage (SIGTERM); the commit gate stays shut.
    public func cancel() {
        lock.lock()
        cancelled = true
        let running = children + Array(branchChildren.values)
        lock.unlock()
        running.forEach { $0.kill(SIGTERM) }
    }

    /// Runs the pipeline with `input` on its first stage's stdin, written from a thread so that
    /// any size fits; a stage that stops reading early ends the writing (its status says why).
    public func run(input: [UInt8], stdout: Int32? = nil) throws -> PipelineResult {
        let pipe = try makePipe()
        let started = spawnThread {
            // A stage that stops reading must not kill this process: EPIPE instead of SIGPIPE,
            // whatever the process's disposition (the signal stays pending on this thread).
            var blocked = sigset_t()
            sigemptyset(&blocked)
            sigaddset(&blocked, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &blocked, nil)
            // Unbuffered; a failed write (the reader is gone) simply ends the feeding.
            let sink = FileSink(fd: pipe.write, name: "the pipeline's input", bufferSize: 1, ownsDescriptor: true)
            try? sink.write(input)
        }
        defer { close(pipe.read) }
        guard started else {
            close(pipe.write)
            throw ToolError("could not start the thread feeding the pipeline")
        }
        return try run(stdin: pipe.read, stdout: stdout)
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
                enlargeDataPipe(next.write)
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
            var branchInput: Int32?
            if stage.branch != nil {
                let side = try makePipe()
                descriptors.append((side.write, 5))
                toClose.append(side.write)
                toClose.append(side.read)
                branchInput = side.read
            }
            var command = stage.command
            command.arguments = arguments
            let child: ChildProcess
            do {
                child = try ChildProcess.spawn(command, descriptors: descriptors)
                if let branch = stage.branch, let branchInput {
                    let err = try makePipe()
                    toClose.append(err.write)
                    readers.append((err.read, stages.count + index, .stderr))
                    let side = try ChildProcess.spawn(branch.command, descriptors: [(branchInput, 0), (devNull, 1), (err.write, 2)])
                    lock.lock()
                    branchChildren[index] = side
                    lock.unlock()
                }
            } catch {
                cancel()
                children.forEach { $0.wait() }
                branchChildren.values.forEach { $0.wait() }
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
        if let onGateOpened, let open = gate {
            gate = nil
            onGateOpened(open)
        }

        let collector = StreamCollector(readers: readers, capture: captureRead, stageCount: 2 * stages.count,
                                        onProgress: onProgress, onErrorLine: onErrorLine)
        guard spawnThread({ collector.run() }) else { throw ToolError("could not start the thread reading the pipeline's output") }

        var terminations: [Termination?] = Array(repeating: nil, count: stages.count)
        for index in 0..<stages.count {
            if index == gateStage, let gate {
                let branchesOK = branchChildren.filter { $0.key < index }.values.allSatisfy { $0.wait().succeeded }
                let earlierOK = branchesOK && terminations[0..<index].allSatisfy { $0?.succeeded == true }
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
            if !t.succeeded && !t.isConsequence {
                // One stage failed: the rest cannot produce a valid result; stop them now. The
                // commit stage is left to abort cleanly when its gate closes without a word.
                for later in (index + 1)..<children.count where !stages[later].commitGate {
                    children[later].kill(SIGTERM)
                }
            }
        }
        let branchTerminations = branchChildren.mapValues { $0.wait() }
        collector.finished.wait()
        let results = stages.indices.map { i in
            StageResult(name: stages[i].name, termination: terminations[i]!, errorLines: collector.errorLines[i],
                        lastProgress: collector.lastProgress[i], usage: children[i].usage.map { usage in
                            // The tool's own peak (its final line), not wait4's, which counts the
                            // parent's pages the child shared until exec (docs/progress.md).
                            var own = usage
                            if let peak = collector.lastProgress[i]["peak_rss_bytes"]?.integer {
                                own.peakResidentBytes = Int(peak)
                                own.peakIsOwn = true
                            }
                            return own
                        })
        }
        var result = PipelineResult(stages: results, output: collector.captured)
        for (i, termination) in branchTerminations {
            result.branches[i] = StageResult(name: stages[i].branch!.name, termination: termination,
                                             errorLines: collector.errorLines[stages.count + i], lastProgress: [:],
                                             usage: branchChildren[i]?.usage)
        }
        return result
    }
}

enum StreamKind { case stderr, progress }
