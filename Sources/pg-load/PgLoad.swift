import ArgumentParser
import FoundationEssentials
import PGAccess
import PGLoad
import PGToolOptions
import RowStream
import ToolSupport

extension PartitionRange: ExpressibleByArgument {}
extension ConflictPolicy: ExpressibleByArgument {}

/// pg-load: a rowstream on stdin into a PostgreSQL table (the inverse of pg-extract).
@main
struct PgLoad: Tool {
    static let configuration = CommandConfiguration(
        commandName: "pg-load",
        abstract: "Load a rowstream from standard input into a PostgreSQL table, creating it and its partitions when asked.",
        discussion: """
            Rows are staged with COPY (FORMAT binary) into a temporary table and moved into the target with \
            one INSERT … SELECT … ON CONFLICT DO NOTHING transaction, so a bad input changes nothing. Missing \
            partitions are created first, each in its own transaction under an advisory lock. Prints one JSON \
            line: rows read, inserted, conflicts, partitions created. The password comes from \
            ARCHIVE_DB_PASSWORD or PGPASSWORD, never from the command line.
            """,
        version: PGArchive.versionLine("pg-load"))

    @Option(help: ArgumentHelp("Target table (default: the table the stream names).", valueName: "name"))
    var table: String?

    @Option(help: ArgumentHelp("Schema of the target table.", valueName: "name"))
    var schema = "public"

    @Flag(help: "Create the table (and the enum types it needs) from the stream's schema when it does not exist.")
    var create = false

    @Option(name: .customLong("table-partition-range"), help: ArgumentHelp("Partition the table by this range and create missing partitions: hourly, daily, monthly, quarterly, yearly.", valueName: "range"))
    var partitionRange: PartitionRange?

    @Option(name: .customLong("table-partition-template"), help: ArgumentHelp("Partition names: {table}, {YYYY}, {MM}, {DD}, {HH}, {Q} (default per range: {table}_{YYYY}{MM}{DD}, …).", valueName: "template"))
    var partitionTemplate: String?

    @Option(name: .customLong("date-column"), help: ArgumentHelp("Partition column (default: the stream's partition key).", valueName: "column"))
    var dateColumn: String?

    @Option(name: .customLong("on-conflict"), help: ArgumentHelp("Rows that violate a unique constraint: nothing (skip and count them) or error (fail the input).", valueName: "policy"))
    var onConflict: ConflictPolicy = .nothing

    @Flag(name: .customLong("dry-run"), help: "Read and check everything, change nothing (no DDL, no rows).")
    var dryRun = false

    @Option(name: .customLong("progress-fd"), help: ArgumentHelp("Write progress JSON lines to this descriptor (docs/progress.md).", valueName: "n"))
    var progressFD: Int32?

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    func validate() throws {
        if partitionTemplate != nil && partitionRange == nil { throw ValidationError("--table-partition-template needs --table-partition-range") }
        if dateColumn != nil && partitionRange == nil { throw ValidationError("--date-column needs --table-partition-range") }
        if let progressFD, progressFD < 0 { throw ValidationError("--progress-fd must not be negative") }
    }

    func run() throws {
        var request = LoadRequest()
        request.schema = schema
        request.table = table
        request.create = create
        request.partitionRange = partitionRange
        request.partitionTemplate = partitionTemplate
        request.dateColumn = dateColumn
        request.onConflict = onConflict
        request.dryRun = dryRun
        let parameters = connection.parameters(environment: ProcessInfo.processInfo.environment, applicationName: "pg-load")
        let stdin = FileSource.standardInput
        do {
            let reader = try RowStreamReader { try stdin.read(into: $0) }
            let conn = try PGConnection(parameters)
            let result = try Loader.load(request, connection: conn, input: reader,
                                         progress: ProgressReporter(fd: progressFD, stage: "pg-load")) { warn("pg-load", $0) }
            let out = FileSink.standardOutput()
            try out.write(result.json + "\n")
            try out.flush()
        } catch let error as PGError {
            throw error.toolError
        } catch let error as LoadError {
            throw ToolError(error.message, status: error.notFound ? .notFound : .failure)
        } catch let error as RowStreamError {
            throw ToolError("standard input: \(error)", status: error.inputEnded ? .consequence : .failure)
        }
    }
}
