import ArchiverConfig
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import SlicePlan

/// The fields of a pg-partitions plan line (docs/plan.md) the orchestrator reads. The line
/// itself is passed on to pg-extract untouched.
public struct PlanLine: Decodable, Sendable {
    /// The base table.
    public var table: String
    /// The window label (`2024-01-05`).
    public var label: String
    /// The file stem (`flights-2024-01-05`), unique within a plan.
    public var stem: String
    /// Window start and exclusive end (RFC 3339 UTC).
    public var start: String
    public var end: String
    /// Path-template parts from the calendar window's start.
    public var parts: Parts
    /// Row count or estimate.
    public var rows: Int64?
    /// Whether `rows` is exact.
    public var rowsExact: Bool?
    /// Estimated bytes on disk of the slice's rows (a size hint for the upload).
    public var diskBytes: Int64?
    /// The window contains now.
    public var open: Bool
    /// The window was cut by the date range.
    public var partial: Bool
    /// Why the slice could not be fully planned.
    public var error: String?
    /// The relations to read, with their row filters (docs/plan.md).
    public var sources: [Slice.Source]?
    /// The original JSON line.
    public var json: String = ""

    /// Template parts.
    public struct Parts: Decodable, Sendable {
        public var YYYY: String
        public var MM: String
        public var DD: String
        public var HH: String
    }

    enum CodingKeys: String, CodingKey {
        case table, label, stem, start, end, parts, rows, open, partial, error, sources
        case rowsExact = "rows_exact"
        case diskBytes = "disk_bytes"
    }

    /// Parses one line of pg-partitions output.
    public static func parse(_ line: String) throws -> PlanLine {
        do {
            var plan = try JSONDecoder().decode(PlanLine.self, from: Data(line.utf8))
            plan.json = line
            return plan
        } catch {
            throw OrchestratorError("pg-partitions printed a plan line that does not parse: \(error)")
        }
    }
}

extension ChildInvocation {
    /// pg-partitions arguments for the configured table, range and duration.
    func planArguments(count: String) -> [String] {
        var args = ["--table", config.table!, "--schema", config.dbSchema, "--output-duration", config.outputDuration.rawValue,
                    "--count", count] + connectionArguments
        if let start = config.startDate { args += ["--start-date", start] }
        if let end = config.endDate { args += ["--end-date", end] }
        if let column = config.dateColumn { args += ["--date-column", column] }
        if config.includeNonPartitionTables { args.append("--include-non-partition-tables") }
        return args
    }
}
