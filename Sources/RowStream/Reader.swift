/// A streaming, allocation-light rowstream reader.
///
/// `next()` advances to the following tuple; `field(i)` is a slice of the reader's own buffer,
/// valid until the next call to `next()`. The schema comes from the header extension (nil for a
/// plain COPY BINARY stream without ours). A stream that ends before its trailer, has bytes after
/// it, or has a tuple whose field count differs from the schema's, is a `RowStreamError`.
public final class RowStreamReader {
    /// Fills the buffer it is given and returns the count; 0 means end of input.
    public typealias Input = (UnsafeMutableRawBufferPointer) throws -> Int

    private let input: Input
    private var storage: UnsafeMutableRawBufferPointer
    /// The reader's mutable position, behind a `let` pointer: `next()` runs millions of times a
    /// second and must not pay for dynamic exclusivity checks on class stored properties.
    private struct Position {
        var start = 0
        var end = 0
        var discarded: UInt64 = 0
        var inputEnded = false
        var rowLength = 0
        var atTrailer = false
        var fieldCount: Int?
        var rows: UInt64 = 0
        /// Fields of the current tuple (0 before the first and after the last).
        var currentFields = 0
    }
    private let position: UnsafeMutablePointer<Position> = .allocate(capacity: 1)
    private var start: Int { get { position.pointee.start } set { position.pointee.start = newValue } }
    private var end: Int { get { position.pointee.end } set { position.pointee.end = newValue } }
    private var discarded: UInt64 { get { position.pointee.discarded } set { position.pointee.discarded = newValue } }
    private var inputEnded: Bool { get { position.pointee.inputEnded } set { position.pointee.inputEnded = newValue } }
    private var rowLength: Int { get { position.pointee.rowLength } set { position.pointee.rowLength = newValue } }
    private var atTrailer: Bool { get { position.pointee.atTrailer } set { position.pointee.atTrailer = newValue } }
    /// Field offsets and lengths of a tuple read across refills (the buffer may move meanwhile).
    private let starts: UnsafeMutablePointer<Int> = .allocate(capacity: RowStreamFormat.maximumFields)
    private let lengths: UnsafeMutablePointer<Int> = .allocate(capacity: RowStreamFormat.maximumFields)
    /// The current tuple's fields: bytes in the read buffer, nil for NULL.
    private let table: UnsafeMutablePointer<UnsafeRawBufferPointer?> = .allocate(capacity: RowStreamFormat.maximumFields)
    /// The schema from the header extension, or nil when the stream carries none.
    public private(set) var schema: RowStreamSchema?
    /// The number of fields in every tuple (from the schema, else from the first tuple).
    public private(set) var fieldCount: Int? {
        get { position.pointee.fieldCount }
        set { position.pointee.fieldCount = newValue }
    }
    /// Tuples read so far.
    public private(set) var rows: UInt64 {
        get { position.pointee.rows }
        set { position.pointee.rows = newValue }
    }
    /// The current tuple's fields, `fields[i]` being `field(i)`: valid until the next call to `next()`.
    public var fields: UnsafePointer<UnsafeRawBufferPointer?> { UnsafePointer(table) }

    /// Reads and checks the header; `bufferSize` is the initial read buffer (it grows for huge rows).
    public init(bufferSize: Int = 1 << 20, input: @escaping Input) throws {
        self.input = input
        storage = .allocate(byteCount: max(bufferSize, 64), alignment: 16)
        position.initialize(to: Position())
        try readHeader()
    }

    /// A reader over bytes in memory (tests, small streams).
    public convenience init(bytes: [UInt8]) throws {
        var offset = 0
        try self.init(bufferSize: 64) { buffer in
            let n = min(buffer.count, bytes.count - offset)
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + n)])) }
            offset += n
            return n
        }
    }

    deinit {
        storage.deallocate()
        starts.deallocate()
        lengths.deallocate()
        table.deallocate()
        position.deallocate()
    }

    /// The byte offset of the current position in the stream.
    public var offset: UInt64 { discarded + UInt64(start) }

    /// Advances to the next tuple; false after the trailer (the stream is then known complete).
    public func next() throws -> Bool {
        let p = position
        if p.pointee.atTrailer { return false }
        p.pointee.start += p.pointee.rowLength
        p.pointee.rowLength = 0
        p.pointee.currentFields = 0
        if let length = scanBufferedTuple() {
            p.pointee.rowLength = length
            p.pointee.rows += 1
            p.pointee.currentFields = p.pointee.fieldCount ?? 0
            return true
        }
        guard try ensure(2) else {
            throw RowStreamError(end > start ? "truncated rowstream: partial tuple after \(rows) rows" : "truncated rowstream: input ended after \(rows) rows without the trailer", offset: offset, inputEnded: true)
        }
        let count = Int(loadBigEndianInt16(storage.baseAddress! + start))
        if count == -1 {
            start += 2
            atTrailer = true
            if try ensure(1) { throw RowStreamError("unexpected data after the rowstream trailer", offset: offset) }
            return false
        }
        guard count >= 0 else { throw RowStreamError("invalid field count \(count) in tuple \(rows + 1)", offset: offset) }
        if let fieldCount, fieldCount != count {
            throw RowStreamError("tuple \(rows + 1) has \(count) fields, expected \(fieldCount)", offset: offset)
        }
        if fieldCount == nil {
            fieldCount = count
        }
        guard count <= RowStreamFormat.maximumFields else {
            throw RowStreamError("tuple \(rows + 1) has \(count) fields, more than PostgreSQL allows", offset: offset)
        }
        var cursor = 2
        for i in 0..<count {
            guard try ensure(cursor + 4) else { throw truncatedTuple() }
            let length = Int(Int32(bitPattern: loadBigEndianUInt32(storage.baseAddress! + start + cursor)))
            cursor += 4
            if length < 0 {
                guard length == -1 else { throw RowStreamError("invalid field length \(length) in tuple \(rows + 1)", offset: offset + UInt64(cursor - 4)) }
                lengths[i] = -1
                continue
            }
            guard try ensure(cursor + length) else { throw truncatedTuple() }
            starts[i] = cursor
            lengths[i] = length
            cursor += length
        }
        rowLength = cursor
        rows += 1
        let base = UnsafeRawPointer(storage.baseAddress! + start)
        for i in 0..<count { table[i] = lengths[i] < 0 ? nil : UnsafeRawBufferPointer(start: base + starts[i], count: lengths[i]) }
        p.pointee.currentFields = count
        return true
    }

    /// The fast path: parses a tuple that lies wholly in the buffer using locals only; nil sends
    /// the caller to the checked path (refill, trailer, errors).
    @inline(__always)
    private func scanBufferedTuple() -> Int? {
        let p = position.pointee
        let base = UnsafeRawPointer(storage.baseAddress! + p.start)
        let available = p.end - p.start
        guard available >= 2, let expected = p.fieldCount else { return nil }
        guard Int(loadBigEndianInt16(base)) == expected else { return nil }
        let table = self.table
        var offset = 2
        for i in 0..<expected {
            guard offset + 4 <= available else { return nil }
            let length = Int(Int32(bitPattern: loadBigEndianUInt32(base + offset)))
            offset += 4
            if length < 0 {
                guard length == -1 else { return nil }
                table[i] = nil
                continue
            }
            guard length <= available - offset else { return nil }
            table[i] = UnsafeRawBufferPointer(start: base + offset, count: length)
            offset += length
        }
        return offset
    }

    /// Field `index` of the current tuple: its binary bytes, or nil for NULL (valid until `next()`).
    @inline(__always)
    public func field(_ index: Int) -> UnsafeRawBufferPointer? {
        precondition(index >= 0 && index < position.pointee.currentFields, "field index out of range (or no current tuple)")
        return table[index]
    }

    /// The whole current tuple in its binary form (field count and fields), for pass-through.
    public var rawTuple: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.baseAddress! + start, count: rowLength)
    }

    private func truncatedTuple() -> RowStreamError {
        RowStreamError("truncated rowstream: input ended inside tuple \(rows + 1)", offset: offset, inputEnded: true)
    }

    private func readHeader() throws {
        guard try ensure(RowStreamFormat.fixedHeaderSize) else {
            throw RowStreamError(end == 0 ? "empty input: not a rowstream" : "truncated rowstream header", offset: 0, inputEnded: true)
        }
        let base = storage.baseAddress!
        guard UnsafeRawBufferPointer(start: base, count: 11).elementsEqual(RowStreamFormat.signature) else {
            throw RowStreamError("not a rowstream: missing the PGCOPY binary signature", offset: 0)
        }
        let flags = loadBigEndianUInt32(base + 11)
        if flags & (1 << 16) != 0 { throw RowStreamError("unsupported COPY BINARY stream with OIDs", offset: 11) }
        if flags & 0xFFFF != 0 { throw RowStreamError("unknown critical COPY BINARY flags 0x\(String(flags, radix: 16))", offset: 11) }
        let length = Int(loadBigEndianUInt32(base + 15))
        guard length <= RowStreamFormat.maximumExtensionSize else {
            throw RowStreamError("header extension of \(length) bytes is too large", offset: 15)
        }
        guard try ensure(RowStreamFormat.fixedHeaderSize + length) else {
            throw RowStreamError("truncated rowstream header extension", offset: UInt64(end), inputEnded: true)
        }
        schema = try RowStreamFormat.schema(fromExtension: UnsafeRawBufferPointer(start: storage.baseAddress! + start + 19, count: length))
        if let schema { fieldCount = schema.columns.count }
        start += RowStreamFormat.fixedHeaderSize + length
    }

    /// Makes at least `count` bytes available from `start`; false when the input ends first.
    @inline(__always)
    private func ensure(_ count: Int) throws -> Bool {
        if end - start >= count { return true }
        return try fill(count)
    }

    private func fill(_ count: Int) throws -> Bool {
        if start > 0 {
            let live = end - start
            if live > 0 { (storage.baseAddress!).copyMemory(from: storage.baseAddress! + start, byteCount: live) }
            discarded += UInt64(start)
            start = 0
            end = live
        }
        if count > storage.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, storage.count * 2), alignment: 16)
            if end > 0 { bigger.baseAddress!.copyMemory(from: storage.baseAddress!, byteCount: end) }
            storage.deallocate()
            storage = bigger
        }
        while end < count && !inputEnded {
            let n = try input(UnsafeMutableRawBufferPointer(rebasing: storage[end...]))
            if n == 0 { inputEnded = true } else { end += n }
        }
        return end - start >= count
    }
}
