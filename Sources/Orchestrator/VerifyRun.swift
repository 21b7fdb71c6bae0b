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

/// What `verify` found for one slice (man/data-archiver.1, VERIFY).
public enum VerifyState: String, CaseIterable, Sendable {
    case ok, empty, missing, corrupt, differs
    case sourceChanged = "source changed"
    case unverifiable

    /// Whether the slice counts as verified (an empty window without an object is).
    public var isGood: Bool { self == .ok || self == .empty }
}

/// The end of a verify run.
public struct VerifySummary: RunReport {
    public var counts: [VerifyState: Int] = [:]
    public var slices = 0
    public var seconds = 0.0
    public var interrupted = false
    public var authenticationRefused = false
    public var failed: Int { counts.filter { !$0.key.isGood }.values.reduce(0, +) }

    /// The figures of the `summary` log line: one count per state (`source changed` as `source_changed`).
    public var fields: [(String, String)] {
        [("slices", "\(slices)")] + VerifyState.allCases.map { ($0.rawValue.replacing(" ", with: "_"), "\(counts[$0] ?? 0)") }
            + [("failed", "\(failed)"), ("seconds", TextFormat.fixed(seconds, 3))]
    }

    public var lines: [String] {
        let parts = VerifyState.allCases.map { "\(counts[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
        return ["summary: \(slices) slices verified: \(parts) in \(formatDuration(seconds))"]
    }
}

/// One slice to verify: whatever the listing, the cache and the plan know of it.
struct VerifyItem: Sendable {
    /// The data object's file name (`flights-2024-01-05.jsonl.zst`).
    var fileName: String
    /// The window's stem (`flights-2024-01-05`), shared by its object and its late objects.
    var stem: String
    /// 0 for the window's object, 1, 2, … for its late objects (docs/retire.md, "Late rows").
    var generation = 0
    /// What the slice's line calls it: the stem, with `.late-<n>` for a late object.
    var name: String { generation == 0 ? stem : stem + ArchiveLayout.lateMarker + String(generation) }
    /// The data object's key, when known (listing, cache, manifest or plan).
    var key: String?
    var object: ListedObject?
    var manifestKey: String?
    var entry: CacheEntry?
    var plan: Slice?
}

/// `data-archiver verify`: checks every slice of the range against its manifest, the cache and,
/// on request, its own content (`--deep`) and its source rows (`--against-source`).
public class VerifyRun: OrchestratedRun, ArchiverRun, @unchecked Sendable {
    private var verified = VerifySummary()
    private let output = FileSink.standardOutput()
    /// On a terminal the live display owns the screen: the slice lines wait for its end.
    private let holdLines = isatty(1) == 1
    private var heldLines: [String] = []

    /// A verify of `invocation` reporting to `display`; it reads the archive's cache.
    public init(invocation: ChildInvocation, display: RunDisplay, home: ArchiveHome) {
        let c = invocation.config
        super.init(invocation: invocation, display: display, home: home,
                   scope: CacheScope(command: "archive", table: c.table ?? "", bucket: c.s3Bucket ?? "", pathTemplate: c.pathTemplate ?? ""))
    }

    public func perform() throws -> any RunReport { try run() }

    /// Runs the whole verify; returns the summary (exit 0 only when every slice is ok or empty).
    public func run() throws -> VerifySummary {
        let items = try collect()
        verified.slices = items.count
        display.setTotals(slices: items.count, rows: 0)
        display.log(.info, "verifying", [("slices", "\(items.count)"), ("deep", "\(config.verifyDeep)"),
                                         ("against_source", "\(config.verifyAgainstSource)")])
        let sidecars = SchemaSidecars(invocation: invocation, home: home)
        defer { sidecars.removeAll() }
        WorkQueue(items).drain(workers: min(config.workers, max(items.count, 1)), stopping: { [self] in isStopping }) { [self] item, _ in
            let (state, detail, manifest) = check(item, sidecars: sidecars)
            report(item, state: state, detail: detail, manifest: manifest)
        }
        if holdLines {
            display.finish(summary: [])
            lock.lock()
            let lines = heldLines.sorted()
            lock.unlock()
            try? output.write(lines.joined())
            try? output.flush()
        }
        lock.lock()
        defer { lock.unlock() }
        verified.seconds = Date().timeIntervalSince(startClock)
        verified.interrupted = summary.interrupted
        return verified
    }

    /// The union of the data objects and manifests in the listing, the cache's entries and (with
    /// `--against-source`) the plan, restricted to the date range, by file name.
    func collect() throws -> [VerifyItem] {
        let table = config.table!
        let template = config.pathTemplate!
        let prefix = ArchiveLayout.fixedPrefix(template: template, table: table)
        let listing = try invocation.listObjects(prefix: prefix)
        var items: [String: VerifyItem] = [:]
        func item(_ name: String) -> VerifyItem? {
            if let known = items[name] { return known }
            guard let parsed = ArchivedFileName(name, table: table), inRange(parsed.label) else { return nil }
            return VerifyItem(fileName: name, stem: parsed.stem, generation: parsed.generation)
        }
        for file in RestoreSelection.choose(listing, table: table, prefix: prefix, startDate: config.startDate, endDate: config.endDate,
                                            format: nil, codec: nil) {
            guard var i = item(file.name) else { continue }
            i.key = file.key
            i.object = listing[file.key]
            items[file.name] = i
        }
        let manifestPrefix = ArchiveLayout.manifestPrefix(template: template, table: table)
        for key in listing.keys where key.hasPrefix(manifestPrefix) {
            guard let name = ArchiveLayout.manifestFileName(manifestKey: key, template: template, table: table), var i = item(name) else { continue }
            i.manifestKey = key
            items[name] = i
        }
        for (key, entry) in try cache.load(scope).entries {
            let name = String(key.split(separator: "/").last ?? "")
            guard var i = item(name) else { continue }
            i.key = i.key ?? key
            i.entry = entry
            items[name] = i
        }
        if config.verifyAgainstSource || config.command == .retire {
            // Rows in no window are archive's concern (it reports them); verify checks the windows.
            let planned = try invocation.planSlices(count: "none", display: display)
            var byStem: [String: [String]] = [:]
            for i in items.values { byStem[i.stem, default: []].append(i.fileName) }
            for plan in planned.slices {
                // The plan names the window; the object may be in any format: match by stem first.
                // A window's late objects share its plan: the rows PostgreSQL holds for the window
                // are the unretired late generation's (docs/retire.md, "Late rows").
                let key = objectKey(plan)
                let name = String(key.split(separator: "/").last ?? "")
                for match in byStem[plan.stem] ?? [name] {
                    guard var i = items[match] ?? item(match) else { continue }
                    i.key = i.key ?? key
                    i.plan = plan
                    items[match] = i
                }
            }
        }
        // A wrong prefix, table or range must not look green to a cron job: nothing to check is an
        // error, before the shard's share (one shard may hold none of a few slices).
        if items.isEmpty { throw nothingSelected(prefix: prefix) }
        // `--shard I/N`: only the slices whose stem hashes to this shard (docs/shard.md).
        let shard = config.shard
        return items.values.filter { shard?.contains(stem: $0.stem) ?? true }
            .sorted { ($0.stem, $0.generation, $0.fileName) < ($1.stem, $1.generation, $1.fileName) }
    }

    /// The one-line error of a selection that holds nothing (exit 1, man/data-archiver.1):
    /// verify found no object, manifest or cache entry; retire found no window at all (a window
    /// that is kept or empty is a selection, and fine).
    func nothingSelected(prefix: String) -> OrchestratorError {
        let range = switch (config.startDate, config.endDate) {
        case let (start?, end?): "from \(start) to \(end)"
        case let (start?, nil): "from \(start) on"
        case let (nil, end?): "up to \(end)"
        case (nil, nil): "at any date"
        }
        let what = config.command == .retire ? "nothing to retire: no window (object, manifest, cache entry or planned partition)"
            : "nothing to verify: no object, manifest or cache entry" + (config.verifyAgainstSource ? " and no planned window" : "")
        return OrchestratorError("\(what) of table \(config.table!) under \(invocation.destination(prefix: prefix)) \(range) "
                                 + "(check --table, --path-template, --s3-bucket and the dates)")
    }

    /// Whether a window label lies in `[start-date, end-date]` (overlapping it).
    func inRange(_ label: String) -> Bool {
        guard let window = WindowLabel(label) else { return false }
        if let start = config.startDate.flatMap({ WindowLabel($0)?.start }), window.end <= start { return false }
        if let end = config.endDate.flatMap({ WindowLabel($0)?.end }), window.start >= end { return false }
        return true
    }

    /// The key the archive would give a planned slice with this run's format and codec.
    func objectKey(_ plan: Slice) -> String {
        let prefix = ArchiveLayout.render(template: config.pathTemplate!, table: plan.table, year: plan.parts.YYYY, month: plan.parts.MM,
                                          day: plan.parts.DD, hour: plan.parts.HH)
        let codecExtension = ["zstd": ".zst", "lz4": ".lz4", "gzip": ".gz", "none": ""][config.compression] ?? ""
        return ArchiveLayout.key(prefix: prefix, fileName: plan.stem + ArchiveLayout.fileExtension(
            format: config.outputFormat.rawValue, codecExtension: codecExtension))
    }

    /// Checks one slice: its state, a detail for the line, and its manifest when read.
    func check(_ item: VerifyItem, sidecars: SchemaSidecars) -> (VerifyState, String, SliceManifest?) {
        let manifest: SliceManifest?
        do {
            manifest = try item.manifestKey.map { try invocation.fetchManifest(key: $0) } ?? nil
        } catch {
            return (.corrupt, "\(error)", nil)
        }
        guard let object = item.object, let key = item.key else {
            if let manifest { return (.missing, "the manifest names \(manifest.key) (\(manifest.rows) rows), which is not in the store", manifest) }
            if let entry = item.entry, entry.s3Uploaded { return (.missing, "the cache records \(item.key ?? item.fileName) as uploaded", nil) }
            if config.verifyAgainstSource, let plan = item.plan {
                switch sourceDigest(plan) {
                case .success(let d) where d.rows == 0: return (.empty, "no rows in the source, no object", nil)
                case .success(let d): return (.missing, "the source has \(d.rows) rows in this window and there is no object", nil)
                case .failure(let error): return (.missing, "no object, and the source could not be read: \(error)", nil)
                }
            }
            return (.empty, "no object and nothing recorded", nil)
        }
        guard let manifest else {
            return (.unverifiable, "no manifest (archived before row digests, or by another tool): re-archive the window with --force", nil)
        }
        if manifest.key != key {
            return (.corrupt, "the manifest describes \(manifest.key), not \(key)", manifest)
        }
        if !manifest.describes(object) {
            return (.corrupt, "the object (size \(object.size), ETag \(object.etag.trimmingQuotes)) is not the one its manifest describes "
                    + "(size \(manifest.size), ETag \(manifest.etag))", manifest)
        }
        let head: Head
        switch objectHead(key: key) {
        case .failure(let problem): return (.corrupt, problem.message, manifest)
        case .success(let h): head = h
        }
        if let problem = metadataProblem(head, manifest: manifest) { return (.corrupt, problem, manifest) }
        if let entry = item.entry, let problem = cacheDisagreement(entry, manifest, etagIsDigest: head.etag_is_digest ?? true) {
            return (.differs, problem, manifest)
        }
        if config.verifyDeep || config.command == .retire {
            switch contentDigest(item, manifest: manifest, sidecars: sidecars) {
            case .failure(let error): return (.corrupt, "\(error)", manifest)
            case .success(let d) where d.rows != manifest.rows || d.digest != manifest.digest:
                return (.corrupt, "the content has \(d.rows) rows, digest \(d.digest); the manifest says \(manifest.rows) rows, digest \(manifest.digest)", manifest)
            default: break
            }
        }
        if config.verifyAgainstSource, let retired = manifest.retired {
            // Its rows left PostgreSQL: what the window holds there now belongs to a late object.
            return (.ok, "\(manifest.rows) rows, digest \(manifest.digest); retired at \(retired.time.rfc3339) (\(retired.mode)): "
                    + "its rows are no longer in the source", manifest)
        }
        if config.verifyAgainstSource {
            guard let plan = item.plan else { return (.sourceChanged, "the source has no such window any more", manifest) }
            switch sourceDigest(plan, schemaHash: manifest.schemaHash, sidecars: sidecars, key: key) {
            case .failure(let error): return (.sourceChanged, "the source could not be read: \(error)", manifest)
            case .success(let d) where d.rows != manifest.rows || d.digest != manifest.digest:
                return (.sourceChanged, "the source has \(d.rows) rows, digest \(d.digest); archived: \(manifest.rows) rows, digest \(manifest.digest)", manifest)
            default: break
            }
        }
        return (.ok, "\(manifest.rows) rows, digest \(manifest.digest)", manifest)
    }

    /// What the cache says differently from the manifest (size, ETag, rows, digest), or nil.
    /// An object whose ETag is no digest of its content (SSE-KMS, SSE-C) has no ETag the cache's
    /// MD5 could equal: size, rows and digest decide.
    func cacheDisagreement(_ entry: CacheEntry, _ manifest: SliceManifest, etagIsDigest: Bool = true) -> String? {
        let etag = entry.multipartETag.isEmpty ? entry.fileMD5 : entry.multipartETag
        if entry.fileSize != manifest.size { return "the cache records size \(entry.fileSize), the manifest \(manifest.size)" }
        if !etag.isEmpty && etag != manifest.etag && (etagIsDigest || !entry.multipartETag.isEmpty) {
            return "the cache records ETag \(etag), the manifest \(manifest.etag)"
        }
        if !entry.digest.isEmpty && entry.digest != manifest.digest { return "the cache records digest \(entry.digest), the manifest \(manifest.digest)" }
        if !entry.digest.isEmpty && !manifest.open && entry.rowCount != manifest.rows {
            return "the cache records \(entry.rowCount) rows, the manifest \(manifest.rows)"
        }
        return nil
    }

    /// What `s3get --head` says of an object (man/s3get.1).
    struct Head: Decodable {
        var metadata: [String: String]?
        /// False with SSE-KMS or SSE-C (nil from an s3get that does not say).
        var etag_is_digest: Bool?
    }

    /// The object's metadata, or why it could not be read.
    func objectHead(key: String) -> Result<Head, OrchestratorError> {
        guard let head = try? invocation.capture("s3get", invocation.storeArguments + ["--head", "--key", key]) else {
            return .failure(OrchestratorError("could not read the object's metadata"))
        }
        guard head.termination.succeeded, let line = head.lines.last,
              let info = try? JSONDecoder().decode(Head.self, from: Data(line.utf8)) else {
            return .failure(OrchestratorError("could not read the object's metadata: \(head.failure("s3get"))"))
        }
        return .success(info)
    }

    /// A disagreement between the object's own metadata and its manifest, or nil.
    func metadataProblem(_ info: Head, manifest: SliceManifest) -> String? {
        if let schema = info.metadata?["pgarchive-schema"], schema != manifest.schemaHash {
            return "the object's metadata names schema \(schema), its manifest \(manifest.schemaHash)"
        }
        return nil
    }

    /// Rows and digest as a tool's final progress line reports them.
    struct Counted { var rows: Int64; var digest: String }

    /// Downloads, decompresses and decodes the object, and returns rowfmt's rows and digest.
    func contentDigest(_ item: VerifyItem, manifest: SliceManifest, sidecars: SchemaSidecars) -> Result<Counted, OrchestratorError> {
        var stages = [Stage(name: "s3get", command: invocation.command("s3get", invocation.storeArguments + ["--key", manifest.key]))]
        let outer = manifest.format == "parquet" ? "none" : manifest.codec
        if outer != "none" { stages.append(Stage(name: "zcompress", command: invocation.command("zcompress", ["-d"]))) }
        var convert = ["--from", manifest.format, "--to", "rowstream"]
        if manifest.format != "parquet" {
            do {
                guard let schema = try sidecars.path(for: manifest.key, table: config.table!, template: config.pathTemplate!) else {
                    return .failure(OrchestratorError("the object's schema sidecar is missing"))
                }
                convert += ["--schema", schema]
            } catch {
                return .failure(OrchestratorError("\(error)"))
            }
        }
        stages.append(Stage(name: "rowfmt", command: invocation.command("rowfmt", convert)))
        return runCounting(stages, what: "the content of \(manifest.key)")
    }

    /// Recomputes the digest of a planned slice's rows in PostgreSQL with pg-extract (the
    /// archive's code path), over the archived columns when the schema sidecar names them.
    func sourceDigest(_ plan: Slice, schemaHash: String? = nil, sidecars: SchemaSidecars? = nil, key: String? = nil) -> Result<Counted, OrchestratorError> {
        guard let json = try? plan.jsonLine() else { return .failure(OrchestratorError("could not encode the plan line")) }
        var args = ["--plan", json]
        if let sidecars, let key, let schema = try? sidecars.path(for: key, table: config.table!, template: config.pathTemplate!),
           let columns = archivedColumns(schema) {
            args += ["--columns", columns.joined(separator: ",")]
        }
        let stages = [Stage(name: "pg-extract", command: invocation.command("pg-extract", args + invocation.connectionArguments))]
        return runCounting(stages, what: "the source rows of \(plan.stem)")
    }

    /// The column names of a schema sidecar file, or nil when it does not parse.
    func archivedColumns(_ path: String) -> [String]? {
        struct Schema: Decodable { struct Column: Decodable { var name: String }; var columns: [Column] }
        guard let data = FileManager.default.contents(atPath: path),
              let schema = try? JSONDecoder().decode(Schema.self, from: data) else { return nil }
        return schema.columns.map(\.name)
    }

    /// Runs `stages` with the last one's output thrown away; its final progress line's rows and digest.
    func runCounting(_ stages: [Stage], what: String) -> Result<Counted, OrchestratorError> {
        let pipeline = Pipeline(stages: stages)
        guard register(pipeline) else { return .failure(OrchestratorError("stopped")) }
        defer { unregister(pipeline) }
        let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { if devNull >= 0 { close(devNull) } }
        let result: PipelineResult
        do {
            result = try pipeline.run(stdout: devNull)
        } catch {
            return .failure(OrchestratorError("\(what): \(error)"))
        }
        account(result)
        guard result.succeeded else { return .failure(OrchestratorError("\(what): \(invocation.mask(result.failure ?? "failed"))")) }
        let last = result.stages[result.stages.count - 1].lastProgress
        guard case .string(let digest)? = last["digest"], let rows = last["rows"]?.integer else {
            return .failure(OrchestratorError("\(what): \(stages.last!.name) reported no row digest"))
        }
        return .success(Counted(rows: rows, digest: digest))
    }

    /// Prints one slice's line (text or JSON) and counts it.
    func report(_ item: VerifyItem, state: VerifyState, detail: String, manifest: SliceManifest?) {
        let line: String
        if config.logFormat == .json {
            var fields = "{\"slice\":\(JSON.quote(item.name)),\"state\":\(JSON.quote(state.rawValue))"
            if let key = item.key { fields += ",\"key\":\(JSON.quote(key))" }
            if let manifest { fields += ",\"rows\":\(manifest.rows),\"digest\":\(JSON.quote(manifest.digest))" }
            line = fields + ",\"detail\":\(JSON.quote(invocation.mask(detail)))}\n"
        } else {
            line = "\(item.name) \(state.rawValue) \(invocation.mask(detail))\n"
        }
        lock.lock()
        verified.counts[state, default: 0] += 1
        if holdLines {
            heldLines.append(line)
        } else {
            try? output.write(line)
            try? output.flush()
        }
        lock.unlock()
        if !state.isGood { display.log(.warn, "slice \(state.rawValue)", [("slice", item.name), ("detail", invocation.mask(detail))]) }
        let label = state.rawValue + String(repeating: " ", count: max(1, 15 - state.rawValue.count))
        display.completed(label + item.name, bytes: 0, rows: manifest?.rows ?? 0)
    }
}
