import ArgumentParser
import FoundationEssentials
import PGAccess
import PGExtraction
import PGToolOptions
import RowStream
import SlicePlan
import ToolSupport

/// pg-extract: one slice of a table as one rowstream (docs/rowstream.md) on stdout.
@main
struct PgExtract: Tool {
    static let configuration = CommandConfiguration(
        commandName: "pg-extract",
        abstract: "Stream one slice of a PostgreSQL table as a rowstream (COPY BINARY with a schema).",
        discussion: """
            The slice is one plan line from pg-partitions (on stdin, or --plan), or --relation with an \
            optional --date-column/--from/--to filter. All sources are read in one read-only REPEATABLE \
            READ snapshot. A failure exits 1 and never writes the stream's trailer. The password comes \
            from ARCHIVE_DB_PASSWORD or PGPASSWORD, never from the command line.
            """,
        version: PGArchive.versionLine("pg-extract"))

    @Option(help: "One plan line (JSON); without it and without --relation, one line is read from stdin.")
    var plan: String?

    @Option(help: "Read this table (or partition) instead of a plan line.")
    var relation: String?

    @Option(help: "Schema of --relation.")
    var schema = "public"

    @Option(name: .customLong("date-column"), help: "Filter --relation on this column (with --from and/or --to).")
    var dateColumn: String?

    @Option(help: "Inclusive lower bound for --date-column (YYYY-MM-DD or RFC 3339; UTC when no offset).")
    var from: String?

    @Option(help: "Exclusive upper bound for --date-column.")
    var to: String?

    @Option(help: ArgumentHelp("Read only these columns (comma-separated, kept in table order; each must exist), e.g. the columns an archive was made with.", valueName: "names"))
    var columns: String?

    @Flag(help: "Print the schema JSON alone and read no rows.")
    var describe = false

    @Flag(help: ArgumentHelp("Serve many slices on one connection (docs/framing.md): read requests {\"id\":…,\"plan\":{plan line}} one per line on standard input, write one frame per request; the catalog is read once per table."))
    var framed = false

    @Option(name: .customLong("progress-fd"), help: "Write progress JSON lines to this descriptor (docs/progress.md).")
    var progressFD: Int32?

    @Flag(name: [.customShort("f"), .long], help: "Write the binary stream even to a terminal.")
    var force = false

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    func validate() throws {
        if plan != nil && relation != nil { throw ValidationError("--plan and --relation exclude each other") }
        if (from != nil || to != nil) && dateColumn == nil { throw ValidationError("--from and --to need --date-column") }
        if dateColumn != nil && from == nil && to == nil { throw ValidationError("--date-column needs --from and/or --to") }
        if relation == nil && (dateColumn != nil) { throw ValidationError("--date-column, --from and --to go with --relation") }
        for (flag, value) in [("--from", from), ("--to", to)] {
            if let value, Instant.parse(value) == nil { throw ValidationError("\(flag) must be YYYY-MM-DD or an RFC 3339 time, not \"\(value)\"") }
        }
        if let progressFD, progressFD < 0 { throw ValidationError("--progress-fd must not be negative") }
        if let columns, columns.split(separator: ",").isEmpty { throw ValidationError("--columns needs at least one column name") }
        if framed && (plan != nil || relation != nil || describe) {
            throw ValidationError("--framed reads its slices from standard input: --plan, --relation and --describe do not apply")
        }
    }

    func run() throws {
        if !describe { try refuseBinaryToTerminal(force: force, what: framed ? "a framed stream" : "a rowstream") }
        if framed { return try serveFramed() }
        let slice = try readSlice()
        if let error = slice.error { throw ToolError("slice \(slice.stem) could not be fully planned: \(error)") }
        let parameters = connection.parameters(environment: ProcessInfo.processInfo.environment, applicationName: "pg-extract")
        let out = FileSink.standardOutput()
        do {
            let conn = try PGConnection(parameters, extraction: true)
            if describe {
                let (schema, _) = try Extractor.begin(conn, slice: slice, columns: columnList)
                try out.write(try schema.encodedJSON())
                try out.write("\n")
                try out.flush()
                return
            }
            _ = try Extractor.extract(conn, slice: slice, columns: columnList, sink: out,
                                      progress: ProgressReporter(fd: progressFD, stage: "pg-extract"))
        } catch let error as PGError {
            throw error.toolError
        } catch let error as ExtractError {
            throw ToolError(error.message)
        }
    }

    /// `--framed`: one connection, one frame per request line.
    private func serveFramed() throws {
        let parameters = connection.parameters(environment: ProcessInfo.processInfo.environment, applicationName: "pg-extract")
        do {
            let conn = try PGConnection(parameters, extraction: true)
            try FramedExtraction.serve(conn, requests: LineSource(.standardInput), output: FileSink.standardOutput(), columns: columnList,
                                       progress: ProgressReporter(fd: progressFD, stage: "pg-extract"))
        } catch let error as PGError {
            throw error.toolError
        }
    }

    /// `--columns` as names.
    private var columnList: [String]? {
        columns.map { $0.split(separator: ",").map { String($0.filter { $0 != " " }) } }
    }

    private func readSlice() throws -> Slice {
        if let relation {
            let source = Slice.Source(schema: schema, relation: relation, column: dateColumn,
                                      from: from.flatMap(Instant.parse)?.description, to: to.flatMap(Instant.parse)?.description)
            return Slice.relation(source)
        }
        let text: String
        if let plan {
            text = plan
        } else {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            let input = FileSource.standardInput
            while true {
                let n = try chunk.withUnsafeMutableBytes { try input.read(into: $0) }
                if n == 0 { break }
                bytes += chunk[0..<n]
            }
            text = String(decoding: bytes, as: UTF8.self)
        }
        let lines = text.split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }
        guard lines.count == 1 else {
            throw ToolError.usage(lines.isEmpty ? "no plan line (give --plan, --relation or one line on standard input)"
                                                : "expected one plan line, got \(lines.count) (feed several with a shell loop)")
        }
        do {
            return try Slice.parse(String(lines[0]))
        } catch let error as PlanError {
            throw ToolError.usage(error.message)
        }
    }
}
