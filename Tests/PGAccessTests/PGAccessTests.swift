import ArgumentParser
import PGAccess
import PGToolOptions
import Testing
import TestSupport

@Suite("SQL quoting")
struct QuotingTests {
    @Test("identifiers are always double-quoted with embedded quotes doubled")
    func identifiers() {
        #expect(SQL.identifier("flights") == "\"flights\"")
        #expect(SQL.identifier("Mixed \"Case\"") == "\"Mixed \"\"Case\"\"\"")
        #expect(SQL.qualified("my schema", "x; DROP TABLE y") == "\"my schema\".\"x; DROP TABLE y\"")
    }

    @Test("literals double quotes and escape backslashes")
    func literals() {
        #expect(SQL.literal("it's") == "'it''s'")
        #expect(SQL.literal("a\\b'") == "E'a\\\\b'''")
        #expect(SQL.rangeFilter(column: "t\"s", from: "2024-01-01 00:00:00+00", to: nil) == "\"t\"\"s\" >= '2024-01-01 00:00:00+00'::timestamptz")
        #expect(SQL.rangeFilter(column: "c", from: nil, to: nil) == "true")
    }
}

@Suite("connection options")
struct ConnectionOptionsTests {
    @Test("ARCHIVE_DB_PASSWORD becomes the password; unset flags stay unset for libpq's PG* defaults")
    func parameters() throws {
        let options = try ConnectionOptions.parse(["--db-host", "h", "--db-port", "5433", "--db-max-retries", "0"])
        let p = options.parameters(environment: ["ARCHIVE_DB_PASSWORD": "s3cret", "PGPASSWORD": "other"], applicationName: "x")
        #expect(p.password == "s3cret")
        #expect(p.host == "h" && p.port == 5433 && p.user == nil && p.database == nil)
        #expect(p.maxRetries == 0 && p.retryDelay == 5 && p.statementTimeout == 300)
        #expect(options.parameters(environment: ["PGPASSWORD": "other"], applicationName: "x").password == nil)
    }

    @Test("a bad sslmode or port is a validation error")
    func validation() {
        #expect(throws: (any Error).self) { try ConnectionOptions.parse(["--db-sslmode", "sometimes"]) }
        #expect(throws: (any Error).self) { try ConnectionOptions.parse(["--db-port", "70000"]) }
    }
}

@Suite("PostgreSQL connection", .enabled(if: Services.postgresEnabled))
struct ConnectionTests {
    func parameters(_ pg: PostgresService) -> ConnectionParameters {
        var p = ConnectionParameters()
        p.host = pg.host
        p.port = Int(pg.port)
        p.user = pg.user
        p.password = pg.password
        p.database = pg.database
        return p
    }

    @Test("every connection gets the session settings")
    func sessionSettings() throws {
        let conn = try PGConnection(parameters(try Services.requirePostgres()), extraction: true)
        let row = try conn.query("""
            SELECT current_setting('TimeZone'), current_setting('DateStyle'), current_setting('IntervalStyle'),
                   current_setting('extra_float_digits'), current_setting('bytea_output'), current_setting('client_encoding'),
                   current_setting('synchronize_seqscans'), current_setting('statement_timeout'),
                   current_setting('max_parallel_workers_per_gather')
            """)[0]
        #expect(row == ["UTC", "ISO, MDY", "postgres", "1", "hex", "UTF8", "off", "5min", "0"])
    }

    @Test("a failed query is a typed error with the server's message and SQLSTATE")
    func queryError() throws {
        let pg = try Services.requirePostgres()
        let conn = try PGConnection(parameters(pg))
        let error = #expect(throws: PGError.self) { try conn.query("SELECT * FROM no_such_table_here") }
        #expect(error?.kind == .query)
        #expect(error?.sqlState == "42P01")
        #expect(error?.message == "relation \"no_such_table_here\" does not exist")
        #expect(try conn.query("SELECT $1::text || $2", ["a'b", "c"]) == [["a'bc"]])
    }

    @Test("an unreachable server fails after the configured retries with libpq's message")
    func retries() throws {
        var p = parameters(try Services.requirePostgres())
        p.port = 1
        p.maxRetries = 2
        p.retryDelay = 0
        let error = #expect(throws: PGError.self) { try PGConnection(p) }
        #expect(error?.kind == .connection)
        #expect(error?.message.hasPrefix("could not connect to PostgreSQL (3 attempts): ") == true)
        #expect(error?.message.contains("\n") == false)
    }

    @Test("COPY TO STDOUT hands over one row per message")
    func copyOut() throws {
        let conn = try PGConnection(parameters(try Services.requirePostgres()))
        var messages: [String] = []
        try conn.copyOut("COPY (SELECT g FROM generate_series(1, 3) g) TO STDOUT") { messages.append(String(decoding: $0, as: UTF8.self)) }
        #expect(messages == ["1\n", "2\n", "3\n"])
    }
}
