import FoundationEssentials
import RowDigest
import RowStream
import ToolSupport

/// rowfmt's work: open the input, pick the reader and writer, convert, commit the output.
public enum Conversion {
    /// What to convert, from where, to where.
    public struct Options {
        /// The input format.
        public var from: RowFormat
        /// The output format.
        public var to: RowFormat
        /// A schema JSON file (`--schema`), if given.
        public var schemaPath: String?
        /// The input path; `-` is standard input.
        public var inputPath = "-"
        /// The output file (temp + rename), or nil for standard output.
        public var outputPath: String?
        /// Where progress lines go.
        public var progress = ProgressReporter(fd: nil, stage: "rowfmt")
        /// How to write Parquet.
        public var parquet = ParquetOutputOptions()
        /// JSONL and CSV output: rows rendered per batch; each batch is handed to the output at
        /// once (sooner when 256 KiB are buffered). Nil: only when the buffer fills.
        public var batchRows: UInt64?
        /// Called with a warning for the user (a Parquet input whose types had to be inferred).
        public var warn: (String) -> Void = { _ in }

        /// Options for a conversion between two formats.
        public init(from: RowFormat, to: RowFormat) {
            self.from = from
            self.to = to
        }
    }

    /// Converts the input to the output; throws `FormatError` or `ToolError` naming what and where.
    public static func run(_ options: Options) throws {
        let schema = try options.schemaPath.map(loadSchema)
        let source = try FileSource.open(path: options.inputPath)
        let reader = try makeReader(options.from, source: source, schema: schema, inputName: options.inputPath)
        if let parquet = reader as? ParquetRowReader {
            let name = options.inputPath == "-" ? "stdin" : options.inputPath
            if let expected = schema, let path = options.schemaPath {
                try ParquetTypes.checkFooter(parquet.schema, inferred: parquet.schemaInferred, against: expected, file: name, schemaFile: path)
            } else if parquet.schemaInferred {
                options.warn("\"\(name)\" has no \(ParquetTypes.schemaKey) footer key: the column types are inferred from its Parquet types (docs/types.md)")
            }
        }
        let atomic = try options.outputPath.map { try AtomicOutput(path: $0) }
        let sink = atomic?.sink ?? FileSink.standardOutput()
        let figures: (rows: UInt64, extra: [String: String])
        do {
            figures = try stream(reader, options: options, to: sink)
            try atomic?.commit()
        } catch {
            try? sink.flush()
            atomic?.discard()
            throw error
        }
        options.progress.finish(rows: figures.rows, bytes: sink.bytesWritten, extra: figures.extra)
    }

    /// `rowfmt --framed` (docs/framing.md): each frame of the input converted on its own, into
    /// one frame of the output with the same bytes the one-slice form writes for it.
    public static func runFramed(_ options: Options) throws {
        let schema = try options.schemaPath.map(loadSchema)
        let input = try FileSource.open(path: options.inputPath)
        try FramedFilter.run(stage: "rowfmt", input: input, progress: options.progress,
                             describe: { ($0 as? FormatError)?.message ?? FramedFilter.message($0) }) { frame, sink, progress in
            let reader = try makeReader(options.from, source: frame.source, schema: schema, inputName: "-")
            var frameOptions = options
            frameOptions.progress = progress
            let figures = try stream(reader, options: frameOptions, to: sink)
            progress.finish(rows: figures.rows, bytes: sink.bytesWritten, extra: figures.extra)
            return figures.extra.merging(["rows": String(figures.rows), "bytes": String(sink.bytesWritten)]) { a, _ in a }
        }
    }

    /// Converts every row of `reader` into `sink` (flushed at the end), reporting progress on
    /// the way; returns the row count and the final progress line's extra fields.
    static func stream(_ reader: any RowReader, options: Options, to sink: FileSink) throws -> (rows: UInt64, extra: [String: String]) {
        let writer = try makeWriter(options.to, schema: reader.schema, parquet: options.parquet) { try sink.write($0) }
        let progress = options.progress
        let batch = options.batchRows ?? .max
        var untilBatchEnd = batch
        let rows = try convert(reader, to: writer) { rows in
            untilBatchEnd -= 1
            if untilBatchEnd == 0 {
                untilBatchEnd = batch
                try writer.flushRows()
                try sink.flush()
            }
            if rows & 1023 == 0 { progress.update(rows: rows, bytes: sink.bytesWritten) }
        }
        try sink.flush()
        var extra: [String: String] = writer.digest.map { ["digest": JSON.quote($0.hex)] } ?? [:]
        if let uncompressed = writer.uncompressedBytes { extra["uncompressed_bytes"] = String(uncompressed) }
        return (rows, extra)
    }

    /// Reads a schema JSON file.
    public static func loadSchema(_ path: String) throws -> RowStreamSchema {
        let source = try FileSource.open(path: path)
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            data.append(contentsOf: chunk[0..<n])
        }
        do {
            return try data.withUnsafeBytes { try RowStreamSchema.decode(json: $0) }
        } catch let error as RowStreamError {
            throw FormatError("schema file \"\(path)\": \(error.message)")
        }
    }

    /// The reader of a format over `source`.
    public static func makeReader(_ format: RowFormat, source: FileSource, schema: RowStreamSchema?, inputName: String) throws -> any RowReader {
        switch format {
        case .rowstream:
            let stream: RowStreamReader
            do {
                stream = try RowStreamReader { try source.read(into: $0) }
            } catch let error as RowStreamError {
                throw FormatError(error.description, inputEnded: error.inputEnded)
            }
            return try RowStreamRowReader(stream, schema: schema)
        case .jsonl, .csv:
            let syntax: TextRowSyntax = format == .csv ? .csv : .jsonl
            if let schema { return try TextRowReader(syntax: syntax, input: LineInput(source), schema: schema) }
            return try Inference.reader(syntax: syntax, source: source, tableName: tableName(for: inputName))
        case .parquet:
            return try ParquetRowReader.open(source, name: inputName == "-" ? "stdin" : inputName, tableName: tableName(for: inputName))
        }
    }

    /// The writer of a format for rows of `schema`.
    public static func makeWriter(_ format: RowFormat, schema: RowStreamSchema, parquet: ParquetOutputOptions = ParquetOutputOptions(),
                                  output: @escaping ByteOutput) throws -> any RowWriter {
        switch format {
        case .parquet: return try ParquetRowWriter(schema: schema, options: parquet, output: output)
        case .rowstream: return try RowStreamRowWriter(schema: schema, output: output)
        case .jsonl: return try JSONLWriter(schema: schema, output: output)
        case .csv: return try CSVWriter(schema: schema, output: output)
        }
    }

    /// The table name an inferred schema carries: the input file's name without extensions.
    static func tableName(for path: String) -> String {
        guard path != "-" else { return "stdin" }
        let base = path.split(separator: "/").last.map(String.init) ?? path
        return base.split(separator: ".").first.map(String.init) ?? base
    }
}
