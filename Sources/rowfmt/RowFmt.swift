import ArgumentParser
import Parquet
import RowFormats
import ToolSupport

extension RowFormat: ExpressibleByArgument {}

/// rowfmt: converts typed rows between rowstream, JSON Lines, CSV and Parquet.
@main
struct RowFmt: Tool {
    static let configuration = CommandConfiguration(
        commandName: "rowfmt",
        abstract: "Convert rows between rowstream, JSON Lines, CSV and Parquet, exactly typed.",
        discussion: """
            JSON Lines equal PostgreSQL's row_to_json (TimeZone=UTC); CSV is byte-identical to COPY … \
            (FORMAT csv, HEADER). Reading JSONL or CSV uses --schema (the JSON a rowstream carries) or, \
            without it, infers the column types in two passes over a spooled copy (docs/types.md). \
            Parquet is compressed inside the file (archives name it .parquet, no outer extension) and \
            carries the schema under the footer key pgarchive.schema; a piped Parquet input is spooled \
            to a temporary file. Malformed input exits 1 naming the line, column and reason; a rowstream \
            written so far then has no trailer.
            """,
        version: PGArchive.versionLine("rowfmt"))

    @Option(help: ArgumentHelp("Input format: rowstream, jsonl, csv or parquet.", valueName: "format"))
    var from: RowFormat

    @Option(help: ArgumentHelp("Output format: rowstream, jsonl, csv or parquet.", valueName: "format"))
    var to: RowFormat

    @Option(help: ArgumentHelp("Schema JSON file (the schema a rowstream carries) for reading JSONL or CSV, or a plain COPY BINARY stream; for Parquet, the schema its pgarchive.schema footer key must equal.", valueName: "file"))
    var schema: String?

    @Option(help: ArgumentHelp("Parquet page compression: zstd (default), lz4 (LZ4_RAW), gzip or none.", valueName: "codec"))
    var compression: String = "zstd"

    @Option(name: .customLong("compression-level"), help: ArgumentHelp("Parquet codec level: zstd 1-22 (default 3), gzip 1-9 (default 6).", valueName: "n"))
    var compressionLevel: Int?

    @Option(name: .customLong("row-group-size"), help: ArgumentHelp("Close a Parquet row group at about this many uncompressed bytes (suffixes K, M, G; default 32M).", valueName: "bytes"))
    var rowGroupSize: String = "32M"

    @Option(name: .customLong("chunk-size"),
            help: ArgumentHelp("Rows per batch: Parquet closes a row group, JSONL and CSV hand the rows rendered so far to the output.",
                               valueName: "rows"))
    var chunkSize: Int = 1 << 20

    @Flag(name: .customLong("special-values-as-text"), help: "Write numeric(p,s), date, timestamp, timestamptz and array columns to Parquet as text, so NaN and numeric infinities (also as array elements) and timestamps past the year 294247 survive.")
    var specialValuesAsText = false

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file (created only when complete) instead of standard output.", valueName: "file"))
    var output: String?

    @Option(name: .customLong("progress-fd"), help: ArgumentHelp("Write progress JSON lines to this descriptor (docs/progress.md).", valueName: "n"))
    var progressFD: Int32?

    @Flag(help: "Convert each frame of a framed stream on its own (docs/framing.md): one frame in, one frame out, each frame's bytes those of the one-slice form; needs --from rowstream.")
    var framed = false

    @Flag(name: [.customShort("f"), .long], help: "Write a rowstream or Parquet even to a terminal.")
    var force = false

    @Argument(help: ArgumentHelp("Input file; - or none for standard input.", valueName: "file"))
    var input: String = "-"

    func validate() throws {
        if let progressFD, progressFD < 0 { throw ValidationError("--progress-fd must not be negative") }
        if to != .parquet {
            let given = [(compression != "zstd", "--compression"), (compressionLevel != nil, "--compression-level"),
                         (rowGroupSize != "32M", "--row-group-size"),
                         (specialValuesAsText, "--special-values-as-text")].filter(\.0).map(\.1)
            if let first = given.first { throw ValidationError("\(first) applies only to --to parquet") }
        }
        _ = try parquetOptions()
        if framed {
            if from != .rowstream { throw ValidationError("--framed needs --from rowstream") }
            if output != nil { throw ValidationError("--framed writes its frames to standard output: -o does not apply") }
        }
    }

    /// The Parquet writer settings from the options.
    func parquetOptions() throws -> ParquetOutputOptions {
        var options = ParquetOutputOptions()
        switch compression {
        case "zstd": options.codec = .zstd
        case "lz4": options.codec = .lz4Raw
        case "gzip": options.codec = .gzip
        case "none": options.codec = .uncompressed
        default: throw ValidationError("--compression must be zstd, lz4, gzip or none, not \"\(compression)\"")
        }
        let levels = options.codec == .zstd ? 1...22 : options.codec == .gzip ? 1...9 : 0...Int.max
        options.level = compressionLevel ?? (options.codec == .gzip ? 6 : 3)
        guard levels.contains(options.level) else {
            throw ValidationError("--compression-level for \(compression) must be \(levels.lowerBound)-\(levels.upperBound)")
        }
        guard let bytes = Self.byteCount(rowGroupSize), bytes > 0 else {
            throw ValidationError("--row-group-size must be a positive byte count such as 1048576, 512K or 32M, not \"\(rowGroupSize)\"")
        }
        guard chunkSize > 0 else { throw ValidationError("--chunk-size must be positive") }
        options.rowGroupBytes = bytes
        options.rowGroupRows = chunkSize
        options.specialValuesAsText = specialValuesAsText
        return options
    }

    /// "32M", "512K", "1G", "1048576" (binary multiples; a trailing "iB" or "B" is allowed).
    static func byteCount(_ text: String) -> Int? {
        var digits = Substring(text)
        for suffix in ["iB", "B"] where digits.hasSuffix(suffix) { digits = digits.dropLast(suffix.count); break }
        var shift = 0
        switch digits.last {
        case "K", "k": shift = 10
        case "M", "m": shift = 20
        case "G", "g": shift = 30
        default: break
        }
        if shift > 0 { digits = digits.dropLast() }
        guard let value = Int(digits), value >= 0, value <= Int.max >> shift else { return nil }
        return value << shift
    }

    func run() throws {
        if output == nil && (framed || to == .rowstream || to == .parquet) {
            try refuseBinaryToTerminal(force: force, what: framed ? "a framed stream" : to == .parquet ? "Parquet" : "a rowstream")
        }
        var options = Conversion.Options(from: from, to: to)
        options.schemaPath = schema
        options.inputPath = input
        options.outputPath = output
        options.parquet = try parquetOptions()
        options.batchRows = UInt64(chunkSize)
        options.progress = ProgressReporter(fd: progressFD, stage: "rowfmt")
        options.warn = { warn("rowfmt", $0) }
        do {
            if framed { try Conversion.runFramed(options) } else { try Conversion.run(options) }
        } catch let error as FormatError {
            throw ToolError(error.message, status: error.inputEnded ? .consequence : .failure)
        }
    }
}
