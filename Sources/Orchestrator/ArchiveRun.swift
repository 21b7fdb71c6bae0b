import ArchiveCache
import ArchiveLayout
import ArchiverConfig
import Digest
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Pipelines
import RunDisplay
import SlicePlan
import ToolSupport

/// What happened to one slice.
public enum SliceOutcome: Sendable, Equatable {
    case uploaded, skipped, empty, failed, dryRun
}

/// The end of an archive run: counts for the summary and the exit status.
public struct RunSummary: Sendable {
    public var slices = 0, uploaded = 0, skipped = 0, empty = 0, failed = 0, dryRun = 0
    public var rows: Int64 = 0, bytes: Int64 = 0
    public var seconds = 0.0
    /// `stem: stage (status): message` for each failed slice.
    public var failures: [String] = []
    /// Whether the run was stopped (signal or `q`).
    public var interrupted = false
    /// Whether credentials were refused (the run stopped at once).
    public var authenticationRefused = false
    /// CPU time and peak memory of each kind of stage.
    public var stageUsage = StageUsageTotals()

    /// The summary as lines for the display.
    public var lines: [String] {
        let rate = seconds > 0 ? Double(bytes) / seconds / 1_000_000 : 0
        let dry = dryRun > 0 ? ", \(dryRun) dry-run" : ""
        var out = ["summary: \(counted(slices, "slice")): \(uploaded) uploaded, \(skipped) skipped, \(empty) empty, \(failed) failed\(dry); "
                   + "\(rows) rows, \(formatBytes(bytes)) in \(formatDuration(seconds)) (\(TextFormat.fixed(rate, 1)) MB/s)"]
        out += stageUsage.line.map { [$0] } ?? []
        out += failures.map { "failed: " + $0 }
        return out
    }

    /// The figures of the `summary` log line.
    public var fields: [(String, String)] {
        [("slices", "\(slices)"), ("uploaded", "\(uploaded)"), ("skipped", "\(skipped)"), ("empty", "\(empty)"),
         ("failed", "\(failed)"), ("dry_run", "\(dryRun)"), ("rows", "\(rows)"), ("bytes", "\(bytes)"),
         ("seconds", TextFormat.fixed(seconds, 3))]
    }
}

/// One slice to archive and how to treat an existing object.
struct SliceWork: Sendable {
    var plan: Slice
    /// The plan line pg-extract reads.
    var planJSON: String
    var key: String
    /// The object exists but the cache does not know it: compare first (`s3put --compare`).
    var ifDifferent: Bool
    var expectedRows: Int64?
}

/// `data-archiver archive`: plan, count, skip, run the pipelines, record, summarise.
public final class ArchiveRun: OrchestratedRun, @unchecked Sendable {
    private let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// A run of `invocation` reporting to `display`, keeping its state in `home`.
    public init(invocation: ChildInvocation, display: RunDisplay, home: ArchiveHome) {
        let c = invocation.config
        super.init(invocation: invocation, display: display, home: home,
                   scope: CacheScope(command: "archive", table: c.table ?? "", bucket: c.s3Bucket ?? "", pathTemplate: c.pathTemplate ?? ""))
    }

    /// Runs the whole archive; returns the summary (its `exitStatus` is the process's).
    public func run() throws -> RunSummary {
        let table = config.table!
        let template = config.pathTemplate!
        let runLock = try begin(name: "table \(table)")
        defer { end(runLock) }
        let facts = try preflight(config, onRetry: logConnectionRetry(display))
        let prefix = ArchiveLayout.fixedPrefix(template: template, table: table)
        try abortIncompleteUploads(prefix: prefix)

        display.log(.info, "planning", [("table", table), ("duration", config.outputDuration.rawValue)])
        var plans = try plan()
        summary.slices = plans.count
        var counting: BackgroundCount?
        if !config.skipCount { (plans, counting) = try startCounting(plans) }
        display.setTotals(slices: plans.count, rows: plans.reduce(0) { $0 + ($1.rows ?? 0) })
        defer { counting?.finish() }

        task { $0.currentTask = "checking" }
        let listing = try invocation.listObjects(prefix: prefix)
        let schemaHash = try storeSchema(table: table, template: template, listing: listing)
        let entries = try cache.load(scope).entries
        var work: [SliceWork] = []
        for plan in plans {
            if let error = plan.error {
                fail(plan.stem, key: objectKey(plan, template: template), stage: "planning", message: "pg-partitions: \(error)")
                continue
            }
            let key = objectKey(plan, template: template)
            let existing = listing[key]
            let entry = entries[key]
            // Level 1 also needs the object to cover this very window: one made from a window cut
            // by the date range does not hold a whole window's rows (and the other way round).
            if !plan.open, let existing, let entry, entry.s3Uploaded, entry.fileSize == existing.size,
               existing.etag == (entry.multipartETag.isEmpty ? entry.fileMD5 : entry.multipartETag), !entry.fileMD5.isEmpty || !entry.multipartETag.isEmpty,
               entry.window.isEmpty ? !plan.partial : entry.window == plan.windowText {
                skip(plan, key: key, reason: "cached size and ETag match the object")
                continue
            }
            if plan.partial && existing != nil && !config.force {
                display.log(.warn, "skipping a partial window: the object may cover the whole window; --force overwrites it",
                            [("slice", plan.stem), ("key", key)])
                skip(plan, key: key, reason: "partial window")
                continue
            }
            // An open window still gains rows: upload it again rather than compare it first.
            work.append(SliceWork(plan: plan, planJSON: try plan.jsonLine(), key: key, ifDifferent: existing != nil && !plan.open,
                                  expectedRows: plan.rows))
        }

        task { $0.currentTask = "archiving"; $0.totalSlices = Int64(plans.count) }
        // Each worker holds one connection: leave half of what the server can spare to others.
        let connectionCap = max(1, facts.spareConnections / 2)
        let workerCount = min(config.workers, max(work.count, 1), connectionCap)
        if config.workers > connectionCap && work.count > connectionCap {
            display.log(.warn, "fewer workers than asked: the server can spare few connections",
                        [("workers", "\(workerCount)"), ("spare_connections", "\(facts.spareConnections)")])
        }
        display.log(.info, "archiving", [("slices", "\(plans.count)"), ("to_process", "\(work.count)"), ("workers", "\(workerCount)")])
        WorkQueue(work).drain(workers: workerCount, stopping: { [self] in isStopping }) { [self] item, worker in
            process(item, worker: worker, schemaHash: schemaHash)
        }
        return finalSummary()
    }

    /// Renders the object key of a slice.
    func objectKey(_ plan: Slice, template: String) -> String {
        let prefix = ArchiveLayout.render(template: template, table: plan.table, year: plan.parts.YYYY, month: plan.parts.MM,
                                          day: plan.parts.DD, hour: plan.parts.HH)
        let codecExtension = ["zstd": ".zst", "lz4": ".lz4", "gzip": ".gz", "none": ""][config.compression] ?? ""
        return ArchiveLayout.key(prefix: prefix, fileName: plan.stem + ArchiveLayout.fileExtension(
            format: config.outputFormat.rawValue, codecExtension: codecExtension))
    }

    /// Plans the slices with pg-partitions (errors on stderr are logged; planned slices are kept).
    func plan() throws -> [Slice] {
        let args = invocation.planArguments(count: "estimate")
        display.log(.debug, "plan", [("command", invocation.mask(invocation.command("pg-partitions", args).shellLine()))])
        // Its errors reach the log once, with the slice they belong to (or as the planning failure).
        let out = try invocation.capture("pg-partitions", args) { [display] line in display.log(stderrLevel(line), line) }
        let plans = try out.lines.map(parsePlanLine)
        if !out.termination.succeeded && plans.isEmpty {
            throw OrchestratorError("planning failed: \(out.failure("pg-partitions"))")
        }
        return plans
    }

    /// Writes the table's schema beside the data (`_schema/<table>-<hash>.json`) unless the
    /// listing has it already (the key names its content's hash); returns the hash.
    func storeSchema(table: String, template: String, listing: [String: ListedObject]) throws -> String {
        let out = try invocation.capture("pg-extract", ["--describe", "--relation", table, "--schema", config.dbSchema] + invocation.connectionArguments)
        guard out.termination.succeeded else { throw OrchestratorError("could not read the table's schema: \(out.failure("pg-extract"))") }
        let json = out.lines.joined(separator: "\n") + "\n"
        let hash = String(hex(Digest.hash(.sha256, json)).prefix(16))
        let key = ArchiveLayout.schemaKey(template: template, table: table, hash: hash)
        if config.dryRun { return hash }
        if listing[key] != nil {
            display.log(.debug, "schema already stored", [("key", key)])
            return hash
        }
        let pipeline = Pipeline(stages: [
            Stage(name: "s3put", command: invocation.command("s3put", invocation.storeArguments + ["--key", key,
                                                                                                 "--content-type", "application/json"]),
                  reportsProgress: false),
        ])
        let result = try pipeline.run(input: Array(json.utf8))
        guard result.succeeded else { throw OrchestratorError("could not store the schema at \(key): \(result.failure ?? "")") }
        display.log(.debug, "schema stored", [("key", key)])
        return hash
    }

    func skip(_ plan: Slice, key: String, reason: String) {
        lock.lock()
        summary.skipped += 1
        lock.unlock()
        _ = try? cache.updateEntry(scope, key: key) { $0.lastSkipTime = .now() }
        display.log(.info, "skipped", [("slice", plan.stem), ("reason", reason)])
        display.completed("skipped   \(plan.stem)", bytes: 0, rows: 0)
    }

    /// Records a failed slice once: the summary's count and line, the cache entry (the viewer's
    /// source), the log and the display. `stage` is the stage whose own error explains it.
    func fail(_ stem: String, key: String?, stage: String, message: String) {
        let text = invocation.mask(message)
        lock.lock()
        summary.failures.append("\(stem): \(text)")
        lock.unlock()
        if let key {
            _ = try? cache.updateEntry(scope, key: key) { entry in
                entry.s3Key = key
                entry.recordError(kind: stage, message: text, at: .now())
            }
        }
        display.log(.error, "slice failed", [("slice", stem), ("stage", stage), ("error", text)])
        display.completed("FAILED    \(stem)", bytes: 0, rows: 0)
        record(.failed, rows: 0, bytes: 0)
    }

    var coresPerWorker: Int { max(1, cores / max(config.workers, 1)) }
}

/// A queue of work items (slices, dumps) shared by the worker threads.
final class WorkQueue<Item>: @unchecked Sendable {
    private var items: [Item]
    private let condition = Condition()
    private var finished = 0

    init(_ items: [Item]) { self.items = items.reversed() }

    /// Runs `workers` threads that take items in order until none is left or `stopping()`;
    /// `body` gets each item and its worker's index. Returns when every thread has finished.
    func drain(workers: Int, stopping: @escaping @Sendable () -> Bool, _ body: @escaping @Sendable (Item, Int) -> Void) {
        for index in 0..<workers {
            let started = spawnThread { [self] in
                while !stopping(), let item = next() { body(item, index) }
                done()
            }
            precondition(started, "data-archiver: could not start a worker thread")
        }
        condition.lock()
        while finished < workers { condition.wait() }
        condition.unlock()
    }

    private func next() -> Item? {
        condition.lock(); defer { condition.unlock() }
        return items.popLast()
    }

    private func done() {
        condition.lock(); finished += 1; condition.broadcast(); condition.unlock()
    }
}
