/// A streaming rowstream writer: header with schema, tuples, trailer, through a caller's sink.
///
/// Bytes are gathered in a buffer and handed to `output` in large pieces. `finish()` writes the
/// trailer; a writer dropped without `finish()` leaves a stream every reader rejects as truncated.
public final class RowStreamWriter {
    /// Receives the encoded bytes (for example a `FileSink`'s `write`).
    public typealias Output = (UnsafeRawBufferPointer) throws -> Void

    private let output: Output
    private var buffer: [UInt8] = []
    private let flushSize: Int
    private let fieldCount: Int
    private var fieldsLeft = 0
    /// Tuples written so far.
    public private(set) var rows: UInt64 = 0
    /// Bytes produced so far (handed to `output` or buffered).
    public private(set) var bytes: UInt64 = 0
    private var finished = false
    private var lastRowEnd = 0

    /// Writes the header for `schema` and prepares for tuples of `schema.columns.count` fields.
    public init(schema: RowStreamSchema, flushSize: Int = 256 * 1024, output: @escaping Output) throws {
        self.output = output
        self.flushSize = flushSize
        fieldCount = schema.columns.count
        buffer.reserveCapacity(flushSize + 1024)
        append(try RowStreamFormat.header(for: schema))
        lastRowEnd = buffer.count
    }

    /// Starts a tuple; exactly one `field` call per column must follow.
    public func beginRow() throws {
        guard fieldsLeft == 0 else { throw RowStreamError("row \(rows) started before its \(fieldsLeft) remaining fields were written") }
        RowStreamFormat.appendBigEndian(Int16(fieldCount), to: &buffer)
        bytes += 2
        fieldsLeft = fieldCount
        if fieldCount == 0 { try endRow() }
    }

    /// Writes one field: its bytes in PostgreSQL binary form, or nil for NULL.
    public func field(_ value: UnsafeRawBufferPointer?) throws {
        guard fieldsLeft > 0 else { throw RowStreamError("row \(rows) has more fields than the schema's \(fieldCount) columns") }
        if let value {
            RowStreamFormat.appendBigEndian(Int32(value.count), to: &buffer)
            buffer.append(contentsOf: value)
            bytes += 4 + UInt64(value.count)
        } else {
            RowStreamFormat.appendBigEndian(Int32(-1), to: &buffer)
            bytes += 4
        }
        fieldsLeft -= 1
        if fieldsLeft == 0 { try endRow() }
    }

    /// Writes one field from a byte array (nil for NULL).
    public func field(_ value: [UInt8]?) throws {
        guard let value else { return try field(nil as UnsafeRawBufferPointer?) }
        try value.withUnsafeBytes { try field($0) }
    }

    /// Writes the trailer and flushes everything to `output`.
    public func finish() throws {
        guard !finished else { return }
        guard fieldsLeft == 0 else { throw RowStreamError("stream finished inside row \(rows) (\(fieldsLeft) fields missing)") }
        append(RowStreamFormat.trailer)
        try flush()
        finished = true
    }

    /// Ends a failed stream: the complete tuples, then a lone field count and no trailer, so every
    /// reader (even PostgreSQL's `COPY FROM`, which accepts end of input at a tuple boundary)
    /// rejects it as truncated. Errors while doing so are ignored: the caller is already failing.
    public func abandon() {
        guard !finished else { return }
        finished = true
        if fieldsLeft > 0 {
            buffer.removeLast(buffer.count - min(buffer.count, lastRowEnd))
        }
        RowStreamFormat.appendBigEndian(Int16(max(fieldCount, 1)), to: &buffer)
        try? flush()
    }

    private func endRow() throws {
        rows += 1
        lastRowEnd = buffer.count
        if buffer.count >= flushSize { try flush() }
    }

    private func append(_ bytes: [UInt8]) {
        buffer += bytes
        self.bytes += UInt64(bytes.count)
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try output($0) }
        buffer.removeAll(keepingCapacity: true)
        lastRowEnd = 0
    }
}
