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
}

/// A consumer of typed rows that writes one format.
public protocol RowWriter: AnyObject {
    /// Writes the current row of `reader`.
    func write(_ reader: any RowReader) throws
    /// Ends the output (trailer, flush); only after every row was written.
    func finish() throws
    /// Ends a failed output so that no consumer mistakes it for a complete one.
    func abandon()
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
    /// An error with its full message.
    public init(_ message: String) { self.message = message }
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
public func convert(_ reader: any RowReader, to writer: any RowWriter, progress: (UInt64) -> Void = { _ in }) throws -> UInt64 {
    var rows: UInt64 = 0
    do {
        while try reader.next() {
            try writer.write(reader)
            rows += 1
            progress(rows)
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
/// Each tuple is split into fields once, into a table behind a pointer, so that `field(_:)` on the
/// hot path is a plain load.
public final class RowStreamRowReader: RowReader {
    private let reader: RowStreamReader
    private let fields: UnsafeMutablePointer<UnsafeRawBufferPointer?>
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
        fields = .allocate(capacity: max(columns, 1))
        fields.initialize(repeating: nil, count: max(columns, 1))
    }

    deinit { fields.deallocate() }

    public func next() throws -> Bool {
        do {
            guard try reader.next() else { return false }
        } catch let error as RowStreamError {
            throw FormatError(error.description)
        }
        // The reader has checked the field count and every length against the tuple's bytes.
        let tuple = reader.rawTuple
        var position = 2
        for i in 0..<columns {
            let length = Int(tuple.int32(position))
            position += 4
            if length < 0 {
                fields[i] = nil
            } else {
                fields[i] = UnsafeRawBufferPointer(rebasing: tuple[position..<(position + length)])
                position += length
            }
        }
        return true
    }

    @inline(__always)
    public func field(_ index: Int) -> UnsafeRawBufferPointer? { fields[index] }
}

/// Writes rows as a rowstream.
public final class RowStreamRowWriter: RowWriter {
    private let writer: RowStreamWriter
    private let columns: Int

    /// Writes the header for `schema` through `output`.
    public init(schema: RowStreamSchema, output: @escaping ByteOutput) throws {
        writer = try RowStreamWriter(schema: schema, output: output)
        columns = schema.columns.count
    }

    public func write(_ reader: any RowReader) throws {
        try writer.beginRow()
        for i in 0..<columns { try writer.field(reader.field(i)) }
    }

    public func finish() throws { try writer.finish() }

    public func abandon() { writer.abandon() }
}
