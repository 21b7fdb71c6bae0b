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

/// Runs pg-partitions against a database; returns the exit status, the slices, stderr, and the
/// unwindowed, unplanned and unindexed lines (docs/plan.md).
func planSlices(_ db: ScratchDatabase, _ arguments: [String], environment: [String: String]? = nil) throws
    -> (status: Int32, slices: [Slice], err: String, unwindowed: [UnwindowedRows], unplanned: [UnplannedRelation], unindexed: [UnindexedScan]) {
    let result = try run(Package.tool("pg-partitions"), arguments, environment: environment ?? db.environment)
    var slices: [Slice] = [], unwindowed: [UnwindowedRows] = [], unplanned: [UnplannedRelation] = [], unindexed: [UnindexedScan] = []
    for line in result.out.split(separator: "\n") {
        switch try PlanLine.parse(String(line)) {
        case .slice(let slice): slices.append(slice)
        case .unwindowed(let rows): unwindowed.append(rows)
        case .unplanned(let relation): unplanned.append(relation)
        case .unindexed(let scan): unindexed.append(scan)
        }
    }
    return (result.status, slices, result.err, unwindowed, unplanned, unindexed)
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
