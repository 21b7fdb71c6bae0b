import ArchiveCache
import ArchiveLayout
import ArchiverConfig
import Digest
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import PGAccess
import PGPlanning
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
    /// data-archiver's own CPU time and peak memory at the end.
    public var ownUsage: ResourceUsage?
    /// Rows planning found in no window, one line per relation and reason (docs/plan.md).
    public var unwindowed: [String] = []
    /// `--allow-unwindowed`: such rows are reported but do not fail the run.
    public var unwindowedAllowed = false
    /// Rows that arrived in retired windows and were archived as late objects (docs/retire.md,
    /// "Late rows"): one line per window, and their count.
    public var late: [String] = []
    public var lateRows: Int64 = 0
    /// Relations each slice scans whole for want of an index on the date column (docs/plan.md).
    public var unindexed: [String] = []
    /// Rows were left out without the user's leave: the run fails.
    public var incomplete: Bool { !unwindowed.isEmpty && !unwindowedAllowed }

    /// The summary as lines for the display.
    public var lines: [String] {
        let rate = seconds > 0 ? Double(bytes) / seconds / 1_000_000 : 0
        let dry = dryRun > 0 ? ", \(dryRun) dry-run" : ""
        var out = ["summary: \(counted(slices, "slice")): \(uploaded) uploaded, \(skipped) skipped, \(empty) empty, \(failed) failed\(dry); "
                   + "\(rows) rows, \(formatBytes(bytes)) in \(formatDuration(seconds)) (\(TextFormat.fixed(rate, 1)) MB/s)"]
        out += stageUsage.line.map { [$0] } ?? []
        out += ownUsage.map { ["cpu of its own: " + $0.ownLine] } ?? []
        out += failures.map { "failed: " + $0 }
        let note = unwindowedAllowed ? "not archived (--allow-unwindowed)" : "not archived; the run fails unless --allow-unwindowed"
        out += unwindowed.map { "unwindowed: \($0): \(note)" }
        out += late.map { "late rows: " + $0 }
        out += unindexed.map { "warning: " + $0 }
        return out
    }

    /// The figures of the `summary` log line.
    public var fields: [(String, String)] {
        [("slices", "\(slices)"), ("uploaded", "\(uploaded)"), ("skipped", "\(skipped)"), ("empty", "\(empty)"),
         ("failed", "\(failed)"), ("dry_run", "\(dryRun)"), ("rows", "\(rows)"), ("bytes", "\(bytes)"),
         ("late_rows", "\(lateRows)"), ("seconds", TextFormat.fixed(seconds, 3))]
    }
}

/// A slice queued for archiving, by its position in the plan (positions past the plan's end
/// name late objects): a first run over 100,000 slices queues 100,000 of these, 8 bytes each,
/// where a `SliceWork` is about 300.
struct QueuedSlice: Sendable {
    var position: Int32
    /// The object exists but the cache does not know it: compare first (`s3put --compare`).
    var ifDifferent: Bool
}

/// One slice to archive and how to treat an existing object.
struct SliceWork: Sendable {
    var plan: Slice
    /// The plan line pg-extract reads, made when the slice is dispatched: a stored copy per queued
    /// slice cost about 70 MB at 100,000 slices (docs/performance.md). A plan that cannot be
    /// encoded gives an empty line, which pg-extract refuses, naming it.
    var planJSON: String { (try? plan.jsonLine()) ?? "" }
    var key: String
    /// The object exists but the cache does not know it: compare first (`s3put --compare`).
    var ifDifferent: Bool
    var expectedRows: Int64?
    /// A late object of a retired window (docs/retire.md, "Late rows"): when and how the window
    /// was retired, for the report.
    var lateAfter: String?
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

        display.log(.info, "planning", [("table", table), ("duration", config.outputDuration.rawValue)])
        // Plan and listing are read back from a file, a line at a time (100,000 slices).
        let spool = try home.makeScratchFolder(prefix: "archive")
        defer { removeTree(spool) }
        var planned = try invocation.planSlices(count: "estimate", display: display, spool: spool + "/plan.jsonl")
        var plans = planned.slices
        planned.slices = []  // one copy of the plan, changed in place
        if let shard = config.shard {
            let all = plans.count
            plans = plans.filter { shard.contains(stem: $0.stem) }
            display.log(.info, "shard", [("shard", shard.description), ("slices", "\(plans.count)"), ("of", "\(all)")])
        }
        summary.slices = plans.count
        releaseMemory(after: "planning")
        account(planned, template: template)
        display.setTotals(slices: plans.count, rows: plans.reduce(0) { $0 + ($1.rows ?? 0) })
        // One key per slice, rendered once (100,000 slices: 100,000 keys).
        let keys = plans.map { objectKey($0, template: template) }
        let planIndex = Dictionary(keys.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        try abortIncompleteUploads(prefix: prefix, ownKeys: plans.indices.compactMap { plans[$0].error == nil ? keys[$0] : nil })

        task { $0.currentTask = "checking" }
        let listing = try SliceListing(invocation: invocation, prefix: prefix, template: template, table: table, keys: keys,
                                       index: planIndex, spool: spool + "/listing.jsonl")
        releaseMemory(after: "listing")
        let schemaHash = try storeSchema(table: table, template: template, listing: listing)
        // Only what the run decides with, not every entry whole (memory at 100,000 slices).
        var entries = KnownSlices(index: planIndex, count: keys.count)
        _ = try cache.load(scope) { key, entry -> Void? in
            entries[key] = KnownSlice(entry)
            return nil
        }
        releaseMemory(after: "reading the cache")
        // Positions in `plans` (a first run queues every slice: a few bytes each, not a copy).
        var work: [QueuedSlice] = []
        var retiredWindows: [RetiredWindow] = []
        var skipped: [String] = []
        defer { recordSkips(skipped) }
        // Positions in `plans`, not copies of the slices (100,000 of them without a cache).
        var unknown: [Int] = []
        for (i, (plan, key)) in zip(plans, keys).enumerated() {
            if let error = plan.error {
                fail(plan.stem, key: key, stage: "planning", message: "pg-partitions: \(error)")
                continue
            }
            let existing = listing[key]
            let entry = entries[key]
            // A retired window's object is the only copy of its rows: never overwritten; rows that
            // arrived since go to a late object (docs/retire.md, "Late rows"). The cache says so first.
            if existing != nil, let entry, !entry.retiredTime.isZero {
                retiredWindows.append(RetiredWindow(plan: plan, key: key, when: "at \(entry.retiredTime.rfc3339) (\(entry.retireMode))"))
                continue
            }
            // Level 1 also needs the object to cover this very window: one made from a window cut
            // by the date range does not hold a whole window's rows (and the other way round).
            if !plan.open, let existing, let entry, entry.s3Uploaded, entry.fileSize == existing.size,
               // With SSE-KMS or SSE-C the ETag is no MD5 of the bytes: the size and the digest the
               // cache recorded at upload decide.
               existing.etag == (entry.multipartETag.isEmpty ? entry.fileMD5 : entry.multipartETag) || (config.s3OpaqueETags && !entry.fileMD5.isEmpty),
               !entry.fileMD5.isEmpty || !entry.multipartETag.isEmpty,
               entry.window.isEmpty ? !plan.partial : entry.window == plan.windowText {
                skip(plan, key: key, reason: "cached size and ETag match the object")
                skipped.append(key)
                continue
            }
            // The manifest is read only for an object the run would otherwise compare or replace:
            // all such manifests at once, below (level 1 from the store).
            if existing != nil, listing.hasManifest(ofObject: key) {
                unknown.append(i)
                continue
            }
            try queue(i, plan, key: key, exists: existing != nil, work: &work, skipped: &skipped)
        }
        releaseMemory(after: "level 1 from the cache")
        let store = levelOneFromStore(unknown, plans: plans, keys: keys, listing: listing, schemaHash: schemaHash)
        releaseMemory(after: "level 1 from the store")
        let now = Timestamp.now()
        for (key, rows) in store.skips { entries[key] = KnownSlice(rows: rows, countTime: now) }
        for i in unknown {
            let plan = plans[i], key = keys[i]
            if let retired = store.retired[key] {
                retiredWindows.append(RetiredWindow(plan: plan, key: key, when: "at \(retired.time.rfc3339) (\(retired.mode))"))
            } else if let rows = store.skips[key] {
                skip(plan, key: key, reason: "the store's manifest describes the object and PostgreSQL holds its \(rows) rows")
            } else {
                try queue(i, plan, key: key, exists: true, compare: !store.stale.contains(key), work: &work, skipped: &skipped)
            }
        }
        if !unknown.isEmpty { work.sort { $0.position < $1.position } }
        recordSkips(skipped)
        skipped = []
        // Late objects have no plan position of their own: they are numbered after the plan.
        let late = lateWork(retiredWindows, listing: listing, entries: entries)
        work += late.indices.map { QueuedSlice(position: Int32(plans.count + $0), ifDifferent: late[$0].ifDifferent) }
        // Counted after the skips: the windows level 1 from the store counted are in the cache now.
        var counting: BackgroundCount?
        if !config.skipCount {
            counting = startCounting(&plans, keys: keys, known: entries)
            display.setTotals(slices: plans.count, rows: plans.reduce(0) { $0 + ($1.rows ?? 0) })
        }
        defer { counting?.finish() }
        releaseMemory(after: "recording skips")

        task { $0.currentTask = "archiving"; $0.totalSlices = Int64(plans.count) }
        // Each worker holds one connection: leave half of what the server can spare to others.
        let connectionCap = max(1, facts.spareConnections / 2)
        let workerCount = min(config.workers, max(work.count, 1), connectionCap)
        if config.workers > connectionCap && work.count > connectionCap {
            display.log(.warn, "fewer workers than asked: the server can spare few connections",
                        [("workers", "\(workerCount)"), ("spare_connections", "\(facts.spareConnections)")])
        }
        display.log(.info, "archiving", [("slices", "\(plans.count)"), ("to_process", "\(work.count)"), ("workers", "\(workerCount)")])
        // Small slices first, through one framed pipeline per worker (docs/framing.md); then
        // the others, one pipeline each. Either way a worker holds one connection at a time.
        let maximumBytes = FramedSlices.maximumBytes(invocation.baseEnvironment)
        // A queued slice's work is made when a worker takes it (the plan line too, at dispatch).
        let (finalPlans, planKeys) = (plans, keys)
        let sliceWork: @Sendable (QueuedSlice) -> SliceWork = { q in
            let i = Int(q.position)
            guard i < finalPlans.count else { return late[i - finalPlans.count] }
            return SliceWork(plan: finalPlans[i], key: planKeys[i], ifDifferent: q.ifDifferent, expectedRows: finalPlans[i].rows)
        }
        let framing = work.map { isFramed(sliceWork($0).plan, ifDifferent: $0.ifDifferent, maximumBytes: maximumBytes) }
        let framed = work.indices.filter { framing[$0] }.map { work[$0] }
        if !framed.isEmpty {
            let manifests = FramedManifests(run: self)
            let framedWorkers = (0..<workerCount).map { FramedWorker(run: self, worker: $0, schemaHash: schemaHash, manifests: manifests) }
            WorkQueue(framed).drain(workers: min(workerCount, framed.count), stopping: { [self] in isStopping }) { item, worker in
                framedWorkers[worker].serve(sliceWork(item))
            }
            framedWorkers.forEach { $0.close() }
            manifests.close()
        }
        WorkQueue(work.indices.filter { !framing[$0] }.map { work[$0] })
            .drain(workers: workerCount, stopping: { [self] in isStopping }) { [self] item, worker in
                process(sliceWork(item), worker: worker, schemaHash: schemaHash)
            }
        return finalSummary()
    }

    /// Queues a slice that no level skipped: a partial window over an existing object is kept
    /// (unless --force); an existing object is compared first, except in an open window (or
    /// when `compare` is false: it is known to differ).
    private func queue(_ position: Int, _ plan: Slice, key: String, exists: Bool, compare: Bool = true, work: inout [QueuedSlice],
                       skipped: inout [String]) throws {
        if plan.partial && exists && !config.force {
            display.log(.warn, "skipping a partial window: the object may cover the whole window; --force overwrites it",
                        [("slice", plan.stem), ("key", key)])
            skip(plan, key: key, reason: "partial window")
            skipped.append(key)
            return
        }
        // An open window still gains rows: upload it again rather than compare it first.
        work.append(QueuedSlice(position: Int32(position), ifDifferent: exists && compare && !plan.open))
    }

    /// Renders the object key of a slice.
    func objectKey(_ plan: Slice, template: String) -> String {
        let prefix = ArchiveLayout.render(template: template, table: plan.table, year: plan.parts.YYYY, month: plan.parts.MM,
                                          day: plan.parts.DD, hour: plan.parts.HH)
        let codecExtension = ["zstd": ".zst", "lz4": ".lz4", "gzip": ".gz", "none": ""][config.compression] ?? ""
        return ArchiveLayout.key(prefix: prefix, fileName: plan.stem + ArchiveLayout.fileExtension(
            format: config.outputFormat.rawValue, codecExtension: codecExtension))
    }

    /// Plans the slices with pg-partitions (docs/plan.md); the rows no window holds and the
    /// relations it could not plan are left to the caller (`account`).
    func plan() throws -> [Slice] {
        try invocation.planSlices(count: "estimate", display: display).slices
    }

    /// Reports what planning left out: rows in no window (log and summary; the run fails unless
    /// --allow-unwindowed) and relations no slice carries (failures of their own).
    func account(_ plan: PlanOutput, template: String) {
        reportUnwindowed(plan.unwindowed)
        noteUnindexed(plan.unindexed)
        for relation in plan.unplanned where relation.slices.isEmpty {
            fail("\(relation.source.schema).\(relation.source.relation)", key: nil, stage: "planning", message: relation.error)
        }
        if let failure = plan.unexplainedFailure { fail(config.table ?? "", key: nil, stage: "planning", message: failure) }
    }

    /// Writes the table's schema beside the data (`_schema/<table>-<hash>.json`) unless the
    /// listing has it already (the key names its content's hash); returns the hash.
    func storeSchema(table: String, template: String, listing: SliceListing) throws -> String {
        let out = try invocation.capture("pg-extract", ["--describe", "--relation", table, "--schema", config.dbSchema] + invocation.connectionArguments)
        guard out.termination.succeeded else { throw OrchestratorError("could not read the table's schema: \(out.failure("pg-extract"))") }
        let json = out.lines.joined(separator: "\n") + "\n"
        let hash = SchemaHash.of(Array(json.utf8))
        let key = ArchiveLayout.schemaKey(template: template, table: table, hash: hash)
        if config.dryRun { return hash }
        if listing.hasSidecar(key) {
            display.log(.debug, "schema already stored", [("key", key)])
            return hash
        }
        let pipeline = Pipeline(stages: [
            Stage(name: "s3put", command: invocation.command("s3put", invocation.putArguments + ["--key", key,
                                                                                                 "--content-type", "application/json"]),
                  reportsProgress: false),
        ])
        // Its stderr (retries among it) is logged like any child's; a refusal keeps its status.
        pipeline.onErrorLine = { [display, invocation] _, line in
            display.log(stderrLevel(line), invocation.mask(line), [("stage", "s3put"), ("key", key)])
        }
        let result = try pipeline.run(input: Array(json.utf8))
        guard result.succeeded else {
            throw OrchestratorError("could not store the schema at \(key): \(result.failure ?? "")",
                                    status: result.refusedCredentials ? .authentication : .failure)
        }
        display.log(.debug, "schema stored", [("key", key)])
        return hash
    }

    func manifestKey(_ key: String) -> String {
        ArchiveLayout.manifestKey(template: config.pathTemplate!, table: config.table!, objectKey: key)
    }

    func skip(_ plan: Slice, key: String, reason: String) {
        lock.lock()
        summary.skipped += 1
        lock.unlock()
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

    /// Hands the memory a phase of the run freed back to the system (`releaseFreedMemory`) and
    /// logs this process's memory now and at its peak (`--debug`).
    private func releaseMemory(after phase: String) {
        releaseFreedMemory()
        display.log(.debug, "memory", [("after", phase), ("rss_mb", residentMegabytesNow()),
                                       ("peak_mb", TextFormat.fixed(Double(ResourceUsage.ownSoFar().peakResidentBytes) / 1e6, 1))])
    }

    var coresPerWorker: Int { max(1, cores / max(config.workers, 1)) }
}

/// A queue of work items (slices, dumps) shared by the worker threads.
final class WorkQueue<Item>: @unchecked Sendable {
    private let items: [Item]
    /// The next item to hand out (the items are never copied).
    private var nextIndex = 0
    private let condition = Condition()
    private var finished = 0

    init(_ items: [Item]) { self.items = items }

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
        guard nextIndex < items.count else { return nil }
        nextIndex += 1
        return items[nextIndex - 1]
    }

    private func done() {
        condition.lock(); finished += 1; condition.broadcast(); condition.unlock()
    }
}

/// What an archive run decides with about one cached slice: the level-1 facts and the row
/// count, not the whole entry (a run over 100,000 slices holds 100,000 of these).
struct KnownSlice {
    var s3Uploaded = false
    var fileSize: Int64 = 0
    var fileMD5 = ""
    var multipartETag = ""
    var window = ""
    var retiredTime: Timestamp = .zero
    var retireMode = ""
    var rowCount: Int64 = 0
    var countTime: Timestamp = .zero

    init(_ entry: CacheEntry) {
        s3Uploaded = entry.s3Uploaded
        fileSize = entry.fileSize
        fileMD5 = entry.fileMD5
        multipartETag = entry.multipartETag
        window = entry.window
        retiredTime = entry.retiredTime
        retireMode = entry.retireMode
        rowCount = entry.rowCount
        countTime = entry.countTime
    }

    /// A slice known only by an exact count taken now (level 1 from the store).
    init(rows: Int64, countTime: Timestamp) {
        rowCount = rows
        self.countTime = countTime
    }

    /// The row count when it may be trusted (`CacheEntry.trustedRowCount`, the one rule).
    func trustedRowCount(windowEnd: Timestamp, now: Timestamp) -> Int64? {
        var entry = CacheEntry()
        entry.rowCount = rowCount
        entry.countTime = countTime
        return entry.trustedRowCount(windowEnd: windowEnd, now: now)
    }
}

/// What the cache knows of the planned slices, by plan position (no key strings of its own).
struct KnownSlices {
    private let index: [String: Int]
    private var known: SparseSlots<KnownSlice>
    /// Late objects' entries (no plan names them; few: docs/retire.md, "Late rows").
    private var late: [String: KnownSlice] = [:]

    /// `index`: each planned key's position among the `count` slices.
    init(index: [String: Int], count: Int) {
        self.index = index
        known = SparseSlots(count: count)
    }

    /// The facts of a planned key or of a late object's key; setting another key does nothing.
    subscript(key: String) -> KnownSlice? {
        get {
            if let i = index[key] { return known[i] }
            return late[key]
        }
        set {
            if let i = index[key] {
                known[i] = newValue
            } else if key.contains(ArchiveLayout.lateMarker) {
                late[key] = newValue
            }
        }
    }
}
