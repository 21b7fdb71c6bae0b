import ArchiverConfig
import FoundationEssentials
import PGAccess
import PGLoad
import RowStream
import RunDisplay
import ToolSupport
import TypeRules

/// What a restore learns before it loads any file: each file's schema sidecar, the one table
/// definition that holds every archived version (docs/types.md, "Schema evolution"), and which
/// files the load ledger records as loaded already (docs/restore-ledger.md).
struct RestorePlan: Sendable {
    /// Object key → the local path of its sidecar (nil: the object names none).
    var sidecarPaths: [String: String?] = [:]
    /// Object key → why its sidecar could not be fetched (that file fails).
    var sidecarFailures: [String: String] = [:]
    /// The joined definition's local path, handed to every pg-load (nil without any sidecar).
    var definitionPath: String?
    /// One line per type decision of the join.
    var decisions: [String] = []
}

extension RestoreRun {
    /// Fetches every file's sidecar (in parallel), joins the versions and writes the definition
    /// beside them; a failed fetch fails that file later, versions that cannot be joined fail the run.
    func planDefinition(_ files: [RestoreFile], workers: Int) throws -> RestorePlan {
        final class Collected: @unchecked Sendable {
            let lock = Lock()
            var plan = RestorePlan()
        }
        let collected = Collected()
        WorkQueue(files).drain(workers: max(1, min(workers, 8)), stopping: { [self] in isStopping }) { [self] file, _ in
            do {
                let path = try sidecars.path(for: file.key, table: config.table!, template: config.pathTemplate!)
                collected.lock.lock(); collected.plan.sidecarPaths[file.key] = .some(path); collected.lock.unlock()
            } catch {
                collected.lock.lock(); collected.plan.sidecarFailures[file.key] = "\(error)"; collected.lock.unlock()
            }
        }
        var plan = collected.plan
        // Versions: one per distinct sidecar, labelled by its hash and the windows it covers.
        var keysByPath: [String: [String]] = [:]
        for (key, path) in plan.sidecarPaths { if let path { keysByPath[path, default: []].append(key) } }
        var versions: [SchemaVersion] = []
        for (path, keys) in keysByPath {
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else { throw OrchestratorError("could not read the fetched sidecar \(path)") }
            let schema: RowStreamSchema
            do {
                schema = try data.withUnsafeBytes { try RowStreamSchema.decode(json: $0) }
            } catch {
                throw OrchestratorError("the schema sidecar of \(keys.sorted()[0]) is not a schema: \(error)")
            }
            let hash = String(path.split(separator: "/").last?.split(separator: ".").first ?? "")
            let sorted = keys.map { String($0.split(separator: "/").last ?? "") }.sorted()
            let span = sorted.count == 1 ? sorted[0] : "\(sorted.count) objects, \(sorted.first!) … \(sorted.last!)"
            versions.append(SchemaVersion(label: "\(hash) [\(span)]", schema: schema))
        }
        guard !versions.isEmpty else { return plan }
        let joined: JoinedSchema
        do {
            joined = try SchemaJoin.join(versions)
        } catch let error as SchemaJoinError {
            throw OrchestratorError(error.message)
        }
        plan.decisions = joined.decisions
        let path = sidecars.folder + "/definition.json"
        try Data(try joined.schema.encodedJSON()).write(to: URL(fileURLWithPath: path), options: .atomic)
        plan.definitionPath = path
        if versions.count > 1 {
            display.log(.info, "joined archived versions of the table", [("versions", "\(versions.count)")])
        }
        for decision in joined.decisions { display.log(.info, "type decision: " + decision) }
        return plan
    }

    /// The files to load: those the load ledger does not record, all of them with `--reload`
    /// (pg-load then warns of each one loaded before). Recorded files are skipped and counted;
    /// one whose ETag changed since it was loaded is reported.
    func skipRecorded(_ files: [RestoreFile]) throws -> [RestoreFile] {
        let recorded = try recordedLoads()
        if recorded.isEmpty || config.reload { return files }
        var loading: [RestoreFile] = []
        for file in files {
            guard let entry = recorded[file.key] else {
                loading.append(file)
                continue
            }
            lock.lock()
            if entry.etag == file.etag { summary.alreadyRestored += 1 } else { summary.changedSinceRestored += 1 }
            lock.unlock()
            if entry.etag == file.etag {
                display.log(.info, "skipped: restored before", [("file", file.key), ("restored", entry.loadedAt), ("rows", "\(entry.rows)")])
            } else {
                display.log(.warn, "skipped: the object changed since it was restored (give --reload to load it again)",
                            [("file", file.key), ("restored", entry.loadedAt), ("etag_then", entry.etag), ("etag_now", file.etag)])
            }
            display.completed("skipped   \(file.name)", bytes: 0, rows: 0)
        }
        return loading
    }

    /// The objects the load ledger of the target records: key → ETag and load time. Empty when
    /// the target database has no ledger yet.
    /// Without a ledger, the role must be able to create it (a restore that could not record
    /// its loads could not keep a repeated restore from duplicating rows).
    func recordedLoads() throws -> [String: Ledger.Entry] {
        let connection = try connect(config)
        let schema = config.dbSchema
        do {
            if try !Ledger.exists(connection, schema: schema), !config.dryRun,
               try connection.query("SELECT has_schema_privilege($1, 'CREATE')", [schema]).first?.first != "t" {
                throw OrchestratorError("the load ledger \(schema).\(Ledger.table) does not exist and the role may not CREATE in schema \"\(schema)\": "
                                        + "create it once as its owner (docs/restore-ledger.md) or grant CREATE")
            }
            return try Ledger.entries(connection, schema: schema, target: schema + "." + (config.targetTable ?? config.table!))
        } catch let error as OrchestratorError {
            throw error
        } catch {
            throw OrchestratorError("could not read the load ledger: \(error)")
        }
    }

    /// A dry run's DDL (types and table pg-load would create), logged once per run.
    func logDDL(_ statements: [String]) {
        lock.lock()
        let first = !ddlLogged
        ddlLogged = true
        lock.unlock()
        guard first else { return }
        for statement in statements {
            display.log(.info, "dry run: would run", [("sql", statement.split(separator: "\n").map { $0.drop { $0 == " " } }.joined(separator: " "))])
        }
    }
}
