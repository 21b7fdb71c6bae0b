import ArchiveCache
import ArchiverConfig
import Dispatch
import FoundationEssentials
import ToolSupport
#if canImport(Glibc)
import Glibc
#endif
import Pipelines
import RunDisplay
import SlicePlan

/// A run of data-archiver that `main` drives: `archive`, `dump` or `dump-hybrid`.
public protocol ArchiverRun: AnyObject, Sendable {
    /// Stops the run: no new work starts, running pipelines are terminated.
    func stop()
    /// Waits up to `seconds` for running pipelines to wind down (after `stop`).
    func waitForPipelines(seconds: Double)
    /// Runs to the end and returns the report; its `exitStatus` is the process's.
    func perform() throws -> any RunReport
}

/// What archive and dump runs share: configuration, display, cache and task files, the summary,
/// the running pipelines and the stop flag.
public class OrchestratedRun: @unchecked Sendable {
    let invocation: ChildInvocation
    let display: RunDisplay
    let home: ArchiveHome
    var config: ArchiverConfiguration { invocation.config }
    let scope: CacheScope
    let cache: CacheStore
    let tasks: TaskStore
    let started = Timestamp.now()
    let startClock = Date()
    /// Guards `summary` and the state below.
    let lock = Lock()
    var summary = RunSummary()
    /// The pipelines going and the stop flag.
    let running = RunningPipelines()
    private var processed = 0
    private var lastWorkerPublish: UInt64 = 0
    /// Guards the task below between worker threads.
    private let taskLock = Lock()
    /// The run's task as the viewer sees it (the run owns its task file: it holds the run lock),
    /// kept here and written at most every `taskInterval` (docs/progress.md).
    private var taskState: TaskInfo?
    private var lastTaskWrite: UInt64 = 0
    private var taskWriteScheduled = false
    private var taskEnded = false
    /// The least time between two writes of the task file: a slice changes it five or six
    /// times, and each write is a whole file replaced atomically (at 100,000 tiny slices that
    /// was 45 % of data-archiver's allocations and most of its system time).
    static let taskInterval: UInt64 = 200_000_000

    init(invocation: ChildInvocation, display: RunDisplay, home: ArchiveHome, scope: CacheScope) {
        self.invocation = invocation
        self.display = display
        self.home = home
        self.scope = scope
        cache = CacheStore(home: home, warn: { [display] in display.log(.warn, $0) })
        tasks = TaskStore(home: home, tag: invocation.config.shard?.fileTag)
    }

    /// Stops the run: no new work starts, running pipelines are terminated (their uploads abort).
    public func stop() {
        lock.lock()
        summary.interrupted = true
        lock.unlock()
        running.stop()
    }

    /// Stops the run because a stage's credentials were refused (exit 6): final, so no further
    /// slice starts and the run ends with the authentication status.
    func stopForRefusedCredentials() {
        lock.lock()
        let first = !summary.authenticationRefused
        summary.authenticationRefused = true
        lock.unlock()
        if first { display.log(.error, "stopping: the credentials were refused (never retried); no further slice starts") }
        running.stop()
    }

    /// Waits up to `seconds` for running pipelines to wind down (after `stop`).
    public func waitForPipelines(seconds: Double) { running.waitUntilIdle(seconds: seconds) }

    var isStopping: Bool { running.isStopping }

    /// Notes in the cache that `keys` were skipped now: one transaction for the whole batch
    /// (a warning, not a failure, when the cache cannot be written).
    func recordSkips(_ keys: [String]) {
        guard !keys.isEmpty else { return }
        let now = Timestamp.now()
        do {
            try cache.updateEntries(scope, keys: keys, { _, entry in entry.lastSkipTime = now }, each: { _ in })
        } catch {
            display.log(.warn, "could not record \(keys.count) skips in the cache: \(error)")
        }
    }

    /// Takes the scope's run lock and writes the first task-file state; undo with `end`.
    func begin(name: String) throws -> RunLock {
        let runLock: RunLock
        do {
            runLock = try RunLock(home: home, scope: scope, pid: Int64(getpid()), tag: config.shard?.fileTag)
        } catch let busy as RunLock.Busy {
            throw OrchestratorError("\(busy): one \(config.command.rawValue) of \(name) to this destination runs at a time")
        }
        task(now: true) { t in
            t.pid = Int64(getpid())
            t.startTime = self.started
            t.table = self.config.table ?? self.config.dbName ?? ""
            t.startDate = self.config.startDate ?? ""
            t.endDate = self.config.endDate ?? ""
            t.currentTask = "connecting"
        }
        return runLock
    }

    /// Releases the run lock and clears the task file (no write pending may bring it back).
    func end(_ runLock: RunLock) {
        taskLock.lock()
        taskEnded = true
        taskLock.unlock()
        runLock.release()
        try? tasks.clearTask()
    }

    /// Aborts multipart uploads a killed earlier run left open under `prefix` (not in a dry run).
    func abortIncompleteUploads(prefix: String, ownKeys: [String]) throws {
        guard !config.dryRun else { return }
        // Only this run's own keys (a killed earlier run's leftovers), and any key's upload older
        // than --abort-older-than: another run writing other keys under the prefix keeps its uploads.
        let arguments = invocation.storeArguments + ["--abort-incomplete", prefix, "--older-than", config.abortOlderThan, "--keys-from", "-"]
        let pipeline = Pipeline(stages: [Stage(name: "s3put", command: invocation.command("s3put", arguments), reportsProgress: false)])
        // The keys as one buffer, built in place (100,000 keys: no string per line, no joined copy).
        var input: [UInt8] = []
        input.reserveCapacity(ownKeys.reduce(0) { $0 + $1.utf8.count + 1 })
        for key in ownKeys {
            input.append(contentsOf: key.utf8)
            input.append(10)
        }
        let result = try pipeline.run(input: input)
        guard result.succeeded else {
            let status: ExitStatus = switch result.cause?.termination {
            case .exited(ExitStatus.authentication.rawValue): .authentication
            case .exited(ExitStatus.configuration.rawValue): .configuration
            default: .failure
            }
            throw OrchestratorError("checking the destination \(invocation.destination(prefix: prefix)): \(result.failure ?? "s3put failed")",
                                    status: status)
        }
        for line in String(decoding: result.output, as: UTF8.self).split(separator: "\n") {
            display.log(.debug, "aborted an incomplete upload", [("upload", String(line))])
        }
    }

    /// Updates the task file (best effort: the viewer's view, never the run's outcome). The
    /// change is written at once when the last write is `taskInterval` old, else at the end of
    /// that interval (one write for all the changes made meanwhile); `now` writes it at once.
    func task(now: Bool = false, _ change: (inout TaskInfo) -> Void) {
        taskLock.lock()
        defer { taskLock.unlock() }
        var t = taskState ?? ((try? tasks.readTask()) ?? nil) ?? TaskInfo()
        if t.pid == 0 { t.pid = Int64(getpid()); t.startTime = started }
        change(&t)
        taskState = t
        let clock = monotonicNanosecondsNow()
        if now || clock &- lastTaskWrite >= Self.taskInterval {
            writeTaskLocked()
        } else if !taskWriteScheduled {
            taskWriteScheduled = true
            let wait = Self.taskInterval - (clock &- lastTaskWrite)
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(wait))) { [self] in
                taskLock.lock()
                defer { taskLock.unlock() }
                if taskWriteScheduled { writeTaskLocked() }
            }
        }
    }

    /// Writes the current task (under `taskLock`).
    private func writeTaskLocked() {
        guard var t = taskState, !taskEnded else { return }
        t.lastUpdate = .now()
        try? tasks.writeTask(t)
        lastTaskWrite = monotonicNanosecondsNow()
        taskWriteScheduled = false
    }

    /// Writes what every busy worker is doing into the task file (for the viewer): at most about
    /// once a second unless `force` (a worker started or finished).
    func publishWorkers(force: Bool = false) {
        let now = monotonicNanosecondsNow()
        lock.lock()
        if !force && now &- lastWorkerPublish < 1_000_000_000 { lock.unlock(); return }
        lastWorkerPublish = now
        lock.unlock()
        let busy = display.workerStates().map { w in
            TaskWorker(worker: Int64(w.index + 1), slice: w.state.slice, stage: w.state.stage, rows: w.state.rows,
                       expectedRows: w.state.expectedRows ?? 0, bytes: max(w.state.streamedBytes, w.state.uploadedBytes))
        }
        task { $0.workers = busy }
    }

    /// Tracks a running pipeline so `stop` can cancel it; false once the run is stopping.
    func register(_ pipeline: Pipeline) -> Bool { running.register(pipeline) }

    /// Forgets a finished pipeline.
    func unregister(_ pipeline: Pipeline) { running.unregister(pipeline) }

    /// Adds a finished pipeline's CPU time and memory to the summary.
    func account(_ result: PipelineResult) {
        lock.lock()
        summary.stageUsage.add(result)
        lock.unlock()
    }

    /// Counts one finished piece of work in the summary and the task file.
    func record(_ outcome: SliceOutcome, rows: Int64, bytes: Int64) {
        lock.lock()
        switch outcome {
        case .uploaded: summary.uploaded += 1
        case .skipped: summary.skipped += 1
        case .empty: summary.empty += 1
        case .dryRun: summary.dryRun += 1
        case .failed: summary.failed += 1
        }
        summary.rows += rows
        summary.bytes += bytes
        processed += 1
        let done = processed
        lock.unlock()
        task { $0.slicesProcessed = Int64(done); $0.partitionsProcessed = Int64(done); $0.completedItems = Int64(done) }
    }

    /// Logs the rows planning found in no window and keeps them for the summary (the run fails
    /// because of them unless `--allow-unwindowed`).
    func reportUnwindowed(_ found: [UnwindowedRows]) {
        let allowed = config.allowUnwindowed
        for rows in found {
            display.log(allowed ? .warn : .error, "rows in no window, not archived", [
                ("relation", "\(rows.source.schema).\(rows.source.relation)"), ("rows", "\(rows.rows)"),
                ("reason", rows.reason.rawValue), ("detail", rows.message),
            ])
        }
        lock.lock()
        summary.unwindowed = found.map(\.message)
        summary.unwindowedAllowed = allowed
        lock.unlock()
    }

    /// Keeps the relations each slice scans whole for the summary (planSlices logged them).
    func noteUnindexed(_ found: [UnindexedScan]) {
        lock.lock()
        summary.unindexed = found.map(\.message)
        lock.unlock()
    }

    /// The summary at the end, with the elapsed time.
    func finalSummary() -> RunSummary {
        lock.lock()
        defer { lock.unlock() }
        summary.seconds = Date().timeIntervalSince(startClock)
        summary.ownUsage = .ownSoFar()
        return summary
    }
}

extension ArchiveRun: ArchiverRun {
    /// Runs the archive (see `run()`).
    public func perform() throws -> any RunReport { try run() }
}

extension DumpRun {
    /// Runs the dump (see `run()`).
    public func perform() throws -> any RunReport { try run() }
}
