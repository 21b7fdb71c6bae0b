import Foundation
import RowStream
import Testing
import TestSupport

@Suite("rowfmt against PostgreSQL", .enabled(if: Services.postgresEnabled))
struct RowfmtPostgresTests {
    let rowfmt = Package.tool("rowfmt")
    let extract = Package.tool("pg-extract")

    /// Creates the typed table (or `ddl`'s `table`) and writes its rowstream and schema into `dir`.
    func typedTable(_ dir: TemporaryDirectory, ddl: String = typedTableDDL, table: String = "everything") throws -> ScratchDatabase {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "rf", sessionOptions: referenceOptions)
        try db.sql(ddl)
        let stream = try run(extract, ["--relation", table], stdoutFile: dir.path("t.rowstream"), environment: db.environment)
        #expect(stream.status == 0, "\(stream.err)")
        let describe = try run(extract, ["--relation", table, "--describe"], environment: db.environment)
        try describe.stdout.write(to: URL(fileURLWithPath: dir.path("t.schema")))
        return db
    }

    /// Whether rowfmt's JSONL of the stream in `dir` equals row_to_json of `table`, value by value.
    func jsonlMatches(_ db: ScratchDatabase, _ dir: TemporaryDirectory, table: String) throws {
        let ours = try run(rowfmt, ["--from", "rowstream", "--to", "jsonl", dir.path("t.rowstream"), "-o", dir.path("ours.jsonl")])
        #expect(ours.status == 0, "\(ours.err)")
        let reference = try shell("\(db.psql) -A -t -c 'SELECT row_to_json(r) FROM \(table) r' > '\(dir.path("pg.jsonl"))'", environment: db.environment)
        #expect(reference.status == 0, "\(reference.err)")
        try jsonCompareScript.write(toFile: dir.path("compare.py"), atomically: true, encoding: .utf8)
        let compare = try run(try which("python3"), [dir.path("compare.py"), dir.path("ours.jsonl"), dir.path("pg.jsonl")])
        #expect(compare.status == 0, "\(compare.out.prefix(2000))\(compare.err)")
    }

    /// Whether rowfmt's CSV of the stream in `dir` is byte-identical to COPY of `table`.
    func csvMatches(_ db: ScratchDatabase, _ dir: TemporaryDirectory, table: String) throws {
        let ours = try run(rowfmt, ["--from", "rowstream", "--to", "csv"], stdinFile: dir.path("t.rowstream"))
        #expect(ours.status == 0, "\(ours.err)")
        let reference = try shell("\(db.psql) -c 'COPY \(table) TO STDOUT (FORMAT csv, HEADER)'", environment: db.environment)
        #expect(reference.status == 0, "\(reference.err)")
        #expect(ours.stdout == reference.stdout)
        #expect(ours.stdout.count > 1000)
    }

    /// Converts the stream in `dir` to `format`, reads it back with the schema and loads it into `copy`.
    func readBack(_ db: ScratchDatabase, _ dir: TemporaryDirectory, format: String, into copy: String) throws {
        let pipeline = "'\(rowfmt)' --from rowstream --to \(format) '\(dir.path("t.rowstream"))'"
            + " | '\(rowfmt)' --from \(format) --schema '\(dir.path("t.schema"))' --to rowstream"
            + " | \(db.psql) -c 'COPY \(copy) FROM STDIN (FORMAT binary)'"
        let result = try shell(pipeline, environment: db.environment)
        #expect(result.status == 0, "\(result.err)")
    }

    @Test("JSONL equals row_to_json value by value, numbers as exact tokens, keys in order")
    func jsonlEqualsRowToJSON() throws {
        let dir = try TemporaryDirectory()
        try jsonlMatches(try typedTable(dir), dir, table: "everything")
    }

    @Test("CSV is byte-identical to COPY (FORMAT csv, HEADER)")
    func csvEqualsCopy() throws {
        let dir = try TemporaryDirectory()
        try csvMatches(try typedTable(dir), dir, table: "everything")
    }

    @Test("JSONL and CSV read back with the schema reproduce the table exactly (EXCEPT ALL both ways)", arguments: ["jsonl", "csv"])
    func roundTrip(format: String) throws {
        let dir = try TemporaryDirectory()
        let db = try typedTable(dir)
        try readBack(db, dir, format: format, into: "copy_of_everything")
        #expect(try db.difference("everything", "copy_of_everything") == [0, 0, 6, 6])
    }

    @Test("20,000 random floats, numerics, times and addresses: JSONL and CSV equal PostgreSQL's and read back exactly")
    func randomValues() throws {
        let dir = try TemporaryDirectory()
        let db = try typedTable(dir, ddl: randomTableDDL, table: "rnd")
        try jsonlMatches(db, dir, table: "rnd")
        try csvMatches(db, dir, table: "rnd")
        for format in ["jsonl", "csv"] {
            try db.sql("TRUNCATE copy_of_rnd")
            try readBack(db, dir, format: format, into: "copy_of_rnd")
            #expect(try db.difference("rnd", "copy_of_rnd") == [0, 0, 20000, 20000], "\(format)")
        }
    }

    @Test("a json null and array lower bounds read back exactly from JSONL (escape form) and CSV")
    func jsonLimits() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "rf", sessionOptions: referenceOptions)
        try db.sql("""
            CREATE TABLE l (j json, a int[]); INSERT INTO l VALUES ('null', '[0:1]={7,8}');
            CREATE TABLE lj (LIKE l); CREATE TABLE lc (LIKE l);
            """)
        for (format, table) in [("jsonl", "lj"), ("csv", "lc")] {
            let pipeline = "'\(extract)' --relation l | '\(rowfmt)' --from rowstream --to \(format)"
                + " | '\(rowfmt)' --from \(format) --schema <('\(extract)' --relation l --describe) --to rowstream"
                + " | \(db.psql) -c 'COPY \(table) FROM STDIN (FORMAT binary)'"
            let result = try shell(pipeline, environment: db.environment)
            #expect(result.status == 0, "\(result.err)")
        }
        #expect(try db.sql("SELECT j::text, a::text FROM lj") == "null|[0:1]={7,8}\n")
        #expect(try db.sql("SELECT j::text, a::text FROM lc") == "null|[0:1]={7,8}\n")
    }

    @Test("an inferred rowstream loads into a table of the inferred types with every digit")
    func inferredLoads() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "rf", sessionOptions: referenceOptions)
        try db.sql("CREATE TABLE got (id bigint, amount numeric, ok boolean, at timestamptz, local timestamp, day date, doc jsonb, note text)")
        let jsonl = """
            {"id": 1, "amount": 1.50, "ok": true, "at": "2024-01-01T08:00:00.5+02:00", "local": "2024-01-01T08:00:00", "day": "2024-02-29", "doc": {"a": [1, 2]}, "note": "x"}
            {"id": 9223372036854775807, "amount": 12345678901234567890123456789012345678901.000000000000000000001, "ok": false, "at": null, "local": null, "day": null, "doc": [], "note": 5}

            """
        let pipeline = "'\(rowfmt)' --from jsonl --to rowstream | \(db.psql) -c 'COPY got FROM STDIN (FORMAT binary)'"
        let result = try shell(pipeline, environment: db.environment, stdin: Data(jsonl.utf8))
        #expect(result.status == 0, "\(result.err)")
        #expect(try db.sql("SELECT id, amount, ok, at, local, day, doc, note FROM got ORDER BY id") == """
            1|1.50|t|2024-01-01 06:00:00.5+00|2024-01-01 08:00:00|2024-02-29|{"a": [1, 2]}|x
            9223372036854775807|12345678901234567890123456789012345678901.000000000000000000001|f||||[]|5

            """)
    }
}
