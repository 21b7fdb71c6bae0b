import ArchiveCache
import ArchiverConfig
import FoundationEssentials
import ToolSupport
#if canImport(Glibc)
import Glibc
#endif
import PGAccess
import Pipelines
import RunDisplay
import SlicePlan

/// dump-hybrid's scratch databases: each holds one table of the original schema and name, filled
/// with a window's rows (COPY) and dumped from there, so the dump restores into the original
/// table. Named after the destination, so the next run of the same scope finds and drops what a
/// killed run left behind.
extension DumpRun {
    /// The scratch databases' common name prefix for this scope.
    var scratchPrefix: String { "pgarchive_hybrid_\(scope.destinationHash.prefix(12))_" }

    /// Checks CREATEDB and drops scratch databases an earlier, killed run left behind.
    func prepareHybrid(_ connection: PGConnection) throws {
        let role = try connection.query("SELECT current_user, rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")
        guard let row = role.first, row[1] == "t" else {
            let user: String = (role.first?[0] ?? nil) ?? config.dbUser ?? "the role"
            throw OrchestratorError("dump-hybrid needs the CREATEDB privilege for its scratch database: ALTER ROLE \(user) CREATEDB")
        }
        let leftovers = try connection.query("SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1", [scratchPrefix])
        for row in leftovers {
            guard let name = row[0] else { continue }
            if config.dryRun {
                display.log(.warn, "a scratch database of an interrupted run is left; the next run without --dry-run drops it",
                            [("database", name)])
                continue
            }
            try connection.execute("DROP DATABASE IF EXISTS \(SQL.identifier(name)) WITH (FORCE)")
            display.log(.info, "dropped the scratch database of an interrupted run", [("database", name)])
        }
    }

    /// The table's columns as (name, type), refusing types the scratch database would not know.
    func scratchColumns(_ connection: PGConnection) throws -> [(String, String)] {
        let table = config.table!, schema = config.dbSchema
        let rows = try connection.query("""
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), tn.nspname
            FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace tn ON tn.oid = t.typnamespace
            WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
            ORDER BY a.attnum
            """, [exactPattern(schema: schema, relation: table)])
        return try rows.map { row in
            let name = row[0] ?? "", type = row[1] ?? ""
            guard row[2] == "pg_catalog" else {
                throw OrchestratorError("column \(name) of \(schema).\(table) has type \(type) from schema \(row[2] ?? ""): "
                    + "dump-hybrid's scratch table holds built-in types only")
            }
            return (name, type)
        }
    }

    /// Creates `count` scratch databases, each with an empty table of the original schema and name.
    func createScratch(_ connection: PGConnection, count: Int) throws {
        let columns = try scratchColumns(connection)
        let encoding = try connection.query("SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()")
            .first?[0] ?? nil
        let definition = columns.map { "\(SQL.identifier($0.0)) \($0.1)" }.joined(separator: ", ")
        for index in 0..<count {
            let name = scratchPrefix + String(index)
            // Listed before it exists, so a signal during CREATE DATABASE still drops it (IF EXISTS).
            lock.lock(); scratch.append(name); lock.unlock()
            try connection.execute("CREATE DATABASE \(SQL.identifier(name)) TEMPLATE template0 ENCODING \(SQL.literal(encoding ?? "UTF8")) "
                + "LC_COLLATE 'C' LC_CTYPE 'C'")
            let target = try PGConnection(connectionParameters(config, database: name))
            if try target.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [config.dbSchema]).isEmpty {
                try target.execute("CREATE SCHEMA \(SQL.identifier(config.dbSchema))")
            }
            try target.execute("CREATE TABLE \(SQL.qualified(config.dbSchema, config.table!)) (\(definition))")
        }
        scratchColumnNames = columns.map(\.0)
        display.log(.debug, "scratch databases created", [("databases", scratch.joined(separator: ","))])
    }

    /// Drops the scratch databases (idempotent; errors are only logged).
    func dropScratch() {
        dropping.lock()
        defer { dropping.unlock() }
        lock.lock()
        let names = scratch
        scratch = []
        lock.unlock()
        guard !names.isEmpty else { return }
        do {
            let connection = try PGConnection(connectionParameters(config))
            for name in names { try connection.execute("DROP DATABASE IF EXISTS \(SQL.identifier(name)) WITH (FORCE)") }
        } catch {
            display.log(.warn, "could not drop the scratch databases; the next run drops them: \(error)",
                        [("databases", names.joined(separator: ","))])
        }
    }

    /// Empties the scratch table of `database` and copies the window's rows into it, source by source.
    func fillScratch(_ database: String, plan: Slice) throws {
        let target = SQL.qualified(config.dbSchema, config.table!)
        let connection = try PGConnection(connectionParameters(config, database: database))
        try connection.execute("TRUNCATE \(target)")
        let columns = scratchColumnNames.map(SQL.identifier).joined(separator: ", ")
        for source in plan.sources {
            var select = "SELECT \(columns) FROM \(source.only == true ? "ONLY " : "")\(SQL.qualified(source.schema, source.relation))"
            if let column = source.column { select += " WHERE " + SQL.rangeFilter(column: column, from: source.from, to: source.to) }
            let pipeline = Pipeline(stages: [
                Stage(name: "psql (read \(source.relation))",
                      command: psqlCommand(database: config.dbName, sql: "COPY (\(select)) TO STDOUT (FORMAT binary)"), reportsProgress: false),
                Stage(name: "psql (scratch)", command: psqlCommand(database: database, sql: "COPY \(target) FROM STDIN (FORMAT binary)"),
                      reportsProgress: false),
            ])
            guard register(pipeline) else { throw OrchestratorError("stopped") }
            defer { unregister(pipeline) }
            let result = try pipeline.run()
            guard result.succeeded else {
                throw OrchestratorError("copying \(source.schema).\(source.relation) into the scratch table failed: \(result.failure ?? "")")
            }
        }
    }

    /// `psql -c SQL` against `database`, password only in the environment.
    func psqlCommand(database: String?, sql: String) -> Command {
        var args = ["--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1", "--host", config.dbHost, "--port", String(config.dbPort)]
        if let user = config.dbUser { args += ["--username", user] }
        if let database { args += ["--dbname", database] }
        return Command(executable: programs!.psql!, arguments: args + ["--command", sql], environment: clientEnvironment("psql"))
    }
}
