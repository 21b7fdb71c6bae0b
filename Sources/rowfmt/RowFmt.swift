import ArgumentParser
import RowFormats
import ToolSupport

extension RowFormat: ExpressibleByArgument {}

/// rowfmt: converts typed rows between rowstream, JSON Lines and CSV.
@main
struct RowFmt: Tool {
    static let configuration = CommandConfiguration(
        commandName: "rowfmt",
        abstract: "Convert rows between rowstream, JSON Lines and CSV, exactly typed.",
        discussion: """
            JSON Lines equal PostgreSQL's row_to_json (TimeZone=UTC); CSV is byte-identical to COPY … \
            (FORMAT csv, HEADER). Reading JSONL or CSV uses --schema (the JSON a rowstream carries) or, \
            without it, infers the column types in two passes over a spooled copy (docs/types.md). \
            Malformed input exits 1 naming the line, column and reason; a rowstream written so far then \
            has no trailer.
            """,
        version: PGArchive.version)

    @Option(help: ArgumentHelp("Input format: rowstream, jsonl or csv.", valueName: "format"))
    var from: RowFormat

    @Option(help: ArgumentHelp("Output format: rowstream, jsonl or csv.", valueName: "format"))
    var to: RowFormat

    @Option(help: ArgumentHelp("Schema JSON file (the schema a rowstream carries) for reading JSONL or CSV, or a plain COPY BINARY stream.", valueName: "file"))
    var schema: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file (created only when complete) instead of standard output.", valueName: "file"))
    var output: String?

    @Option(name: .customLong("progress-fd"), help: ArgumentHelp("Write progress JSON lines to this descriptor (docs/progress.md).", valueName: "n"))
    var progressFD: Int32?

    @Flag(name: [.customShort("f"), .long], help: "Write a rowstream even to a terminal.")
    var force = false

    @Argument(help: ArgumentHelp("Input file; - or none for standard input.", valueName: "file"))
    var input: String = "-"

    func validate() throws {
        if let progressFD, progressFD < 0 { throw ValidationError("--progress-fd must not be negative") }
    }

    func run() throws {
        if to == .rowstream && output == nil { try refuseBinaryToTerminal(force: force, what: "a rowstream") }
        var options = Conversion.Options(from: from, to: to)
        options.schemaPath = schema
        options.inputPath = input
        options.outputPath = output
        options.progress = ProgressReporter(fd: progressFD, stage: "rowfmt")
        do {
            try Conversion.run(options)
        } catch let error as FormatError {
            throw ToolError(error.message)
        }
    }
}
