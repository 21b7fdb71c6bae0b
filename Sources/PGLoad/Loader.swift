import PGAccess
import RowDigest
import RowStream
import ToolSupport

/// pg-load's work: one rowstream into one PostgreSQL table (man/pg-load.1).
///
/// Order: look the target up (create it under an advisory lock when asked), stage the rows with
/// `COPY … FROM STDIN (FORMAT binary)` into a temporary table, create the partitions the staged
/// rows need (each in its own short transaction under the same advisory lock), then move the rows
/// with one `INSERT … SELECT` transaction. A bad input fails before that transaction commits, so
/// it changes nothing in the target (a partition created for it may stay, empty).
public enum Loader {
    static let stage = "pgarchive_stage"

    /// Loads `input` per `request`; `warn` receives advice (no unique constraint, …).
    public static func load(_ request: LoadRequest, connection conn: PGConnection, input: RowStreamReader,
                            progress: ProgressReporter, warn: (String) -> Void) throws -> LoadResult {
        guard let schema = input.schema else {
            throw LoadError("the input carries no schema (a plain COPY BINARY stream): give pg-load a rowstream, e.g. through rowfmt --schema")
        }
        guard !schema.columns.isEmpty else { throw LoadError("the input's schema has no columns") }
        let tableName = request.table ?? schema.table.name
        var target = try TargetTable.lookUp(conn, schema: request.schema, name: tableName)
        var result = LoadResult(table: request.schema + "." + tableName)
        result.dryRun = request.dryRun

        let partitionColumn = try self.partitionColumn(request, schema: schema, target: target)
        let object = request.objectKey.map { "object \($0)" } ?? "the input"
        if !target.exists {
            guard request.create else {
                throw LoadError("table \(target.qualified) does not exist (give --create to create it from the input's schema)", notFound: true)
            }
            result.tableCreated = try createTable(&target, schema: request.definition ?? schema, partitionColumn: partitionColumn,
                                                  request: request, ddl: &result.ddl, conn: conn, warn: warn)
        }
        // An existing table (or one another loader created first, or ours from the joined
        // definition) must take every column without changing a value.
        if target.exists { try check(target, against: schema, request: request, object: object, warn: warn) }
        let unique = target.exists ? target.hasUniqueIndex : !(request.definition ?? schema).primaryKey.isEmpty
        if !unique && request.onConflict == .nothing && request.objectKey == nil {
            warn("\(target.qualified) has no unique constraint: ON CONFLICT DO NOTHING cannot prevent duplicate rows")
        }
        if request.dryRun, let key = request.objectKey {
            let entry = try Ledger.exists(conn, schema: request.schema) ? Ledger.entries(conn, schema: request.schema, target: result.table, key: key) : nil
            result.ledger = ledgerOutcome(entry, request: request, object: object, warn: warn)
        }
        if request.objectKey != nil && !request.dryRun { try Ledger.create(conn, schema: request.schema) }

        // Dry run: everything inside one transaction that is rolled back (a temporary table only).
        if request.dryRun { try conn.execute("BEGIN") }
        defer { if request.dryRun { try? conn.execute("ROLLBACK") } }
        try conn.execute(LoadSQL.createStage(stage, columns: try stageColumns(schema, conn: conn)))
        let digest = try copy(input, into: stage, conn: conn, progress: progress, schema: schema)
        result.rowsRead = Int64(digest.rows)
        result.digest = digest.hex
        // The input ended; whether it ended whole (the download verified, every frame's checksum
        // right) only the stages before can say: nothing reaches the target without their word.
        if let gate = request.commitGate, !gate.awaitCommit() {
            throw LoadError("an earlier stage of the pipeline failed (no commit on --commit-fd): nothing was loaded", consequence: true)
        }
        // The gate: rows that are not exactly the archived ones never reach the target.
        try checkExpected(digest, request)

        if let range = request.partitionRange, let partitionColumn {
            let template = request.partitionTemplate ?? range.defaultTemplate
            let windows = try conn.query(LoadSQL.windows(stage: stage, column: partitionColumn, range: range)).map {
                PartitionWindow(template: template, table: tableName, from: $0[0] ?? "", to: $0[1] ?? "")
            }
            for window in windows where try createPartition(window, of: target, dryRun: request.dryRun, conn: conn) {
                result.partitionsCreated.append(window.name)
            }
        }
        if target.exists {
            try GeneratedColumns.check(target, schema: schema, stage: stage, object: object, generatedAsData: request.generatedAsData, conn: conn)
        }
        guard !request.dryRun else {
            progress.finish(rows: UInt64(result.rowsRead), bytes: input.offset, extra: ["digest": JSON.quote(digest.hex)])
            return result
        }
        let rowsRead = result.rowsRead
        let qualifiedName = result.table
        let (inserted, outcome): (Int64, Ledger.Outcome?) = try inTransaction(conn) {
            var outcome: Ledger.Outcome?
            if let key = request.objectKey {
                let entry = try Ledger.lockAndLookUp(conn, schema: request.schema, target: qualifiedName, key: key)
                outcome = ledgerOutcome(entry, request: request, object: object, warn: warn)
                if outcome == .alreadyLoaded || outcome == .changed { return (0, outcome) }
            }
            let inserted = try conn.executeCounting(LoadSQL.insert(into: target, from: stage, schema: schema, policy: request.onConflict))
            try GeneratedColumns.moveSequences(target, schema: schema, stage: stage, conn: conn)
            if let key = request.objectKey {
                try Ledger.record(conn, schema: request.schema, target: qualifiedName, key: key, etag: request.objectETag ?? "",
                                  digest: request.objectDigest, rows: rowsRead)
            }
            return (inserted, outcome)
        }
        result.ledger = outcome
        result.inserted = inserted
        result.conflicts = outcome == .alreadyLoaded || outcome == .changed ? 0 : result.rowsRead - result.inserted
        try conn.execute("DROP TABLE \(SQL.identifier(stage))")
        progress.finish(rows: UInt64(result.rowsRead), bytes: input.offset, extra: ["digest": JSON.quote(digest.hex)])
        return result
    }

    /// What to do with an object the ledger may know: load it (recorded), skip it, or load it
    /// again with a warning (`--reload`).
    static func ledgerOutcome(_ entry: Ledger.Entry?, request: LoadRequest, object: String, warn: (String) -> Void) -> Ledger.Outcome {
        guard let entry else { return .recorded }
        let changed = request.objectETag.map { $0 != entry.etag } ?? false
        if request.reload {
            warn("\(object) was loaded before (\(entry.loadedAt), \(entry.rows) rows): loading it again (--reload) may duplicate its rows")
            return .reloaded
        }
        if changed {
            warn("\(object) changed since it was loaded (\(entry.loadedAt): ETag \(entry.etag), now \(request.objectETag ?? "")): skipped; give --reload to load it again")
            return .changed
        }
        return .alreadyLoaded
    }

    /// The column partitions are made on: `--date-column`, else the stream's or table's one-column key.
    static func partitionColumn(_ request: LoadRequest, schema: RowStreamSchema, target: TargetTable) throws -> String? {
        guard let range = request.partitionRange else { return nil }
        if let template = request.partitionTemplate, let problem = PartitionWindow.validate(template: template, range: range) {
            throw LoadError(problem)
        }
        let key = target.exists ? target.partitionKey : schema.partitionKey
        guard let column = request.dateColumn ?? (key.count == 1 ? key[0] : nil) else {
            throw LoadError("--table-partition-range needs --date-column: the input names no single-column partition key")
        }
        guard let described = schema.columns.first(where: { $0.name == column }) else {
            throw LoadError("partition column \"\(column)\" is not a column of the input")
        }
        guard [1082, 1114, 1184].contains(described.oid) else {
            throw LoadError("partition column \"\(column)\" is \(described.type), not a date or timestamp")
        }
        return column
    }

    /// Checks an existing target: every input column exists with a type that keeps its values,
    /// partitioning matches the request.
    static func check(_ target: TargetTable, against schema: RowStreamSchema, request: LoadRequest, object: String,
                      warn: (String) -> Void) throws {
        if let missing = schema.columns.first(where: { target.columns[$0.name] == nil }) {
            throw LoadError("column \"\(missing.name)\" of \(object) is not a column of \(target.qualified)")
        }
        try TypeCheck.check(target, schema: schema, object: object, allowLossy: request.allowLossyCast, warn: warn)
        if request.partitionRange != nil {
            guard target.relkind == "p" else {
                throw LoadError("\(target.qualified) is not partitioned, but --table-partition-range was given")
            }
        }
    }

    /// Creates the table (and the types it needs) under the advisory lock; false when another
    /// loader won. A dry run only works out the statements, into `ddl`.
    static func createTable(_ target: inout TargetTable, schema: RowStreamSchema, partitionColumn: String?, request: LoadRequest,
                            ddl: inout [String], conn: PGConnection, warn: (String) -> Void) throws -> Bool {
        if request.dryRun {
            ddl = try TableDDL.statements(target, schema: schema, partitionColumn: partitionColumn, generatedAsData: request.generatedAsData,
                                          conn: conn, warn: warn)
            return true
        }
        let existing: TargetTable? = try inTransaction(conn) {
            _ = try conn.query(LoadSQL.lock(target))
            let again = try TargetTable.lookUp(conn, schema: target.schema, name: target.name)
            if again.exists { return again }
            for statement in try TableDDL.statements(target, schema: schema, partitionColumn: partitionColumn,
                                                     generatedAsData: request.generatedAsData, conn: conn, warn: warn) {
                try conn.execute(statement)
            }
            return nil
        }
        if let existing {
            target = existing
            return false
        }
        target = try TargetTable.lookUp(conn, schema: target.schema, name: target.name)
        return true
    }

    /// The staging columns: the wire types; a type the database lacks (a dry run before its
    /// enum exists) is staged as `bytea`, which takes any bytes.
    static func stageColumns(_ schema: RowStreamSchema, conn: PGConnection) throws -> [(name: String, type: String)] {
        try schema.columns.map { column in
            if LoadSQL.enumType(column) != nil, try conn.query("SELECT to_regtype($1) IS NULL", [column.type]).first?.first == "t" {
                return (column.name, "bytea")
            }
            return (column.name, column.type)
        }
    }

    /// Streams the tuples into the staging table, checking the stream as it goes; returns the
    /// row count and row digest of what was staged.
    static func copy(_ input: RowStreamReader, into stage: String, conn: PGConnection, progress: ProgressReporter,
                     schema: RowStreamSchema) throws -> RowDigest {
        var header = RowStreamFormat.signature
        header += [0, 0, 0, 0, 0, 0, 0, 0]
        let digester = RowDigester(schema: schema)
        try conn.copyIn("COPY \(SQL.identifier(stage)) FROM STDIN (FORMAT binary)") { writer in
            try writer.write(header)
            while try input.next() {
                let tuple = input.rawTuple
                try writer.write(tuple)
                digester.add(tuple: tuple)
                progress.update(rows: input.rows, bytes: input.offset)
            }
            try writer.write(RowStreamFormat.trailer)
        }
        return digester.digest
    }

    /// Refuses an input whose rows or digest differ from `--expect-rows` / `--expect-digest`.
    static func checkExpected(_ digest: RowDigest, _ request: LoadRequest) throws {
        var problems: [String] = []
        if let rows = request.expectRows, rows != digest.rows { problems.append("\(digest.rows) rows where \(rows) were expected") }
        if let expected = request.expectDigest, expected.lowercased() != digest.hex {
            problems.append("row digest \(digest.hex) where \(expected.lowercased()) was expected")
        }
        guard problems.isEmpty else {
            throw LoadError("the input is not what was archived (" + problems.joined(separator: ", ") + "): nothing was loaded")
        }
    }

    /// Creates one partition in its own transaction under the advisory lock; false when it exists,
    /// or when an existing partition already covers its range (PostgreSQL refuses the overlap).
    static func createPartition(_ window: PartitionWindow, of target: TargetTable, dryRun: Bool, conn: PGConnection) throws -> Bool {
        // A scan of pg_class, not to_regclass: the name lookup's cache keeps a "no such relation"
        // entry made before the lock, and the advisory lock does not refresh it.
        let exists = {
            try conn.query("SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2)",
                           [target.schema, window.name]).first?.first == "t"
        }
        if try exists() { return false }
        if dryRun { return true }
        return try inTransaction(conn) {
            _ = try conn.query(LoadSQL.lock(target))
            if try exists() { return false }
            do {
                try conn.execute("SAVEPOINT covered")
                try conn.execute("CREATE TABLE \(SQL.qualified(target.schema, window.name)) PARTITION OF \(target.qualified) "
                                 + "FOR VALUES FROM (\(SQL.literal(window.from))) TO (\(SQL.literal(window.to)))")
                return true
            } catch let error as PGError where error.sqlState == "42P17" {
                try conn.execute("ROLLBACK TO SAVEPOINT covered")
                return false
            }
        }
    }

    /// Runs `body` between BEGIN and COMMIT; any error rolls back and is rethrown.
    static func inTransaction<T>(_ conn: PGConnection, _ body: () throws -> T) throws -> T {
        try conn.execute("BEGIN")
        do {
            let value = try body()
            try conn.execute("COMMIT")
            return value
        } catch {
            try? conn.execute("ROLLBACK")
            throw error
        }
    }
}
