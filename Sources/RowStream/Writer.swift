/// A streaming rowstream writer: header with schema, tuples, trailer, through a caller's sink.
///
/// Bytes are gathered in a buffer and handed to `output` in pieces of about `flushSize` bytes
/// (always whole tuples, except fields larger than the buffer, which pass straight through).
/// `finish()` writes the trailer; a writer dropped without `finish()` leaves a stream every
/// reader rejects as truncated.
public final class RowStreamWriter {
    /// Receives the encoded bytes (for example a `FileSink`'s `write`).
    public typealias Output = (UnsafeRawBufferPointer) throws -> Void

    private struct State {
        var used = 0
        var fieldsLeft = 0
        var rows: UInt64 = 0
        var handedOver: UInt64 = 0
        var finished = false
    }

    private let output: Output
    private let flushSize: Int
    private let capacity: Int
    private let fieldCount: Int
    // Hot state behind `let` pointers: `field(_:)` runs millions of times a second and must not
    // pay for dynamic exclusivity checks on class properties.
    private let storage: UnsafeMutableRawPointer
    private let state: UnsafeMutablePointer<State>

    /// Tuples written so far.
    public var rows: UInt64 { state.pointee.rows }
    /// Bytes produced so far (handed to `output` or buffered).
    public var bytes: UInt64 { state.pointee.handedOver + UInt64(state.pointee.used) }

    /// Writes the header for `schema` and prepares for tuples of `schema.columns.count` fields.
    public init(schema: RowStreamSchema, flushSize: Int = 256 * 1024, output: @escaping Output) throws {
        self.output = output
        self.flushSize = max(flushSize, 1)
        capacity = self.flushSize + 64 * 1024
        fieldCount = schema.columns.count
        storage = .allocate(byteCount: capacity, alignment: 16)
        state = .allocate(capacity: 1)
        state.initialize(to: State())
        let header = try RowStreamFormat.header(for: schema)
        try header.withUnsafeBytes { try append($0.baseAddress!, $0.count) }
    }

    deinit {
        storage.deallocate()
        state.deallocate()
    }

    /// Starts a tuple; exactly one `field` call per column must follow.
    public func beginRow() throws {
        guard state.pointee.fieldsLeft == 0 else {
            throw RowStreamError("row \(rows) started before its \(state.pointee.fieldsLeft) remaining fields were written")
        }
        var count = Int16(fieldCount).bigEndian
        try append(&count, 2)
        state.pointee.fieldsLeft = fieldCount
        if fieldCount == 0 { try endRow() }
    }

    /// Writes one field: its bytes in PostgreSQL binary form, or nil for NULL.
    public func field(_ value: UnsafeRawBufferPointer?) throws {
        var st = state.pointee
        guard st.fieldsLeft > 0 else { throw RowStreamError("row \(st.rows) has more fields than the schema's \(fieldCount) columns") }
        let count = value?.count ?? 0
        if st.used + 4 + count <= capacity {
            // Fast path: the whole field fits in the buffer; state is loaded and stored once.
            storage.storeBytes(of: Int32(value == nil ? -1 : count).bigEndian, toByteOffset: st.used, as: Int32.self)
            if count > 0 { (storage + st.used + 4).copyMemory(from: value!.baseAddress!, byteCount: count) }
            st.used += 4 + count
            st.fieldsLeft -= 1
            state.pointee = st
            if st.fieldsLeft == 0 { try endRow() }
            return
        }
        if let value {
            var length = Int32(value.count).bigEndian
            try append(&length, 4)
            if value.count > 0 { try append(value.baseAddress!, value.count) }
        } else {
            var null = Int32(-1).bigEndian
            try append(&null, 4)
        }
        state.pointee.fieldsLeft -= 1
        if state.pointee.fieldsLeft == 0 { try endRow() }
    }

    /// Writes one field from a byte array (nil for NULL).
    public func field(_ value: [UInt8]?) throws {
        guard let value else { return try field(nil as UnsafeRawBufferPointer?) }
        try value.withUnsafeBytes { try field($0) }
    }

    /// Writes the trailer and flushes everything to `output`.
    public func finish() throws {
        guard !state.pointee.finished else { return }
        guard state.pointee.fieldsLeft == 0 else {
            throw RowStreamError("stream finished inside row \(rows) (\(state.pointee.fieldsLeft) fields missing)")
        }
        try RowStreamFormat.trailer.withUnsafeBytes { try append($0.baseAddress!, 2) }
        try flush()
        state.pointee.finished = true
    }

    /// Ends a failed stream between rows: flushes the tuples written and then a lone field count,
    /// never the trailer, so every reader (even PostgreSQL's `COPY FROM`, which accepts end of input
    /// at a tuple boundary) rejects it as truncated. Write errors are ignored: the caller is failing.
    public func abandon() {
        guard !state.pointee.finished else { return }
        state.pointee.finished = true
        var count = Int16(max(fieldCount, 1)).bigEndian
        try? append(&count, 2)
        try? flush()
    }

    @inline(__always)
    private func endRow() throws {
        state.pointee.rows += 1
        if state.pointee.used >= flushSize { try flush() }
    }

    @inline(__always)
    private func append(_ bytes: UnsafeRawPointer, _ count: Int) throws {
        let used = state.pointee.used
        if used + count <= capacity {
            (storage + used).copyMemory(from: bytes, byteCount: count)
            state.pointee.used = used + count
            return
        }
        try flush()
        if count >= capacity {
            try output(UnsafeRawBufferPointer(start: bytes, count: count))
            state.pointee.handedOver += UInt64(count)
        } else {
            storage.copyMemory(from: bytes, byteCount: count)
            state.pointee.used = count
        }
    }

    private func flush() throws {
        let used = state.pointee.used
        guard used > 0 else { return }
        try output(UnsafeRawBufferPointer(start: storage, count: used))
        state.pointee.used = 0
        state.pointee.handedOver += UInt64(used)
    }
}
