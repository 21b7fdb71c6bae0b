import ArchiverConfig
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import SlicePlan

/// One line of pg-partitions output as a slice (docs/plan.md).
func parsePlanLine(_ line: String) throws -> Slice {
    do {
        return try Slice.parse(line)
    } catch {
        throw OrchestratorError("pg-partitions printed a plan line that does not parse: \(error)")
    }
}

extension Slice {
    /// The window as the cache records what an object covers: `start/end`.
    var windowText: String { "\(start)/\(end)" }
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
