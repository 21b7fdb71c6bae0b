import Foundation
import Testing
import TestSupport

/// Values at the edges of their types, each archived in every format and loaded back, judged by
/// PostgreSQL (EXCEPT ALL both ways on the rows' text, and the counts).
@Suite("values that make the trip in every format", .enabled(if: Services.postgresEnabled))
struct ValueTripTests {
    let rowfmt = Package.tool("rowfmt")
    let extract = Package.tool("pg-extract")

    /// A database holding `ddl`, which creates table `t`; `back` is created LIKE it.
    func database(_ ddl: String) throws -> ScratchDatabase {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "vt", sessionOptions: referenceOptions)
        try db.sql(ddl + "; CREATE TABLE back (LIKE t)")
        return db
    }

    /// Archives `t` as `format` into `dir` (pg-extract | rowfmt) and loads the file back into `back`
    /// (rowfmt --from format [--schema] | COPY); returns the file written.
    @discardableResult
    func trip(_ db: ScratchDatabase, _ dir: TemporaryDirectory, format: String, options: [String] = []) throws -> String {
        let file = dir.path("t.\(format)"), schema = dir.path("t.schema")
        let describe = try run(extract, ["--relation", "t", "--describe"], environment: db.environment)
        try describe.stdout.write(to: URL(fileURLWithPath: schema))
        let write = try shell("'\(extract)' --relation t | '\(rowfmt)' --from rowstream --to \(format) \(options.joined(separator: " ")) -o '\(file)'",
                              environment: db.environment)
        #expect(write.status == 0, "\(format): \(write.err)")
        try db.sql("TRUNCATE back")
        let schemaOption = format == "parquet" ? "" : "--schema '\(schema)'"
        let load = try shell("'\(rowfmt)' --from \(format) \(schemaOption) --to rowstream < '\(file)' | \(db.psql) -c 'COPY back FROM STDIN (FORMAT binary)'",
                             environment: db.environment)
        #expect(load.status == 0, "\(format): \(load.err)")
        return file
    }

    /// Every format's trip leaves `back` equal to `t` (`rows` rows each).
    func expectExactTrips(_ ddl: String, rows: Int, formats: [String] = ["jsonl", "csv", "parquet"]) throws {
        let db = try database(ddl)
        let dir = try TemporaryDirectory()
        for format in formats {
            try trip(db, dir, format: format)
            #expect(try db.difference("t", "back") == [0, 0, rows, rows], "\(format)")
        }
    }

    @Test("interval minima (µs, days, months) and maxima parse back without trapping, exactly")
    func intervalExtremes() throws {
        try expectExactTrips("""
            CREATE TABLE t (iv interval, ia interval[]);
            INSERT INTO t VALUES
              (interval '-9223372036854775808 microseconds', NULL),
              (interval '9223372036854775807 microseconds', NULL),
              (make_interval(days => -2147483648), NULL), (make_interval(days => 2147483647), NULL),
              (make_interval(months => -2147483648), NULL), (make_interval(months => 2147483647), NULL),
              (make_interval(months => -2147483648, days => -2147483648) + interval '-9223372036854775808 microseconds',
               ARRAY[interval '-9223372036854775808 microseconds', make_interval(months => -2147483648)]),
              (make_interval(months => 2147483647, days => 2147483647) + interval '9223372036854775807 microseconds', NULL)
            """, rows: 8)
    }

    @Test("an interval beyond the type's range is an error naming it, not a crash")
    func intervalOverflowRefused() throws {
        let schema = #"{"columns":[{"name":"iv","nullable":true,"oid":1186,"type":"interval","typmod":-1}],"partition_key":[],"primary_key":[],"table":{"name":"t","schema":"public"}}"#
        let dir = try TemporaryDirectory()
        try schema.write(toFile: dir.path("s.json"), atomically: true, encoding: .utf8)
        for text in ["-2562047788:00:54.775809", "2562047788:00:54.775808", "99999999999999999 hours", "-178956971 years"] {
            let result = try run(rowfmt, ["--from", "csv", "--schema", dir.path("s.json"), "--to", "rowstream"],
                                 stdin: Data("iv\n\(text)\n".utf8))
            #expect(result.status == 1, "\(text)")
            #expect(result.err.hasPrefix("rowfmt: error: ") && result.err.contains("not a interval"), "\(text): \(result.err)")
        }
    }

    @Test("numerics of 32,768 and more base-10000 digits make the trip in every format")
    func longNumerics() throws {
        // 131,072 integer digits and 16,383 fraction digits: PostgreSQL's limits, 36,864 base-10000 digits.
        try expectExactTrips("""
            CREATE TABLE t (n numeric, na numeric[]);
            INSERT INTO t VALUES
              (('9' || repeat('8', 131071) || '.' || repeat('7', 16383))::numeric, NULL),
              (('-1' || repeat('0', 131068) || '12')::numeric, ARRAY[('1' || repeat('0', 131071))::numeric, 1.5]),
              (('0.' || repeat('0', 100) || repeat('3', 16283))::numeric, NULL),
              (repeat('9', 131072)::numeric, NULL)
            """, rows: 4)
    }

    @Test("DECIMAL(36…38, s) with a scale that is not a multiple of 4 holds its maxima and minima")
    func wideDecimals() throws {
        try expectExactTrips("""
            CREATE TABLE t (a numeric(38,10), b numeric(36,1), c numeric(37,2), d numeric(38,3), e numeric(38,37), f numeric(38,0));
            INSERT INTO t VALUES
              (9999999999999999999999999999.9999999999, 99999999999999999999999999999999999.9,
               99999999999999999999999999999999999.99, 99999999999999999999999999999999999.999,
               9.9999999999999999999999999999999999999, 99999999999999999999999999999999999999),
              (-9999999999999999999999999999.9999999999, -99999999999999999999999999999999999.9,
               -99999999999999999999999999999999999.99, -99999999999999999999999999999999999.999,
               -9.9999999999999999999999999999999999999, -99999999999999999999999999999999999999),
              (0.0000000001, 0.1, 0.01, 0.001, 0.0000000000000000000000000000000000001, 1),
              (1234567890123456789012345678.1234567890, 12345678901234567890123456789012345.6,
               1.5, 2.25, 0, 0)
            """, rows: 4)
    }
}
