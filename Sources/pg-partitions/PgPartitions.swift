import ArgumentParser
import FoundationEssentials
import PGAccess
import PGPlanning
import PGToolOptions
import SlicePlan
import ToolSupport

/// pg-partitions: plan the slices (output files) of a table, one JSON line each (docs/plan.md).
@main
struct PgPartitions: Tool {
    static let configuration = CommandConfiguration(
        commandName: "pg-partitions",
        abstract: "Find every partition of a table and print one JSON plan line per output file.",
        discussion: """
            Lines follow docs/plan.md. Problems (a partition that cannot be read or placed) are reported \
            on stderr and make the exit status 1; the other slices are still printed, and a slice that \
            needs the problem partition carries "error". Rows that no window can hold are counted and \
            printed as "unwindowed" lines after the slices, and a relation that could not be planned as an \
            "unplanned" line; unwindowed rows make the exit status 1 unless --allow-unwindowed. A relation that more than \
            \(UnindexedScan.windowThreshold) slices read through a filter on the date column while no index starts with that column (each slice then \
            scans all of it) is a warning on stderr (and an "unindexed" line with --report-unindexed); it does not change the exit \
            status. The password comes from ARCHIVE_DB_PASSWORD or PGPASSWORD, never from the command line.
            """,
        version: PGArchive.versionLine("pg-partitions"))

    @Option(help: "The base table (required).")
    var table: String

    @Option(help: "Schema of the table.")
    var schema = "public"

    @Option(name: .customLong("start-date"), help: "First day (YYYY-MM-DD, UTC); default: no lower bound.")
    var startDate: String?

    @Option(name: .customLong("end-date"), help: "Last day, inclusive (YYYY-MM-DD, UTC); default: today.")
    var endDate: String?

    @Option(name: .customLong("output-duration"), help: "Window of one output file: hourly, daily, weekly, monthly, yearly.")
    var outputDuration = "daily"

    @Option(name: .customLong("date-column"), help: "Column for filtering and splitting (default: the partition key when it is one date/timestamp column).")
    var dateColumn: String?

    @Flag(name: .customLong("include-non-partition-tables"), help: "Also take standalone tables named TABLE_<date>.")
    var includeNonPartitionTables = false

    @Option(help: "Row counts: exact, estimate or none.")
    var count = "estimate"

    @Option(parsing: .upToNextOption, help: "Only these file stems (e.g. flights-2024-01-05).")
    var only: [String] = []

    @Flag(name: .customLong("allow-unwindowed"),
          help: "Rows that belong to no window (NULL or ±infinity in the date column, outside their relation's window) are reported as warnings, not errors.")
    var allowUnwindowed = false

    @Flag(name: .customLong("report-unindexed"),
          help: "Also print each relation the slices will scan whole (no index on the date column) as an \"unindexed\" line after the slices; the warning on stderr comes either way.")
    var reportUnindexed = false

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    func validate() throws {
        if OutputDuration(rawValue: outputDuration) == nil {
            throw ValidationError("--output-duration must be hourly, daily, weekly, monthly or yearly, not \"\(outputDuration)\"")
        }
        if PlanOptions.Counting(rawValue: count) == nil { throw ValidationError("--count must be exact, estimate or none, not \"\(count)\"") }
        for (flag, value) in [("--start-date", startDate), ("--end-date", endDate)] {
            if let value, value.count != 10 || Instant.parse(value) == nil {
                throw ValidationError("\(flag) must be a date YYYY-MM-DD, not \"\(value)\"")
            }
        }
        if let s = startDate.flatMap(Instant.parse), let e = endDate.flatMap(Instant.parse), e < s {
            throw ValidationError("--end-date \(endDate!) is before --start-date \(startDate!)")
        }
    }

    func run() throws {
        let now = Instant(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000))
        var options = PlanOptions(table: table, now: now)
        options.schema = schema
        options.startDate = startDate.flatMap(Instant.parse)
        options.endDate = endDate.flatMap(Instant.parse)
        options.duration = OutputDuration(rawValue: outputDuration)!
        options.dateColumn = dateColumn
        options.includeNonPartitionTables = includeNonPartitionTables
        options.counting = PlanOptions.Counting(rawValue: count)!
        options.only = only
        let parameters = connection.parameters(environment: ProcessInfo.processInfo.environment, applicationName: "pg-partitions")
        let result: PlanResult
        do {
            let conn = try PGConnection(parameters)
            result = try PartitionPlanner.plan(conn, options)
        } catch let error as PGError {
            throw error.toolError
        } catch let error as PlanError {
            throw ToolError(error.message)
        }
        let out = FileSink.standardOutput()
        let lines = result.slices.map(PlanLine.slice) + result.unwindowed.map(PlanLine.unwindowed) + result.unplanned.map(PlanLine.unplanned)
            + (reportUnindexed ? result.unindexed.map(PlanLine.unindexed) : [])
        for line in lines { try out.write(try line.jsonLine() + "\n") }
        try out.flush()
        for scan in result.unindexed { warn("pg-partitions", scan.message) }
        let missing = Set(only).subtracting(result.slices.map(\.stem))
        for stem in missing.sorted() { warn("pg-partitions", "no slice \(stem) in the plan") }
        var errors = result.problems
        for rows in result.unwindowed {
            if allowUnwindowed { warn("pg-partitions", rows.message) } else { errors.append(rows.message + " (--allow-unwindowed accepts that)") }
        }
        guard let last = errors.last else { return }
        for problem in errors.dropLast() { writeStandardError("pg-partitions: error: \(problem)\n") }
        throw ToolError(last)
    }
}
