import Foundation
import SlicePlan
import TestSupport

/// A fresh database for one test, dropped at the end, with helpers to run the tools against it.
final class TestDatabase {
    let pg: PostgresService
    let name: String

    init(_ pg: PostgresService) throws {
        self.pg = pg
        name = try pg.createDatabase(prefix: "x")
    }

    deinit { pg.dropDatabase(name) }

    /// libpq variables for the tools, connecting as the superuser.
    var environment: [String: String] { pg.environment(database: name) }

    /// Runs SQL as the superuser in this database.
    @discardableResult
    func sql(_ text: String) throws -> String { try pg.psql(text, database: name) }

    /// Loads a COPY BINARY file into a table with psql (the independent reader).
    func copyIn(_ file: String, table: String) throws -> ProcessResult {
        try run("\(pg.binDirectory)/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "COPY \(table) FROM STDIN (FORMAT binary)"],
                stdinFile: file, environment: environment)
    }

    /// Rows of `a` missing from `b` plus rows of `b` missing from `a`, compared as row text, and both counts.
    func difference(_ a: String, _ b: String) throws -> (missing: Int, extra: Int, countA: Int, countB: Int) {
        let out = try sql("""
            SELECT (SELECT count(*) FROM (SELECT x::text FROM \(a) x EXCEPT ALL SELECT y::text FROM \(b) y) s),
                   (SELECT count(*) FROM (SELECT y::text FROM \(b) y EXCEPT ALL SELECT x::text FROM \(a) x) s),
                   (SELECT count(*) FROM \(a)), (SELECT count(*) FROM \(b))
            """).trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|").map { Int($0)! }
        return (out[0], out[1], out[2], out[3])
    }
}

/// Runs pg-partitions against a database; returns the exit status, the parsed plan lines and stderr.
func planSlices(_ db: TestDatabase, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, slices: [Slice], err: String) {
    let result = try run(Package.tool("pg-partitions"), arguments, environment: environment ?? db.environment)
    let slices = try result.out.split(separator: "\n").map { try Slice.parse(String($0)) }
    return (result.status, slices, result.err)
}

/// Extracts every slice with pg-extract (plan line on stdin) and loads each stream into `table` with psql.
func extractAll(_ db: TestDatabase, _ slices: [Slice], into table: String) throws {
    let dir = try TemporaryDirectory()
    for (i, slice) in slices.enumerated() {
        let stream = dir.path("\(i).rowstream")
        let result = try run(Package.tool("pg-extract"), [], stdin: Data((try slice.jsonLine() + "\n").utf8), stdoutFile: stream,
                             environment: db.environment)
        guard result.status == 0 else { throw TestFailure("pg-extract \(slice.stem) failed: \(result.err)") }
        let load = try db.copyIn(stream, table: table)
        guard load.status == 0 else { throw TestFailure("COPY FROM of \(slice.stem) failed: \(load.err)") }
    }
}
