import RowDigest
import RowStream

/// A source of typed rows: a schema and, per row, each field in PostgreSQL's binary form.
///
/// rowfmt converts any reader to any writer; a new format (Parquet) adds one of each.
public protocol RowReader: AnyObject {
    /// The columns of every row.
    var schema: RowStreamSchema { get }
    /// Advances to the next row; false at the (verified) end of input.
    func next() throws -> Bool
    /// Field `index` of the current row in binary form, nil for NULL (valid until `next()`).
    func field(_ index: Int) -> UnsafeRawBufferPointer?
    /// All fields of the current row, `fieldTable[i]` being `field(i)`, when the reader keeps
    /// them in one table (valid until `next()`); nil otherwise. Lets a writer skip a call per field.
    var fieldTable: UnsafePointer<UnsafeRawBufferPointer?>? { get }
}

extension RowReader {
    /// Readers that build each field on demand have no table.
    public var fieldTable: UnsafePointer<UnsafeRawBufferPointer?>? { nil }
}

/// A consumer of typed rows that writes one format.
public protocol RowWriter: AnyObject {
    /// Writes the current row of `reader`.
    func write(_ reader: any RowReader) throws
    /// Ends the output (trailer, flush); only after every row was written.
    func finish() throws
    /// Ends a failed output so that no consumer mistakes it for a complete one.
    func abandon()
    /// Hands the rows written so far to the output (JSONL, CSV); other formats keep their blocks.
    func flushRows() throws
    /// The row digest of the rows written, for writers that compute one (rowstream output).
    var digest: RowDigest? { get }
    /// For a format that compresses inside the file (Parquet), the uncompressed size of what it
    /// encoded, once finished; nil for the others (their output is uncompressed).
    var uncompressedBytes: UInt64? { get }
}

extension RowWriter {
    public func flushRows() throws {}
    public var digest: RowDigest? { nil }
    public var uncompressedBytes: UInt64? { nil }
}

/// Receives encoded bytes (a `FileSink`'s `write`).
public typealias ByteOutput = (UnsafeRawBufferPointer) throws -> Void

/// The formats rowfmt reads and writes.
public enum RowFormat: String, CaseIterable, Sendable {
    case rowstream, jsonl, csv, parquet
}

/// Malformed input, located: line, column and reason (`line 3, column "price": not a numeric: "x"`).
public struct FormatError: Error, CustomStringConvertible, Sendable {
    /// The one-line message.
    public var message: String
    /// The input ended before its stream did (see `RowStreamError.inputEnded`).
    public var inputEnded = false
    /// An error with its full message.
    public init(_ message: String, inputEnded: Bool = false) {
        self.message = message
        self.inputEnded = inputEnded
    }
    /// An error at an input line, optionally naming the column.
    public init(line: UInt64, column: String? = nil, _ reason: String) {
        var text = "line \(line)"
        if let column { text += ", column \"\(column)\"" }
        message = text + ": " + reason
    }
    public var description: String { message }
}

/// Copies every row from `reader` to `writer`; on failure the writer is abandoned, never finished.
///
/// `progress` is called after each row with the row count.
public func convert(_ reader: any RowReader, to writer: any RowWriter, progress: (UInt64) throws -> Void = { _ in }) throws -> UInt64 {
    var rows: UInt64 = 0
    do {
        while try reader.next() {
            try writer.write(reader)
            rows += 1
            try progress(rows)
        }
        try writer.finish()
    } catch {
        writer.abandon()
        throw error
    }
    return rows
}

/// A rowstream as a `RowReader` (the schema from its header, or one given for plain COPY BINARY).
///
/// The rowstream reader splits each tuple into its field table once; `field(_:)` and
/// `fieldTable` read that table.
public final class RowStreamRowReader: RowReader {
    private let reader: RowStreamReader
    private let columns: Int
    public let schema: RowStreamSchema

    /// Wraps a rowstream reader; `schema` overrides or supplies the stream's own.
    public init(_ reader: RowStreamReader, schema: RowStreamSchema? = nil) throws {
        self.reader = reader
        guard let found = schema ?? reader.schema else {
            throw FormatError("the input is a plain COPY BINARY stream without a schema: give --schema")
        }
        if let count = reader.fieldCount, count != found.columns.count {
            throw FormatError("the schema has \(found.columns.count) columns but the stream has \(count) fields per row")
        }
        self.schema = found
        columns = found.columns.count
    }

    public func next() throws -> Bool {
        let more: Bool
        do {
            more = try reader.next()
        } catch let error as RowStreamError {
            throw FormatError(error.description, inputEnded: error.inputEnded)
        }
        // A plain COPY BINARY stream's field count is known from its first tuple on.
        if more, let count = reader.fieldCount, count != columns {
            throw FormatError("the schema has \(columns) columns but the stream has \(count) fields per row")
        }
        return more
    }

    @inline(__always)
    public func field(_ index: Int) -> UnsafeRawBufferPointer? { reader.fields[index] }

    public var fieldTable: UnsafePointer<UnsafeRawBufferPointer?>? { reader.fields }
}

/// Writes rows as a rowstream, computing their row digest (docs/rowstream.md, "Row digest").
public final class RowStreamRowWriter: RowWriter {
    private let writer: RowStreamWriter
    private let columns: Int
    private let digester: RowDigester

    /// Writes the header for `schema` through `output`.
    public init(schema: RowStreamSchema, output: @escaping ByteOutput) throws {
        writer = try RowStreamWriter(schema: schema, output: output)
        columns = schema.columns.count
        digester = RowDigester(schema: schema)
    }

    public func write(_ reader: any RowReader) throws {
        try writer.beginRow()
        if let table = reader.fieldTable {
            for i in 0..<columns { try writer.field(table[i]) }
            digester.add(fieldCount: columns) { table[$0] }
        } else {
            for i in 0..<columns { try writer.field(reader.field(i)) }
            digester.add(fieldCount: columns) { reader.field($0) }
        }
    }

    public var digest: RowDigest? { digester.digest }

    public func finish() throws { try writer.finish() }

    public func abandon() { writer.abandon() }
}
