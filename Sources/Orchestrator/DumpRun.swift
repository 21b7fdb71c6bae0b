import ArchiveCache
import ArchiveLayout
import ArchiverConfig
import FoundationEssentials
import SlicePlan
#if canImport(Glibc)
import Glibc
#endif
import PGAccess
import Pipelines
import RunDisplay
import ToolSupport

/// One object a dump run writes.
struct DumpJob: Sendable {
    /// The name shown and reported (`flights-2024-01-05`, `shop-schema`).
    var stem: String
    /// The object key.
    var key: String
    /// The cache entry key (`<table>:<window>`, `<table>:schema`, `<name>:<file stem>`).
    var cacheKey: String
    /// pg_dump arguments after the connection and format flags.
    var arguments: [String]
    /// Whether a finished object at `key` makes the job unnecessary (windows and window schemas;
    /// whole dumps carry their run time in the name).
    var skippable: Bool
    /// dump-hybrid: the window's plan line; its rows are copied into a scratch table first.
    var fill: Slice?
    /// Why the job cannot run.
    var error: String?
}

/// The PostgreSQL client programs a dump runs, found in `PATH`.
struct ClientPrograms: Sendable {
    var pgDump: String
    var pgRestore: String
    var tee: String
    var psql: String?

    /// Finds the programs, failing with one line that names the first missing one.
    init(path: String, needPsql: Bool) throws {
        func find(_ name: String, _ hint: String) throws -> String {
            for dir in path.split(separator: ":") where access("\(dir)/\(name)", X_OK) == 0 { return "\(dir)/\(name)" }
            throw OrchestratorError("\(name) not found in PATH (\(path)): \(hint)")
        }
        let client = "install the PostgreSQL client programs (Debian: postgresql-client)"
        pgDump = try find("pg_dump", client)
        pgRestore = try find("pg_restore", client)
        tee = try find("tee", "install coreutils")
        psql = needPsql ? try find("psql", client) : nil
    }
}

/// `data-archiver dump` and `dump-hybrid`: pg_dump -Fc streamed into s3put, teed into
/// `pg_restore -f /dev/null` for verification, skipped when cache and store hold the window.
public final class DumpRun: OrchestratedRun, ArchiverRun, @unchecked Sendable {
    let hybrid: Bool
    /// The run's UTC time as (year, month, day, hour, minute, second), for whole-dump names.
    let runTime: (Int, Int, Int, Int, Int, Int)
    var programs: ClientPrograms?
    /// dump-hybrid: the scratch databases, one per worker.
    var scratch: [String] = []
    /// Held for a whole drop, so a second caller (the signal path) returns only once the databases are gone.
    let dropping = Lock()
    /// dump-hybrid: the columns the scratch tables hold, in order.
    var scratchColumnNames: [String] = []

    /// A run of `invocation` (command `dump` or `dump-hybrid`) reporting to `display`.
    public init(invocation: ChildInvocation, display: RunDisplay, home: ArchiveHome) {
        let c = invocation.config
        hybrid = c.command == .dumpHybrid
        var t = time(nil)
        var parts = tm()
        gmtime_r(&t, &parts)
        runTime = (Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min),
                   Int(parts.tm_sec))
        super.init(invocation: invocation, display: display, home: home,
                   scope: CacheScope(command: c.command.rawValue, table: c.table ?? c.dbName ?? "", bucket: c.s3Bucket ?? "",
                                     pathTemplate: c.pathTemplate ?? ""))
    }

    /// Waits for the pipelines, then drops the scratch databases (best effort on a signal; the
    /// next run drops whatever is left).
    public override func waitForPipelines(seconds: Double) {
        super.waitForPipelines(seconds: seconds)
        dropScratch()
    }

    public func run() throws -> RunSummary {
        let name = config.table ?? config.dbName ?? ""
        programs = try ClientPrograms(path: invocation.baseEnvironment["PATH"] ?? "/usr/bin:/bin", needPsql: hybrid)
        let runLock = try begin(name: name)
        defer {
            dropScratch()
            end(runLock)
        }
        _ = try preflight(config, onRetry: logConnectionRetry(display))
        let connection = try connect(config, onRetry: logConnectionRetry(display))
        let template = config.pathTemplate!
        // Uploads a killed run left open are aborted under this run's own prefix only: split
        // objects live under every table's name, where other runs may be uploading.
        let current = try connection.query("SELECT current_database()").first?[0] ?? nil
        let database = config.dbName ?? current ?? ""
        let prefix = ArchiveLayout.fixedPrefix(template: template, table: config.table ?? database)
        if hybrid { try prepareHybrid(connection) }

        task { $0.currentTask = "planning" }
        var snapshotHolder: PGConnection?
        let jobs: [DumpJob]
        if let table = config.table {
            jobs = try tableJobs(table: table, connection: connection)
        } else {
            (jobs, snapshotHolder) = try databaseJobs(database: database)
        }
        summary.slices = jobs.count
        display.setTotals(slices: jobs.count, rows: 0)
        if config.table != nil || !config.splitTables { try abortIncompleteUploads(prefix: prefix, ownKeys: jobs.map(\.key)) }

        task { $0.currentTask = "checking" }
        // Whole dumps carry their run time in the name: only windows and window schemas need the listing.
        let listing = jobs.contains(where: \.skippable) ? try invocation.listObjects(prefix: prefix) : [:]
        let entries = try cache.load(scope).entries
        var work: [DumpJob] = []
        var skipped: [String] = []
        defer { recordSkips(skipped) }
        for job in jobs {
            if let error = job.error {
                fail(job, stage: "planning", message: error)
                continue
            }
            if job.skippable, let existing = listing[job.key], let entry = entries[job.cacheKey], entry.s3Uploaded,
               entry.s3Key == job.key, entry.fileSize == existing.size,
               // With SSE-KMS or SSE-C the ETag is no MD5 of the bytes: the recorded upload's size decides (as for archive).
               existing.etag == (entry.multipartETag.isEmpty ? entry.fileMD5 : entry.multipartETag) || (config.s3OpaqueETags && !entry.fileMD5.isEmpty) {
                lock.lock(); summary.skipped += 1; lock.unlock()
                skipped.append(job.cacheKey)
                display.log(.info, "skipped", [("dump", job.stem), ("reason", "cached size and ETag match the object")])
                display.completed("skipped   \(job.stem)", bytes: 0, rows: 0)
                continue
            }
            work.append(job)
        }
        recordSkips(skipped)
        skipped = []

        if hybrid && !config.dryRun { try createScratch(connection, count: min(config.workers, max(1, work.count))) }
        task { $0.currentTask = "dumping"; $0.totalSlices = Int64(jobs.count) }
        let workerCount = min(config.workers, max(work.count, 1), hybrid ? max(scratch.count, 1) : Int.max)
        if config.workers > workerCount && !hybrid && config.table == nil && !config.splitTables {
            display.log(.info, "one worker: the whole database is one pg_dump -Fc, which cannot run jobs in parallel; "
                        + "--split-tables dumps each table in parallel under one snapshot",
                        [("requested", "\(config.workers)"), ("workers", "\(workerCount)")])
        }
        display.log(.info, "dumping", [("objects", "\(jobs.count)"), ("to_process", "\(work.count)"), ("workers", "\(workerCount)")])
        WorkQueue(work).drain(workers: workerCount, stopping: { [self] in isStopping }) { [self] job, worker in
            process(job, worker: worker)
        }
        // The exported snapshot must stay valid until every dump that uses it has started; hold it to the end.
        withExtendedLifetime(snapshotHolder) {}
        withExtendedLifetime(connection) {}
        return finalSummary()
    }

    func fail(_ job: DumpJob, stage: String, message: String) {
        let text = invocation.mask(message)
        lock.lock()
        summary.failed += 1
        summary.failures.append("\(job.stem): \(text)")
        lock.unlock()
        _ = try? cache.updateEntry(scope, key: job.cacheKey) { entry in
            entry.s3Key = job.key
            entry.recordError(kind: stage, message: text, at: .now())
        }
        display.log(.error, "dump failed", [("dump", job.stem), ("error", text)])
        display.completed("FAILED    \(job.stem)", bytes: 0, rows: 0)
    }
}
