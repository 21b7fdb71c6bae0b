import ArchiveCache
import ArchiveLayout
import ArchiverConfig
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import PGAccess
import Pipelines
import RunDisplay
import SlicePlan

/// A pg_dump `-t` pattern naming exactly one relation (double quotes make every character literal).
func exactPattern(schema: String, relation: String) -> String { SQL.qualified(schema, relation) }

extension DumpRun {
    /// pg_dump's flags for the mode of a whole or table dump.
    var modeArguments: [String] {
        switch config.dumpMode {
        case .schemaOnly: ["--schema-only"]
        case .dataOnly: ["--data-only"]
        case .schemaAndData: []
        }
    }

    var modePart: DumpLayout.Part {
        switch config.dumpMode {
        case .schemaOnly: .schema
        case .dataOnly: .data
        case .schemaAndData: .all
        }
    }

    /// A job for a whole dump named `name` (timestamped, never skipped).
    func wholeJob(name: String, part: DumpLayout.Part, arguments: [String]) -> DumpJob {
        let key = DumpLayout.wholeKey(template: config.pathTemplate!, name: name, part: part, time: runTime)
        let file = String(key.split(separator: "/").last!.dropLast(".dump".count))
        return DumpJob(stem: file, key: key, cacheKey: "\(name):\(file)", arguments: arguments, skippable: false)
    }

    /// The jobs for `--table`: the table whole, or its schema and one data dump per window.
    func tableJobs(table: String, connection: PGConnection) throws -> [DumpJob] {
        let schema = config.dbSchema
        // A plain table has windows only through a date column; without one it is dumped whole.
        let hasChildren = try !connection.query("SELECT 1 FROM pg_inherits WHERE inhparent = $1::regclass LIMIT 1",
                                                [exactPattern(schema: schema, relation: table)]).isEmpty
        let windowed = hybrid || (config.startDate != nil && (config.dateColumn != nil || hasChildren))
        if !windowed && config.startDate != nil {
            display.log(.warn, "a plain table without --date-column has no windows: the date range does not apply, the table is dumped whole",
                        [("table", table)])
        }
        if !windowed {
            // The table whole; PostgreSQL 15's `-t parent` dumps no partition data, so name every partition.
            var args = modeArguments + ["-t", exactPattern(schema: schema, relation: table)]
            if config.dumpMode != .schemaOnly {
                let partitions = try connection.query("""
                    WITH RECURSIVE tree(oid) AS (
                      SELECT $1::regclass::oid
                      UNION ALL SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
                    SELECT n.nspname, c.relname FROM tree JOIN pg_class c ON c.oid = tree.oid
                      JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE c.oid <> $1::regclass ORDER BY 1, 2
                    """, [exactPattern(schema: schema, relation: table)])
                for row in partitions { args += ["-t", exactPattern(schema: row[0] ?? "", relation: row[1] ?? "")] }
                if !partitions.isEmpty { args.append("--load-via-partition-root") }
            }
            return [wholeJob(name: table, part: modePart, arguments: args)]
        }
        var jobs: [DumpJob] = []
        let template = config.pathTemplate!
        if hybrid || config.dumpMode != .dataOnly {
            // The parent's schema once; partitions share it and are not dumped separately.
            jobs.append(DumpJob(stem: "\(table)-schema", key: DumpLayout.schemaKey(template: template, table: table),
                                cacheKey: "\(table):schema",
                                arguments: ["--schema-only", "-t", exactPattern(schema: schema, relation: table)], skippable: true))
        }
        if !hybrid && config.dumpMode == .schemaOnly { return jobs }
        display.log(.info, "planning", [("table", table), ("duration", config.outputDuration.rawValue)])
        let planned = try invocation.planSlices(count: "none", display: display)
        reportUnwindowed(planned.unwindowed)
        noteUnindexed(planned.unindexed)
        for relation in planned.unplanned where relation.slices.isEmpty {
            let name = "\(relation.source.schema).\(relation.source.relation)"
            jobs.append(DumpJob(stem: name, key: "", cacheKey: "\(table):unplanned:\(name)", arguments: [],
                                skippable: false, error: relation.error))
        }
        if let failure = planned.unexplainedFailure {
            jobs.append(DumpJob(stem: table, key: "", cacheKey: "\(table):planning", arguments: [], skippable: false, error: failure))
        }
        for plan in planned.slices {
            let key = DumpLayout.windowKey(template: template, table: table, label: plan.label, year: plan.parts.YYYY,
                                           month: plan.parts.MM, day: plan.parts.DD, hour: plan.parts.HH)
            var job = DumpJob(stem: plan.stem, key: key, cacheKey: "\(table):\(plan.label)", arguments: [],
                              skippable: !plan.open, error: plan.error)
            let sources = plan.sources
            if hybrid {
                job.fill = plan
                job.arguments = ["--data-only", "-t", exactPattern(schema: schema, relation: table)]
            } else if let cut = sources.first(where: { $0.column != nil }) {
                job.error = job.error ?? "window \(plan.label) needs only some rows of \(cut.schema).\(cut.relation) (a DEFAULT or split "
                    + "partition, a plain table, or a cut by the date range); pg_dump cannot filter rows: use dump-hybrid"
            } else {
                job.arguments = ["--data-only", "--load-via-partition-root"]
                    + sources.flatMap { ["-t", exactPattern(schema: $0.schema, relation: $0.relation)] }
            }
            jobs.append(job)
        }
        return jobs
    }

    /// The jobs for the whole database: one object, or with `--split-tables` one per table plus
    /// the schema, all under one exported snapshot (the returned connection holds it open).
    func databaseJobs(database: String) throws -> ([DumpJob], PGConnection?) {
        guard config.splitTables else {
            return ([wholeJob(name: database, part: modePart, arguments: modeArguments)], nil)
        }
        let holder = try PGConnection(connectionParameters(config))
        try holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        guard let snapshot = try holder.query("SELECT pg_export_snapshot()").first?[0] ?? nil else {
            throw OrchestratorError("could not export a snapshot")
        }
        var jobs: [DumpJob] = []
        if config.dumpMode != .dataOnly {
            jobs.append(wholeJob(name: database, part: .schema, arguments: ["--schema-only", "--snapshot", snapshot]))
        }
        if config.dumpMode != .schemaOnly {
            // Every table that holds rows (leaf partitions included), read under the same snapshot.
            let tables = try holder.query("""
                SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
                ORDER BY 1, 2
                """)
            for row in tables {
                let schema = row[0] ?? "", relation = row[1] ?? ""
                let name = schema == config.dbSchema ? relation : "\(schema).\(relation)"
                jobs.append(wholeJob(name: name, part: .data, arguments: [
                    "--data-only", "--snapshot", snapshot, "-t", exactPattern(schema: schema, relation: relation)]))
            }
        }
        return (jobs, holder)
    }

    /// `pg_dump -Fc -Z N` with the connection flags (password only in the environment).
    func pgDumpCommand(_ job: DumpJob, database: String?) -> Command {
        var args = ["--format=custom", "--compress=\(config.dumpCompressionLevel)", "--no-password",
                    "--host", config.dbHost, "--port", String(config.dbPort)]
        if let user = config.dbUser { args += ["--username", user] }
        if let name = database ?? config.dbName { args += ["--dbname", name] }
        return Command(executable: programs!.pgDump, arguments: args + job.arguments, environment: clientEnvironment("pg_dump"))
    }

    /// The environment of the PostgreSQL client programs: the children's, with libpq's settings.
    func clientEnvironment(_ program: String) -> [String: String] {
        invocation.environment(for: program, extra: ["PGSSLMODE": config.dbSSLMode, "PGAPPNAME": "data-archiver", "PGTZ": "UTC",
                                                     "PGCONNECT_TIMEOUT": "30"])
    }

    /// pg_dump | tee (→ pg_restore -f /dev/null) | s3put, with the commit gate.
    func dumpStages(_ job: DumpJob, database: String?) -> [Stage] {
        let verify = Branch(name: "pg_restore", command: Command(executable: programs!.pgRestore, arguments: ["--file=/dev/null"],
                                                                 environment: clientEnvironment("pg_restore")))
        var put = invocation.putArguments + ["--key", job.key, "--content-type", "application/octet-stream"]
        if config.dryRun { put.append("--dry-run") }
        return [
            Stage(name: "pg_dump", command: pgDumpCommand(job, database: database), reportsProgress: false),
            Stage(name: "tee", command: Command(executable: programs!.tee, arguments: ["/dev/fd/5"], environment: [:]),
                  reportsProgress: false, branch: verify),
            Stage(name: "s3put", command: invocation.command("s3put", put), commitGate: !config.dryRun),
        ]
    }

    /// Runs one dump (after filling the scratch table for dump-hybrid) and records the result.
    func process(_ job: DumpJob, worker: Int) {
        display.setWorker(worker, WorkerState(slice: job.stem, stage: job.fill == nil ? "dumping" : "copying", expectedRows: nil,
                                              started: Double(monotonicNanosecondsNow()) / 1e9))
        task { $0.currentPartition = job.stem; $0.currentStep = "dumping" }
        defer { display.setWorker(worker, nil) }
        var database: String?
        if let plan = job.fill {
            if config.dryRun {
                display.log(.info, "dry run: would copy the window into a scratch table and dump it",
                            [("dump", job.stem), ("key", job.key), ("sources", "\(plan.sources.count)")])
                display.completed("dry-run   \(job.stem)", bytes: 0, rows: 0)
                record(.dryRun, rows: 0, bytes: 0)
                return
            }
            do {
                try fillScratch(scratch[worker], plan: plan)
            } catch {
                if !isStopping { fail(job, stage: "copy", message: "\(error)") }
                return
            }
            database = scratch[worker]
            display.updateWorker(worker, stage: "dumping")
        }
        let stages = dumpStages(job, database: database)
        if config.debug {
            let line = stages.map { invocation.mask($0.command.shellLine()) + ($0.branch != nil ? " (and pg_restore --file=/dev/null)" : "") }
                .joined(separator: " | ")
            display.log(.debug, "pipeline", [("dump", job.stem), ("command", line)])
        }
        let pipeline = Pipeline(stages: stages)
        guard register(pipeline) else { return }
        defer { unregister(pipeline) }
        pipeline.onProgress = { [display] stage, fields in
            if logRetryEvent(display, stage: stages[stage].name, fields: fields, context: [("dump", job.stem)]) { return }
            if stage == 2 { display.updateWorker(worker, stage: "uploading", uploadedBytes: fields["bytes"]?.integer) }
        }
        pipeline.onErrorLine = { [display, invocation] stage, line in
            display.log(stderrLevel(line), invocation.mask(line), [("dump", job.stem), ("stage", stage < stages.count ? stages[stage].name : "pg_restore")])
        }
        let result: PipelineResult
        do {
            result = try pipeline.run()
            account(result)
        } catch {
            fail(job, stage: "start", message: "\(error)")
            return
        }
        if isStopping && !result.succeeded { return }
        guard result.succeeded else {
            fail(job, stage: result.cause?.name ?? "dump", message: result.failure ?? "failed")
            if result.refusedCredentials { stopForRefusedCredentials() }
            return
        }
        let line = String(decoding: result.output, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        let upload: UploadResult
        do {
            upload = try UploadResult.parse(Array(line.utf8), source: "s3put result for \(job.stem)")
        } catch {
            fail(job, stage: "s3put", message: "\(error)")
            return
        }
        if config.dryRun {
            display.log(.info, "dry run: not uploaded", [("dump", job.stem), ("key", job.key), ("size", "\(upload.size)")])
            display.completed("dry-run   \(job.stem)  \(formatBytes(upload.size))", bytes: upload.size, rows: 0)
            record(.dryRun, rows: 0, bytes: upload.size)
            return
        }
        do {
            _ = try cache.updateEntry(scope, key: job.cacheKey) { entry in
                upload.apply(to: &entry, now: .now(), processStart: started)
            }
        } catch {
            display.log(.warn, "could not record the result in the cache: \(error)", [("dump", job.stem)])
        }
        display.log(.info, "uploaded", [("dump", job.stem), ("key", job.key), ("size", "\(upload.size)"), ("etag", upload.etag)])
        display.completed("uploaded  \(job.stem)  \(formatBytes(upload.size))", bytes: upload.size, rows: 0)
        record(.uploaded, rows: 0, bytes: upload.size)
    }
}
