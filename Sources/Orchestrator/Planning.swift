import ArchiverConfig
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Pipelines
import RunDisplay
import SlicePlan

/// One line of pg-partitions output (docs/plan.md).
func parsePlanLine(_ line: String) throws -> PlanLine {
    do {
        return try PlanLine.parse(line)
    } catch {
        throw OrchestratorError("pg-partitions printed a plan line that does not parse: \(error)")
    }
}

/// What pg-partitions printed: the slices, the rows no window holds, the relations it could not
/// plan, and a failure it did not explain in those lines.
struct PlanOutput {
    var slices: [Slice] = []
    var unwindowed: [UnwindowedRows] = []
    var unplanned: [UnplannedRelation] = []
    /// Relations each slice will scan whole (no index on the date column): logged as warnings.
    var unindexed: [UnindexedScan] = []
    /// pg-partitions failed although every line it printed parsed and none says why.
    var unexplainedFailure: String?
}

extension ChildInvocation {
    /// Runs pg-partitions (with `--allow-unwindowed`: the run decides about such rows itself;
    /// `--report-unindexed`: its warnings as lines) and
    /// sorts its lines; an `unindexed` line is logged here as a warning (every command that plans).
    /// Its stderr repeats the structured lines, so it goes to the debug log;
    /// a failure with no slice at all is the run's failure.
    /// `spool`: a file path for the output (see `captureLines`).
    func planSlices(count: String, display: RunDisplay, spool: String? = nil) throws -> PlanOutput {
        let args = planArguments(count: count) + ["--allow-unwindowed", "--report-unindexed"]
        display.log(.debug, "plan", [("command", mask(command("pg-partitions", args).shellLine()))])
        var plan = PlanOutput()
        let out = try captureLines("pg-partitions", args, spool: spool, onErrorLine: { [display] line in display.log(.debug, line) },
                                   expecting: { plan.slices.reserveCapacity($0) }) { line in
            switch try parsePlanLine(String(decoding: line, as: UTF8.self)) {
            case .slice(var slice):
                slice.shareTexts(with: plan.slices.last)
                plan.slices.append(slice)
            case .unwindowed(let rows): plan.unwindowed.append(rows)
            case .unplanned(let relation): plan.unplanned.append(relation)
            case .unindexed(let scan):
                plan.unindexed.append(scan)
                let rows = scan.estimatedRows.map { [("estimated_rows", "\($0)")] } ?? []
                display.log(.warn, "slices scan a whole relation", [
                    ("relation", "\(scan.source.schema).\(scan.source.relation)"), ("column", scan.column), ("windows", "\(scan.windows)"),
                ] + rows + [("detail", scan.message)])
            }
        }
        if !out.termination.succeeded {
            if plan.slices.isEmpty && plan.unplanned.isEmpty { throw OrchestratorError("planning failed: \(out.failure("pg-partitions"))") }
            if plan.unplanned.isEmpty && !plan.slices.contains(where: { $0.error != nil }) {
                plan.unexplainedFailure = out.failure("pg-partitions")
            }
        }
        return plan
    }
}

extension Slice {
    /// The window as the cache records what an object covers: `start/end`.
    var windowText: String { "\(start)/\(end)" }

    /// Makes equal texts share one storage with this slice's window and with the slice before:
    /// each parsed line has its own copy of every text, while a source's bounds are mostly the
    /// window, a window starts where the one before ended, and every slice names the same
    /// relation (a few hundred bytes per slice, tens of MB at 100,000).
    mutating func shareTexts(with previous: Slice?) {
        if let previous {
            if start == previous.end { start = previous.end }
            if table == previous.table { table = previous.table }
            if schema == previous.schema { schema = previous.schema }
            if dateColumn == previous.dateColumn { dateColumn = previous.dateColumn }
        }
        for i in sources.indices {
            if sources[i].from == start { sources[i].from = start }
            if sources[i].to == end { sources[i].to = end }
            if let before = previous?.sources.first(where: { $0.relation == sources[i].relation }) {
                sources[i].relation = before.relation
                if sources[i].schema == before.schema { sources[i].schema = before.schema }
                if sources[i].column == before.column { sources[i].column = before.column }
            }
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
