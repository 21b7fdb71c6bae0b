import Foundation
import Testing
import TestSupport

/// Runs of `data-archiver dump` / `dump-hybrid` against PostgreSQL and moto, judged by pg_restore
/// into a fresh database and row comparisons done by PostgreSQL itself.
extension ArchiveFixture {
    /// Connection and destination flags, without table or range.
    func dumpFlags(_ command: String, template: String = "dumps/{table}/{YYYY}/{MM}") -> [String] {
        [command, "--db-host", pg.host, "--db-port", pg.port, "--db-user", pg.user, "--db-name", database,
         "--s3-endpoint", s3.endpoint, "--s3-bucket", bucket, "--path-template", template]
    }

    /// Runs pg_restore with `arguments` on a downloaded object into `target`.
    func pgRestore(_ key: String, into target: String, _ arguments: [String] = [], scratch: TemporaryDirectory) throws {
        let file = try download(key, into: scratch)
        let result = try run("\(pg.binDirectory)/pg_restore", ["--no-owner", "--exit-on-error", "-d", target] + arguments + [file],
                             environment: pg.environment(database: target))
        guard result.status == 0 else { throw TestFailure("pg_restore \(key) failed: \(result.err)") }
    }

    /// Rows of `relation` in the source and in `target` compared as text by PostgreSQL: EXCEPT ALL
    /// both ways is empty and the counts are equal. Returns the count.
    func expectSameRows(_ relation: String, in target: String, where condition: String = "true",
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let copy = try run("\(pg.binDirectory)/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                                                       "COPY (SELECT t::text FROM \(relation) t WHERE \(condition)) TO STDOUT"],
                           environment: pg.environment(database: database))
        #expect(copy.status == 0, sourceLocation: sourceLocation)
        let holder = "source_rows_\(UUID().uuidString.prefix(8).lowercased())"
        try pg.psql("CREATE TABLE \(holder) (r text)", database: target)
        let load = try run("\(pg.binDirectory)/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "COPY \(holder) FROM STDIN"],
                           stdin: copy.stdout, environment: pg.environment(database: target))
        #expect(load.status == 0, sourceLocation: sourceLocation)
        let out = try pg.psql("""
            SELECT (SELECT count(*) FROM (SELECT r FROM \(holder) EXCEPT ALL SELECT t::text FROM \(relation) t) a),
                   (SELECT count(*) FROM (SELECT t::text FROM \(relation) t EXCEPT ALL SELECT r FROM \(holder)) b),
                   (SELECT count(*) FROM \(holder)), (SELECT count(*) FROM \(relation));
            DROP TABLE \(holder);
            """, database: target).trimmingCharacters(in: .whitespacesAndNewlines)
        let fields = out.split(separator: "|").map(String.init)
        #expect(fields.count == 4 && fields[0] == "0" && fields[1] == "0" && fields[2] == fields[3],
                "\(relation): missing|extra|source|restored = \(out)", sourceLocation: sourceLocation)
        return Int(fields.last ?? "") ?? -1
    }

    /// The compression level pg_restore reads from an archive's header.
    func dumpCompression(_ key: String) throws -> String {
        let dir = try TemporaryDirectory()
        let list = try run("\(pg.binDirectory)/pg_restore", ["--list", try download(key, into: dir)])
        withExtendedLifetime(dir) {}
        return list.out.split(separator: "\n").first { $0.contains("Compression:") }
            .map { String($0.split(separator: ":").last!).trimmingCharacters(in: .whitespaces) } ?? ""
    }

    /// Keys of the bucket ending in `.dump`, sorted.
    func dumpKeys() throws -> [String] { try objects().keys.filter { $0.hasSuffix(".dump") }.sorted() }
}

@Suite("data-archiver dump", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct DumpTests {
    static let plainSQL = """
        CREATE TABLE plain (id serial PRIMARY KEY, name text NOT NULL, price numeric(8,3), tags text[], seen timestamptz);
        INSERT INTO plain (name, price, tags, seen)
        SELECT 'n' || g, g * 1.125, ARRAY['a', g::text], '2024-02-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 300) g;
        """

    @Test("a table dump restores into a fresh database with every row, partitions included")
    func oneTable() throws {
        let f = try ArchiveFixture(days: 3, rowsPerDay: 200)
        let out = try f.archive(["--table", "flights"], flags: f.dumpFlags("dump"))
        #expect(out.status == 0, "\(out.err)")
        let keys = try f.dumpKeys()
        #expect(keys.count == 1)
        #expect(keys.first.map { $0.range(of: #"^dumps/flights/\d{4}/\d{2}/flights-\d{8}-\d{6}\.dump$"#, options: .regularExpression) != nil } == true)
        let target = try f.pg.createDatabase(prefix: "restored")
        defer { f.pg.dropDatabase(target) }
        let scratch = try TemporaryDirectory()
        try f.pgRestore(keys[0], into: target, scratch: scratch)
        #expect(try f.expectSameRows("flights", in: target) == 600)
        #expect(try f.dumpCompression(keys[0]) == "9")
        #expect(try f.pg.psql("SELECT count(*) FROM pg_inherits WHERE inhparent = 'flights'::regclass", database: target)
                    .trimmingCharacters(in: .whitespacesAndNewlines) == "3")
    }

    @Test("a plain table without --date-column is dumped whole, never an empty success")
    func plainTable() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 10)
        try f.pg.psql(Self.plainSQL, database: f.database)
        let out = try f.archive(["--table", "plain", "--dump-mode", "data-only", "--compression-level", "1"], flags: f.dumpFlags("dump"),
                                env: ["ARCHIVE_COMPRESSION_LEVEL": "19"])
        #expect(out.status == 0, "\(out.err)")
        let keys = try f.dumpKeys()
        #expect(try f.dumpCompression(keys[0]) == "1")
        #expect(keys.count == 1 && keys[0].contains("/plain-data-"))
        let target = try f.pg.createDatabase(prefix: "restored")
        defer { f.pg.dropDatabase(target) }
        try f.pg.psql("CREATE TABLE plain (id serial PRIMARY KEY, name text NOT NULL, price numeric(8,3), tags text[], seen timestamptz)", database: target)
        try f.pgRestore(keys[0], into: target, ["--data-only"], scratch: try TemporaryDirectory())
        #expect(try f.expectSameRows("plain", in: target) == 300)

        // A date range without a date column cannot cut a plain table: it is dumped whole, with a warning.
        let ranged = try f.archive(["--table", "plain", "--start-date", "2024-01-01"], flags: f.dumpFlags("dump", template: "r/{table}"))
        #expect(ranged.status == 0, "\(ranged.err)")
        #expect(ranged.err.contains("dumped whole"))
        #expect(try f.dumpKeys().filter { $0.hasPrefix("r/plain/plain-") }.count == 1)
    }

    @Test("a whole-database dump is one custom-format object that restores every table")
    func wholeDatabase() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 100)
        try f.pg.psql(Self.plainSQL, database: f.database)
        let out = try f.archive([], flags: f.dumpFlags("dump"))
        #expect(out.status == 0, "\(out.err)")
        let keys = try f.dumpKeys()
        #expect(keys.count == 1 && keys[0].hasPrefix("dumps/\(f.database)/") && keys[0].contains("/\(f.database)-"))
        let target = try f.pg.createDatabase(prefix: "restored")
        defer { f.pg.dropDatabase(target) }
        try f.pgRestore(keys[0], into: target, scratch: try TemporaryDirectory())
        #expect(try f.expectSameRows("flights", in: target) == 200)
        #expect(try f.expectSameRows("plain", in: target) == 300)
        // Sequence values travel too.
        #expect(try f.pg.psql("SELECT last_value FROM plain_id_seq", database: target).trimmingCharacters(in: .whitespacesAndNewlines) == "300")
    }

    @Test("--split-tables --workers 2 writes the schema and one object per table that restore as a set")
    func splitTables() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 100)
        try f.pg.psql(Self.plainSQL, database: f.database)
        let out = try f.archive(["--split-tables", "--workers", "2"], flags: f.dumpFlags("dump", template: "dumps/{table}"))
        #expect(out.status == 0, "\(out.err)")
        let keys = try f.dumpKeys()
        let schema = keys.filter { $0.contains("/\(f.database)-schema-") }
        let data = keys.filter { $0.contains("-data-") }
        #expect(schema.count == 1)
        #expect(Set(data.map { $0.split(separator: "/")[1] }) == ["flights_20240101", "flights_20240102", "plain"])
        let target = try f.pg.createDatabase(prefix: "restored")
        defer { f.pg.dropDatabase(target) }
        let scratch = try TemporaryDirectory()
        // The documented order: pre-data of the schema, every data object, post-data of the schema.
        try f.pgRestore(schema[0], into: target, ["--section=pre-data"], scratch: scratch)
        for key in data { try f.pgRestore(key, into: target, ["--data-only"], scratch: scratch) }
        try f.pgRestore(schema[0], into: target, ["--section=post-data"], scratch: scratch)
        #expect(try f.expectSameRows("flights", in: target) == 200)
        #expect(try f.expectSameRows("plain", in: target) == 300)
    }

    @Test("schema-only restores empty tables of the same shape; data-only fills them")
    func schemaThenData() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 100)
        try f.pg.psql(Self.plainSQL, database: f.database)
        #expect(try f.archive(["--dump-mode", "schema-only"], flags: f.dumpFlags("dump", template: "s/{table}")).status == 0)
        #expect(try f.archive(["--dump-mode", "data-only"], flags: f.dumpFlags("dump", template: "d/{table}")).status == 0)
        let keys = try f.dumpKeys()
        let schema = try #require(keys.first { $0.hasPrefix("s/") && $0.contains("-schema-") })
        let data = try #require(keys.first { $0.hasPrefix("d/") && $0.contains("-data-") })
        let target = try f.pg.createDatabase(prefix: "restored")
        defer { f.pg.dropDatabase(target) }
        let scratch = try TemporaryDirectory()
        try f.pgRestore(schema, into: target, scratch: scratch)
        let shape = "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, ordinal_position"
        #expect(try f.pg.psql(shape, database: target) == (try f.pg.psql(shape, database: f.database)))
        #expect(try f.pg.psql("SELECT count(*) FROM flights", database: target).trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        try f.pgRestore(data, into: target, ["--data-only"], scratch: scratch)
        #expect(try f.expectSameRows("flights", in: target) == 200)
        #expect(try f.expectSameRows("plain", in: target) == 300)
    }

    @Test("date windows: the parent's schema once, one data object per window; a rerun skips all; a dry run uploads nothing")
    func windows() throws {
        let f = try ArchiveFixture(days: 3, rowsPerDay: 100)
        let range = ["--table", "flights", "--start-date", "2024-01-01", "--end-date", "2024-01-03"]
        let dry = try f.archive(range + ["--dry-run"], flags: f.dumpFlags("dump"))
        #expect(dry.status == 0, "\(dry.err)")
        #expect(try f.dumpKeys().isEmpty)
        let first = try f.archive(range, flags: f.dumpFlags("dump"))
        #expect(first.status == 0, "\(first.err)")
        let keys = try f.dumpKeys()
        #expect(keys == ["dumps/flights/2024/01/flights-2024-01-01.dump", "dumps/flights/2024/01/flights-2024-01-02.dump",
                         "dumps/flights/2024/01/flights-2024-01-03.dump", "dumps/flights/schema.dump"])
        let before = try f.objects().mapValues(\.etag)
        let again = try f.archive(range, flags: f.dumpFlags("dump"))
        #expect(again.status == 0)
        #expect(again.err.contains("0 uploaded, 4 skipped"), "\(again.err)")
        #expect(try f.objects().mapValues(\.etag) == before)

        let target = try f.pg.createDatabase(prefix: "restored")
        defer { f.pg.dropDatabase(target) }
        let scratch = try TemporaryDirectory()
        try f.pgRestore("dumps/flights/schema.dump", into: target, scratch: scratch)
        try f.pg.psql("CREATE TABLE flights_any PARTITION OF flights DEFAULT", database: target)
        for key in keys where key != "dumps/flights/schema.dump" { try f.pgRestore(key, into: target, ["--data-only"], scratch: scratch) }
        #expect(try f.expectSameRows("flights", in: target) == 300)
    }

    @Test("a window that needs only some rows of a relation fails with a pointer to dump-hybrid, naming the window")
    func windowNeedsFilter() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 10)
        try f.pg.psql("CREATE TABLE flights_default PARTITION OF flights DEFAULT; INSERT INTO flights (id, callsign, departure, on_ground) VALUES (99999, 'X', '2024-01-02 05:00+00', false)", database: f.database)
        let out = try f.archive(["--table", "flights", "--start-date", "2024-01-01", "--end-date", "2024-01-02"], flags: f.dumpFlags("dump"))
        #expect(out.status == 1)
        #expect(out.err.contains("flights-2024-01-02") && out.err.contains("use dump-hybrid"), "\(out.err)")
    }

    @Test("the verification branch is sound: pg_restore --file=/dev/null rejects a truncated archive that --list accepts")
    func verificationCatchesTruncation() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 20_000)
        let dir = try TemporaryDirectory()
        let bin = f.pg.binDirectory
        let env = f.pg.environment(database: f.database)
        #expect(try run("/bin/bash", ["-c", "'\(bin)/pg_dump' -Fc -t flights_20240101 > '\(dir.path("full"))'"], environment: env).status == 0)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: dir.path("full"))[.size] as? Int)
        #expect(try run("/bin/bash", ["-c", "head -c \(size * 2 / 3) '\(dir.path("full"))' > '\(dir.path("cut"))'"]).status == 0)
        #expect(try run("\(bin)/pg_restore", ["--file=/dev/null", dir.path("full")]).status == 0)
        #expect(try run("\(bin)/pg_restore", ["--file=/dev/null"], stdinFile: dir.path("cut")).status != 0)
        #expect(try run("\(bin)/pg_restore", ["--list"], stdinFile: dir.path("cut")).status == 0)
    }

    @Test("a missing pg_dump and wrong credentials are one clear line each")
    func clearErrors() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 10)
        let missing = try f.archive([], flags: f.dumpFlags("dump"), env: ["PATH": "/nonexistent"])
        #expect(missing.status == 1)
        #expect(missing.err.contains("pg_dump not found in PATH"), "\(missing.err)")
        let wrong = try f.archive([], flags: f.dumpFlags("dump") + ["--db-max-retries", "0"], env: ["PGPASSWORD": "wrong"])
        #expect(wrong.status == 6)
        #expect(wrong.err.contains("PostgreSQL refused the login") && wrong.err.contains("password authentication failed"), "\(wrong.err)")
        #expect(try f.dumpKeys().isEmpty)
    }
}
