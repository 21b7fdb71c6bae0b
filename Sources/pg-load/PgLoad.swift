import ArgumentParser
import FoundationEssentials
import PGAccess
import PGLoad
import PGToolOptions
import RowDigest
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
            partitions are created first, each in its own transaction under an advisory lock. An existing column \
            whose type could change a value is refused (--allow-lossy-cast converts). With --object-key the same \
            transaction records the object in the load ledger and skips one recorded before (--reload loads it again). \
            Prints one JSON line: rows read, inserted, conflicts, partitions created. The password comes from \
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

    @Option(name: .customLong("expect-rows"), help: ArgumentHelp("Load nothing (exit 1) unless the input holds exactly this many rows.", valueName: "n"))
    var expectRows: UInt64?

    @Option(name: .customLong("expect-digest"), help: ArgumentHelp("Load nothing (exit 1) unless the input's row digest (docs/rowstream.md) is this one: 32 hex digits.", valueName: "hex"))
    var expectDigest: String?
    @Option(help: ArgumentHelp("Create a missing table from this schema JSON (the joined archived versions, docs/types.md) instead of the stream's.", valueName: "file"))
    var definition: String?

    @Flag(name: .customLong("allow-lossy-cast"), help: "Load into existing columns whose type could change values (numeric(10,3) into numeric(10,1), …); without it such an input is refused.")
    var allowLossyCast = false

    @Flag(name: .customLong("generated-as-data"), help: "Restore archived generated columns as plain columns holding the archived values (a created table); refused into a target column that is generated.")
    var generatedAsData = false

    @Option(name: .customLong("object-key"), help: ArgumentHelp("The archived object the input is: recorded in the load ledger, skipped when recorded already (docs/restore-ledger.md).", valueName: "key"))
    var objectKey: String?

    @Option(name: .customLong("object-etag"), help: ArgumentHelp("The object's ETag, recorded; an object whose ETag changed since it was loaded is skipped.", valueName: "etag"))
    var objectETag: String?

    @Option(name: .customLong("object-digest"), help: ArgumentHelp("The object's content digest, recorded with it.", valueName: "digest"))
    var objectDigest: String?

    @Flag(help: "Load an object the ledger records as loaded (again), warning that its rows may be duplicated.")
    var reload = false

    @Option(name: .customLong("progress-fd"), help: ArgumentHelp("Write progress JSON lines to this descriptor (docs/progress.md).", valueName: "n"))
    var progressFD: Int32?

    @Option(name: .customLong("commit-fd"), help: ArgumentHelp("After the input ends, move the rows into the table only once \"commit\" is read from this descriptor; anything else loads nothing.", valueName: "n"))
    var commitFd: Int32?

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    func validate() throws {
        if partitionTemplate != nil && partitionRange == nil { throw ValidationError("--table-partition-template needs --table-partition-range") }
        if dateColumn != nil && partitionRange == nil { throw ValidationError("--date-column needs --table-partition-range") }
        if let progressFD, progressFD < 0 { throw ValidationError("--progress-fd must not be negative") }
        if let commitFd, commitFd < 0 { throw ValidationError("--commit-fd must not be negative") }
        if let expectDigest, RowDigest.parseHex(expectDigest) == nil { throw ValidationError("--expect-digest must be 32 hex digits, not \"\(expectDigest)\"") }
        if objectKey == nil && (objectETag != nil || objectDigest != nil || reload) {
            throw ValidationError("--object-etag, --object-digest and --reload need --object-key")
        }
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
        request.commitGate = commitFd.map { CommitGate(fd: $0) }
        request.expectRows = expectRows
        request.expectDigest = expectDigest
        request.allowLossyCast = allowLossyCast
        request.objectKey = objectKey
        request.objectETag = objectETag
        request.objectDigest = objectDigest
        request.reload = reload
        request.generatedAsData = generatedAsData
        let parameters = connection.parameters(environment: ProcessInfo.processInfo.environment, applicationName: "pg-load")
        let stdin = FileSource.standardInput
        do {
            if let definition {
                guard let bytes = try? Data(contentsOf: URL(fileURLWithPath: definition)) else {
                    throw ToolError("could not read the definition \(definition)")
                }
                do {
                    request.definition = try bytes.withUnsafeBytes { try RowStreamSchema.decode(json: $0) }
                } catch let error as RowStreamError {
                    throw ToolError("the definition \(definition): \(error.message)")
                }
            }
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
            throw ToolError(error.message, status: error.notFound ? .notFound : error.consequence ? .consequence : .failure)
        } catch let error as RowStreamError {
            throw ToolError("standard input: \(error)", status: error.inputEnded ? .consequence : .failure)
        }
    }
}
