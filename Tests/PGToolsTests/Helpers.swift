import Foundation
import SlicePlan
import TestSupport

extension ScratchDatabase {
    /// Loads a COPY BINARY file into a table with psql (the independent reader).
    func copyIn(_ file: String, table: String) throws -> ProcessResult {
        try run("\(pg.binDirectory)/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "COPY \(table) FROM STDIN (FORMAT binary)"],
                stdinFile: file, environment: environment)
    }
}

/// Runs pg-partitions against a database; returns the exit status, the parsed plan lines and stderr.
func planSlices(_ db: ScratchDatabase, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, slices: [Slice], err: String) {
    let result = try run(Package.tool("pg-partitions"), arguments, environment: environment ?? db.environment)
    let slices = try result.out.split(separator: "\n").map { try Slice.parse(String($0)) }
    return (result.status, slices, result.err)
}

/// Extracts every slice with pg-extract (plan line on stdin) and loads each stream into `table` with psql.
func extractAll(_ db: ScratchDatabase, _ slices: [Slice], into table: String) throws {
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
