import Foundation
import RowStream
import Testing
import TestSupport

@Suite("rowfmt against PostgreSQL", .enabled(if: Services.postgresEnabled))
struct RowfmtPostgresTests {
    let rowfmt = Package.tool("rowfmt")
    let extract = Package.tool("pg-extract")

    /// Creates the typed table and writes its rowstream and schema into `dir`.
    func typedTable(_ dir: TemporaryDirectory) throws -> TestDatabase {
        let db = try TestDatabase(try Services.requirePostgres())
        try db.sql(typedTableDDL)
        let stream = try run(extract, ["--relation", "everything"], stdoutFile: dir.path("t.rowstream"), environment: db.environment)
        #expect(stream.status == 0, "\(stream.err)")
        let describe = try run(extract, ["--relation", "everything", "--describe"], environment: db.environment)
        try describe.stdout.write(to: URL(fileURLWithPath: dir.path("t.schema")))
        return db
    }

    @Test("JSONL equals row_to_json value by value, numbers as exact tokens, keys in order")
    func jsonlEqualsRowToJSON() throws {
        let dir = try TemporaryDirectory()
        let db = try typedTable(dir)
        let ours = try run(rowfmt, ["--from", "rowstream", "--to", "jsonl", dir.path("t.rowstream"), "-o", dir.path("ours.jsonl")])
        #expect(ours.status == 0, "\(ours.err)")
        let reference = try shell("\(db.psql) -A -t -c 'SELECT row_to_json(r) FROM everything r' > '\(dir.path("pg.jsonl"))'", environment: db.environment)
        #expect(reference.status == 0, "\(reference.err)")
        try jsonCompareScript.write(toFile: dir.path("compare.py"), atomically: true, encoding: .utf8)
        let compare = try run(try which("python3"), [dir.path("compare.py"), dir.path("ours.jsonl"), dir.path("pg.jsonl")])
        #expect(compare.status == 0, "\(compare.out)\(compare.err)")
    }

    @Test("CSV is byte-identical to COPY (FORMAT csv, HEADER)")
    func csvEqualsCopy() throws {
        let dir = try TemporaryDirectory()
        let db = try typedTable(dir)
        let ours = try run(rowfmt, ["--from", "rowstream", "--to", "csv"], stdinFile: dir.path("t.rowstream"))
        #expect(ours.status == 0, "\(ours.err)")
        let reference = try shell("\(db.psql) -c 'COPY everything TO STDOUT (FORMAT csv, HEADER)'", environment: db.environment)
        #expect(reference.status == 0, "\(reference.err)")
        #expect(ours.stdout == reference.stdout)
        #expect(ours.stdout.count > 1000)
    }

    @Test("JSONL and CSV read back with the schema reproduce the table exactly (EXCEPT ALL both ways)", arguments: ["jsonl", "csv"])
    func roundTrip(format: String) throws {
        let dir = try TemporaryDirectory()
        let db = try typedTable(dir)
        let pipeline = "'\(rowfmt)' --from rowstream --to \(format) '\(dir.path("t.rowstream"))'"
            + " | '\(rowfmt)' --from \(format) --schema '\(dir.path("t.schema"))' --to rowstream"
            + " | \(db.psql) -c 'COPY copy_of_everything FROM STDIN (FORMAT binary)'"
        let result = try shell(pipeline, environment: db.environment)
        #expect(result.status == 0, "\(result.err)")
        #expect(try db.difference("everything", "copy_of_everything") == [0, 0, 6, 6])
    }

    @Test("what JSON cannot carry: a json null reads back as SQL NULL, array lower bounds as 1; CSV keeps both")
    func jsonLimits() throws {
        let db = try TestDatabase(try Services.requirePostgres())
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
        #expect(try db.sql("SELECT j IS NULL, a::text FROM lj") == "t|{7,8}\n")
        #expect(try db.sql("SELECT j::text, a::text FROM lc") == "null|[0:1]={7,8}\n")
    }

    @Test("an inferred rowstream loads into a table of the inferred types with every digit")
    func inferredLoads() throws {
        let db = try TestDatabase(try Services.requirePostgres())
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
