import Foundation
import Testing
import TestSupport

/// The `digest` and `rows` of a tool's final progress line (docs/progress.md).
func finalDigest(_ progressFile: String) throws -> (rows: Int, digest: String)? {
    let text = try String(contentsOfFile: progressFile, encoding: .utf8)
    guard let last = text.split(separator: "\n").last,
          let object = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any],
          object["done"] as? Bool == true, let rows = object["rows"] as? Int, let digest = object["digest"] as? String else { return nil }
    return (rows, digest)
}

extension RowfmtPostgresTests {
    /// pg-extract's digest of `table` (its final progress line), the stream in `dir/<table>.rowstream`.
    func extractedDigest(_ db: ScratchDatabase, _ dir: TemporaryDirectory, table: String) throws -> (rows: Int, digest: String) {
        let result = try shell("'\(extract)' --relation \(table) --progress-fd 3 3>'\(dir.path("\(table).progress"))' > '\(dir.path("\(table).rowstream"))'",
                               environment: db.environment)
        #expect(result.status == 0, "\(result.err)")
        return try #require(try finalDigest(dir.path("\(table).progress")))
    }

    /// rowfmt's digest of `rowfmt --to format | rowfmt --from format --to rowstream` of the stream.
    func roundTripDigest(_ dir: TemporaryDirectory, table: String, format: String, schema: String?) throws -> (rows: Int, digest: String) {
        let back = schema.map { "--schema '\($0)'" } ?? ""
        let progress = dir.path("\(table).\(format).progress")
        let result = try shell("'\(rowfmt)' --from rowstream --to \(format) '\(dir.path("\(table).rowstream"))'"
                               + " | '\(rowfmt)' --from \(format) \(back) --to rowstream --progress-fd 3 3>'\(progress)' > /dev/null")
        #expect(result.status == 0, "\(result.err)")
        return try #require(try finalDigest(progress))
    }

    @Test("the row digest survives rowstream -> JSONL/CSV -> rowstream for the typed table (every type, edge values)",
          arguments: ["jsonl", "csv"])
    func digestSurvivesTextFormats(format: String) throws {
        let dir = try TemporaryDirectory()
        let db = try typedTable(dir)
        let extracted = try extractedDigest(db, dir, table: "everything")
        #expect(extracted.rows == 6)
        let back = try roundTripDigest(dir, table: "everything", format: format, schema: dir.path("t.schema"))
        #expect(back.rows == extracted.rows)
        #expect(back.digest == extracted.digest, "\(format): pg-extract \(extracted.digest), after the round trip \(back.digest)")
    }

    @Test("the row digest survives rowstream -> Parquet -> rowstream for the typed table's Parquet-native values")
    func digestSurvivesParquet() throws {
        let dir = try TemporaryDirectory()
        let db = try finiteTable(dir)
        let extracted = try extractedDigest(db, dir, table: "finite")
        let back = try roundTripDigest(dir, table: "finite", format: "parquet", schema: nil)
        #expect(back.rows == extracted.rows && back.rows == 6)
        #expect(back.digest == extracted.digest)
    }

    @Test("the row digest of 1-D to 3-D arrays with bounds other than 1 in a partition (attndims 0) survives every format, Parquet with no flag",
          arguments: ["parquet", "jsonl", "csv"])
    func digestSurvivesArrayShapes(format: String) throws {
        let dir = try TemporaryDirectory()
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "rf", sessionOptions: referenceOptions)
        try db.sql(arrayShapesSQL("shapes"))
        let describe = try run(extract, ["--relation", "shapes_20240101", "--describe"], environment: db.environment)
        try describe.stdout.write(to: URL(fileURLWithPath: dir.path("s.schema")))
        let extracted = try extractedDigest(db, dir, table: "shapes_20240101")
        #expect(extracted.rows == 7)
        let back = try roundTripDigest(dir, table: "shapes_20240101", format: format, schema: dir.path("s.schema"))
        #expect(back.rows == 7)
        #expect(back.digest == extracted.digest, "\(format): pg-extract \(extracted.digest), after the round trip \(back.digest)")
    }

    @Test("the row digest changes with one changed value and does not depend on row order")
    func digestSeesChanges() throws {
        let dir = try TemporaryDirectory()
        let db = try typedTable(dir)
        let before = try extractedDigest(db, dir, table: "everything")
        try db.sql("CREATE TABLE shuffled AS SELECT * FROM everything ORDER BY random()")
        #expect(try extractedDigest(db, dir, table: "shuffled").digest == before.digest)
        try db.sql("UPDATE everything SET n2 = n2 + 0.01 WHERE i2 = 1")
        #expect(try extractedDigest(db, dir, table: "everything").digest != before.digest)
    }

    @Test("a sliced array keeps PostgreSQL's has-nulls flag in binary form but not in the digest; -0 and NaN spellings")
    func digestCanonicalFromPostgres() throws {
        let dir = try TemporaryDirectory()
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "rf", sessionOptions: referenceOptions)
        try db.sql("""
            CREATE TABLE sliced AS SELECT (ARRAY[1,NULL,3])[1:1] AS a, 1.50::numeric AS n;
            CREATE TABLE plain AS SELECT ARRAY[1] AS a, 1.50::numeric AS n;
            CREATE TABLE scaled AS SELECT ARRAY[1] AS a, 1.5::numeric AS n;
            """)
        let sliced = try extractedDigest(db, dir, table: "sliced")
        let plain = try extractedDigest(db, dir, table: "plain")
        #expect(sliced.digest == plain.digest)
        #expect(try extractedDigest(db, dir, table: "scaled").digest != plain.digest)
        // The binary forms differ (the flag), so the equality above is the canonical encoding's doing.
        let a = try Data(contentsOf: URL(fileURLWithPath: dir.path("sliced.rowstream")))
        let b = try Data(contentsOf: URL(fileURLWithPath: dir.path("plain.rowstream")))
        #expect(a.suffix(40) != b.suffix(40))
    }
}
