import ArchiveCache
import ArchiveLayout
import ArchiverConfig
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Pipelines
import RunDisplay
import SlicePlan
import ToolSupport

/// What a run reports at its end: summary lines and the exit status (archive and restore alike).
public protocol RunReport: Sendable {
    /// The summary as lines for the display.
    var lines: [String] { get }
    /// The summary's figures for the `summary` log line of logfmt and JSON (numeric values).
    var fields: [(String, String)] { get }
    /// How many slices or files failed.
    var failed: Int { get }
    /// Whether the run was stopped (signal or `q`).
    var interrupted: Bool { get }
    /// Whether rows were left out without the user's leave (archive: rows in no window).
    var incomplete: Bool { get }
    /// Whether a stage's credentials were refused (it exited 6): the run stopped at once.
    var authenticationRefused: Bool { get }
}

extension RunReport {
    /// Nothing was left out.
    public var incomplete: Bool { false }

    /// 0 when nothing failed, 1 when anything did (or rows were left out), 6 when credentials
    /// were refused, 130 when interrupted.
    public var exitStatus: ExitStatus {
        interrupted ? .interrupted : authenticationRefused ? .authentication : (failed > 0 || incomplete ? .failure : .ok)
    }
}

extension PipelineResult {
    /// Whether the stage named as the cause had its credentials refused (exit 6).
    var refusedCredentials: Bool { cause?.termination == .exited(ExitStatus.authentication.rawValue) }
}

extension RunSummary: RunReport {}

/// The end of a restore run.
public struct RestoreSummary: RunReport {
    public var files = 0, restored = 0, failed = 0, dryRun = 0
    /// Files the load ledger records as restored (skipped), and those changed since (skipped, reported).
    public var alreadyRestored = 0, changedSinceRestored = 0
    public var rowsRead: Int64 = 0, inserted: Int64 = 0, conflicts: Int64 = 0, bytes: Int64 = 0
    public var partitions = 0
    public var seconds = 0.0
    /// `key: stage (status): message` for each failed file.
    public var failures: [String] = []
    /// Whether the run was stopped (signal or `q`).
    public var interrupted = false
    /// Whether credentials were refused (the run stopped at once).
    public var authenticationRefused = false

    /// CPU time and peak memory of each kind of stage.
    public var stageUsage = StageUsageTotals()

    public var lines: [String] {
        let rate = seconds > 0 ? Double(rowsRead) / seconds : 0
        let dry = dryRun > 0 ? ", \(dryRun) dry-run" : ""
        let ledger = (alreadyRestored > 0 ? ", \(alreadyRestored) skipped (restored before)" : "")
            + (changedSinceRestored > 0 ? ", \(changedSinceRestored) skipped (changed since restored)" : "")
        var out = ["summary: \(counted(files, "file")): \(restored) restored, \(failed) failed\(dry)\(ledger); \(rowsRead) rows read, \(inserted) inserted, "
                   + "\(conflicts) conflicts; \(partitions) partitions created; \(formatBytes(bytes)) in \(formatDuration(seconds)) "
                   + "(\(TextFormat.fixed(rate, 0)) rows/s)"]
        out += stageUsage.line.map { [$0] } ?? []
        out += failures.map { "failed: " + $0 }
        return out
    }

    public var fields: [(String, String)] {
        [("files", "\(files)"), ("restored", "\(restored)"), ("failed", "\(failed)"), ("dry_run", "\(dryRun)"),
         ("rows", "\(rowsRead)"), ("inserted", "\(inserted)"), ("conflicts", "\(conflicts)"), ("partitions", "\(partitions)"),
         ("bytes", "\(bytes)"), ("seconds", TextFormat.fixed(seconds, 3))]
    }
}

/// `1 file`, `3 files`.
func counted(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }

/// pg-load's result line.
struct LoadLine: Decodable {
    var rows_read: Int64
    var inserted: Int64
    var conflicts: Int64
    var partitions_created: [String]
    var ledger: String?
    var ddl: [String]?
}

/// `data-archiver restore`: list, select by window, skip what the load ledger records, fetch
/// every file's schema and join the versions into one definition (RestoreDefinition.swift), run
/// `s3get | zcompress -d | rowfmt --to rowstream | pg-load` pipelines, summarise.
public final class RestoreRun: ArchiverRun, @unchecked Sendable {
    let invocation: ChildInvocation
    let display: RunDisplay
    var config: ArchiverConfiguration { invocation.config }
    let startClock = Date()
    let sidecars: SchemaSidecars
    let lock = Lock()
    var summary = RestoreSummary()
    let running = RunningPipelines()
    /// Sidecars and the joined definition, known before any file loads.
    var plan = RestorePlan()
    /// Whether a dry run's DDL was logged already.
    var ddlLogged = false

    /// A restore of `invocation` reporting to `display`, with its scratch files under `home`.
    public init(invocation: ChildInvocation, display: RunDisplay, home: ArchiveHome) {
        self.invocation = invocation
        self.display = display
        sidecars = SchemaSidecars(invocation: invocation, home: home)
    }

    public func stop() {
        lock.lock()
        summary.interrupted = true
        lock.unlock()
        running.stop()
    }

    public func waitForPipelines(seconds: Double) {
        running.waitUntilIdle(seconds: seconds)
    }

    var isStopping: Bool { running.isStopping }

    public func perform() throws -> any RunReport { try run() }

    /// Runs the whole restore; returns the summary (its `exitStatus` is the process's).
    public func run() throws -> RestoreSummary {
        let table = config.table!
        let prefix = ArchiveLayout.fixedPrefix(template: config.pathTemplate!, table: table)
        defer { sidecars.removeAll() }
        // Made now, so a killed earlier restore's scratch folder goes at once.
        _ = try sidecars.scratchFolder()
        let target = config.targetTable ?? table
        let facts = try restorePreflight(config, table: target, onRetry: logConnectionRetry(display))
        display.log(.info, "listing", [("prefix", prefix.isEmpty ? "(bucket root)" : prefix)])
        let listing = try invocation.listObjects(prefix: prefix)
        // Only restore's own flags override what each object's extension says: the same keys in
        // the YAML file or the environment describe how to archive (the seed's example sets them).
        let flagged = { (key: String) -> Bool in if case .flag = self.config.values[key]?.origin { true } else { false } }
        for key in ["output_format", "compression"] where !flagged(key) && config.values[key].map({ $0.origin != .builtIn }) == true {
            display.log(.debug, "ignoring an archive setting: restore detects it from each object's extension",
                        [("setting", key), ("origin", "\(config.values[key]!.origin)")])
        }
        let chosen = RestoreSelection.choose(listing, table: table, prefix: prefix, startDate: config.startDate, endDate: config.endDate,
                                             format: flagged("output_format") ? config.outputFormat.rawValue : nil,
                                             codec: flagged("compression") ? config.compression : nil)
        // Before --shard: two objects of one window may fall in different shards.
        let overlapping = RestoreSelection.overlaps(chosen)
        if let (first, second) = overlapping.first {
            let windows = "windows \(first.windowStart) to \(first.windowEnd) and \(second.windowStart) to \(second.windowEnd)"
            let more = overlapping.count > 1 ? "; \(overlapping.count) such pairs" : ""
            let remedy = "Keep one object per window under the prefix (the archive was run again with another "
                + "--output-format, --compression or --output-duration) and restore again"
            throw OrchestratorError("\(first.key) and \(second.key) hold the same rows (\(windows)\(more)): "
                + "restoring both would insert them twice; nothing was loaded. \(remedy)")
        }
        let files = chosen.filter { file in config.shard.map { $0.contains(stem: file.stem) } ?? true }
        summary.files = files.count
        display.setTotals(slices: files.count, rows: 0)
        // Each worker holds one connection: leave half of what the server can spare to others.
        let connectionCap = max(1, facts.spareConnections / 2)
        let workerCount = min(config.workers, max(files.count, 1), connectionCap)
        if config.workers > connectionCap && files.count > connectionCap {
            display.log(.warn, "fewer workers than asked: the server can spare few connections",
                        [("workers", "\(workerCount)"), ("spare_connections", "\(facts.spareConnections)")])
        }
        let loading = try skipRecorded(files)
        plan = try planDefinition(loading, workers: workerCount)
        display.log(.info, "restoring", [("files", "\(loading.count)"), ("listed", "\(listing.count)"), ("workers", "\(workerCount)"),
                                         ("target", target)])
        WorkQueue(loading).drain(workers: workerCount, stopping: { [self] in isStopping }) { [self] file, worker in
            process(file, worker: worker)
        }
        lock.lock()
        summary.seconds = Date().timeIntervalSince(startClock)
        let result = summary
        lock.unlock()
        return result
    }

    /// The stages that load one file.
    func stages(for file: RestoreFile, schemaPath: String?) -> [Stage] {
        var stages = [Stage(name: "s3get", command: invocation.command("s3get", invocation.storeArguments + ["--key", file.key]))]
        if file.codec != "none" {
            stages.append(Stage(name: "zcompress", command: invocation.command("zcompress", ["-d"])))
        }
        var convert = ["--from", file.format, "--to", "rowstream"]
        if let schemaPath { convert += ["--schema", schemaPath] }
        stages.append(Stage(name: "rowfmt", command: invocation.command("rowfmt", convert)))
        var load = ["--table", config.targetTable ?? config.table!, "--schema", config.dbSchema, "--create",
                    "--object-key", file.key, "--object-etag", file.etag]
        if let definition = plan.definitionPath { load += ["--definition", definition] }
        if config.allowLossyCast { load.append("--allow-lossy-cast") }
        if config.reload { load.append("--reload") }
        if config.generatedAsData { load.append("--generated-as-data") }
        if let range = config.tablePartitionRange {
            load += ["--table-partition-range", range.rawValue]
            if let template = config.tablePartitionTemplate { load += ["--table-partition-template", template] }
            if let column = config.dateColumn { load += ["--date-column", column] }
        }
        if config.dryRun { load.append("--dry-run") }
        // The gate: pg-load moves the rows into the table only after s3get verified the object's
        // content and every decoder exited 0 (a mismatch is found only at the end of the stream).
        stages.append(Stage(name: "pg-load", command: invocation.command("pg-load", load + invocation.connectionArguments), commitGate: true))
        return stages
    }

    /// Restores one file and records what happened.
    func process(_ file: RestoreFile, worker: Int) {
        // A Parquet file keeps its own types (its pgarchive.schema footer key); rowfmt refuses it
        // when that differs from the sidecar.
        let schemaPath: String?
        if let failure = plan.sidecarFailures[file.key] {
            fail(file, stage: "schema", message: failure)
            return
        }
        schemaPath = plan.sidecarPaths[file.key] ?? nil
        if schemaPath == nil && file.format != "parquet" {
            display.log(.warn, "no schema sidecar: column types are inferred from the data", [("file", file.key)])
        }
        var planned = stages(for: file, schemaPath: schemaPath)
        do {
            planned[planned.count - 1].command.arguments += try expectations(for: file)
        } catch {
            fail(file, stage: "manifest", message: "\(error)")
            return
        }
        let stages = planned
        if config.debug {
            let line = stages.map { invocation.mask($0.command.shellLine()) }.joined(separator: " | ")
            display.log(.debug, "pipeline", [("file", file.key), ("command", line)])
        }
        let pipeline = Pipeline(stages: stages)
        guard register(pipeline) else { return }
        defer { unregister(pipeline) }
        display.setWorker(worker, WorkerState(slice: file.name, stage: StageWatch.Direction.restore.waiting, expectedRows: nil,
                                              started: Double(monotonicNanosecondsNow()) / 1e9))
        // The real stage, by the same rule as the archive's (docs/progress.md).
        let watch = StageWatch(pipeline: pipeline, tools: stages.map(\.name), direction: .restore) { [display] next in
            display.updateWorker(worker, stage: next)
        }
        watch.start()
        defer { watch.stop() }
        let last = stages.count - 1
        pipeline.onProgress = { [display] stage, fields in
            if logRetryEvent(display, stage: stages[stage].name, fields: fields, context: [("file", file.key)]) { return }
            if stage == last { display.updateWorker(worker, rows: fields["rows"]?.integer) }
            if stage == 0 { display.updateWorker(worker, streamedBytes: fields["bytes"]?.integer) }
            watch.progress(stage: stage, fields: fields)
        }
        pipeline.onErrorLine = { [display, invocation] stage, line in
            display.log(stderrLevel(line), invocation.mask(line),
                        [("file", file.key), ("stage", stages[stage].name)])
        }
        let result: PipelineResult
        do {
            result = try pipeline.run()
            watch.stop()
            lock.lock()
            summary.stageUsage.add(result)
            lock.unlock()
        } catch {
            watch.stop()
            display.setWorker(worker, nil)
            fail(file, stage: "start", message: "\(error)")
            return
        }
        display.setWorker(worker, nil)
        if isStopping && !result.succeeded { return }
        guard result.succeeded else {
            let failedStage = result.cause?.name ?? "pipeline"
            fail(file, stage: failedStage, message: result.failure ?? "failed")
            if result.refusedCredentials {
                lock.lock()
                summary.authenticationRefused = true
                lock.unlock()
                display.log(.error, "stopping: the credentials were refused (never retried); no further file is restored")
                running.stop()
            }
            return
        }
        let text = String(decoding: result.output, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard let loaded = try? JSONDecoder().decode(LoadLine.self, from: Data(text.utf8)) else {
            fail(file, stage: "pg-load", message: "pg-load printed no result line: \(text.prefix(200))")
            return
        }
        if loaded.ledger == "already_loaded" || loaded.ledger == "changed" {
            // Another run loaded it between the ledger check and this load: nothing was inserted.
            lock.lock()
            if loaded.ledger == "changed" { summary.changedSinceRestored += 1 } else { summary.alreadyRestored += 1 }
            lock.unlock()
            display.log(.info, "skipped: restored before", [("file", file.key)])
            display.completed("skipped   \(file.name)", bytes: 0, rows: 0)
            return
        }
        if let ddl = loaded.ddl, !ddl.isEmpty { logDDL(ddl) }
        lock.lock()
        if config.dryRun { summary.dryRun += 1 } else { summary.restored += 1 }
        summary.rowsRead += loaded.rows_read
        summary.inserted += loaded.inserted
        summary.conflicts += loaded.conflicts
        summary.partitions += loaded.partitions_created.count
        summary.bytes += file.size
        lock.unlock()
        var fields = [("file", file.key), ("rows", "\(loaded.rows_read)"), ("inserted", "\(loaded.inserted)"),
                      ("conflicts", "\(loaded.conflicts)")]
        if !loaded.partitions_created.isEmpty { fields.append(("partitions", loaded.partitions_created.joined(separator: ","))) }
        display.log(.info, config.dryRun ? "dry run: checked, nothing changed" : "restored", fields)
        display.completed("\(config.dryRun ? "dry-run  " : "restored ") \(file.name)  \(loaded.rows_read) rows, \(loaded.inserted) new",
                          bytes: file.size, rows: loaded.rows_read)
    }

    func fail(_ file: RestoreFile, stage: String, message: String) {
        let text = invocation.mask(message)
        lock.lock()
        summary.failed += 1
        summary.failures.append("\(file.key): \(text)")
        lock.unlock()
        display.log(.error, "file failed", [("file", file.key), ("stage", stage), ("error", text)])
        display.completed("FAILED    \(file.name)", bytes: 0, rows: 0)
    }

    func register(_ pipeline: Pipeline) -> Bool { running.register(pipeline) }

    func unregister(_ pipeline: Pipeline) { running.unregister(pipeline) }
}

/// The schema sidecars of a restore: each object's `pgarchive-schema` metadata names one, fetched
/// once per hash into a private temporary folder.
final class SchemaSidecars: @unchecked Sendable {
    let invocation: ChildInvocation
    private let lock = Lock()
    private var paths: [String: String?] = [:]
    private var folder: String?

    private let home: ArchiveHome

    /// Sidecars fetched into a private folder under `home`'s `tmp/` (made on first use).
    init(invocation: ChildInvocation, home: ArchiveHome) {
        self.invocation = invocation
        self.home = home
    }

    /// The private folder, made on first use (clearing those of dead restores).
    func scratchFolder() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let folder { return folder }
        let made = try home.makeScratchFolder(prefix: "restore")
        folder = made
        return made
    }

    struct Head: Decodable { var metadata: [String: String]? }

    /// The local path of the schema for `key`, or nil when the object names none or its sidecar is gone.
    func path(for key: String, table: String, template: String) throws -> String? {
        let head = try invocation.capture("s3get", invocation.storeArguments + ["--head", "--key", key])
        guard head.termination.succeeded, let line = head.lines.last,
              let info = try? JSONDecoder().decode(Head.self, from: Data(line.utf8)) else {
            throw OrchestratorError("could not read the object's metadata: \(head.failure("s3get"))")
        }
        guard let hash = info.metadata?["pgarchive-schema"], !hash.isEmpty,
              hash.allSatisfy({ $0.isHexDigit }) else { return nil }
        lock.lock()
        if let known = paths[hash] { lock.unlock(); return known }
        lock.unlock()
        let sidecar = ArchiveLayout.schemaKey(template: template, table: table, hash: hash)
        let out = try invocation.capture("s3get", invocation.storeArguments + ["--key", sidecar])
        var path: String?
        if out.termination.succeeded {
            // The name and the data object's metadata both carry the hash of the sidecar's bytes:
            // a sidecar edited or damaged since would decode every file that names it wrongly.
            let actual = SchemaHash.of(out.output)
            guard actual == hash else {
                throw OrchestratorError("the schema sidecar \(sidecar) does not match its hash: its content hashes to \(actual), "
                                        + "its name and the object's pgarchive-schema metadata say \(hash) (edited or damaged); "
                                        + "refusing it, nothing of this file was loaded")
            }
            let file = try scratchFolder() + "/\(hash).json"
            try Data(out.output).write(to: URL(fileURLWithPath: file), options: .atomic)
            path = file
        } else if out.termination != .exited(3) {
            throw OrchestratorError("could not fetch the schema \(sidecar): \(out.failure("s3get"))")
        }
        lock.lock()
        paths[hash] = path
        lock.unlock()
        return path
    }

    /// Removes the fetched sidecars.
    func removeAll() {
        lock.lock()
        let made = folder
        lock.unlock()
        if let made { removeTree(made) }
    }
}
