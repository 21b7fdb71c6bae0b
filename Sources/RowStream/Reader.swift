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
    private var start = 0
    private var end = 0
    private var discarded: UInt64 = 0
    private var inputEnded = false
    // Per-tuple state lives behind `let` pointers: `field(_:)` is called millions of times a
    // second and must not pay for dynamic exclusivity checks on class properties.
    private let starts: UnsafeMutablePointer<Int> = .allocate(capacity: RowStreamFormat.maximumFields)
    private let lengths: UnsafeMutablePointer<Int> = .allocate(capacity: RowStreamFormat.maximumFields)
    private let current: UnsafeMutablePointer<(base: UnsafeRawPointer?, fields: Int)> = .allocate(capacity: 1)
    private var rowLength = 0
    private var atTrailer = false
    /// The schema from the header extension, or nil when the stream carries none.
    public private(set) var schema: RowStreamSchema?
    /// The number of fields in every tuple (from the schema, else from the first tuple).
    public private(set) var fieldCount: Int?
    /// Tuples read so far.
    public private(set) var rows: UInt64 = 0

    /// Reads and checks the header; `bufferSize` is the initial read buffer (it grows for huge rows).
    public init(bufferSize: Int = 1 << 20, input: @escaping Input) throws {
        self.input = input
        storage = .allocate(byteCount: max(bufferSize, 64), alignment: 16)
        current.initialize(to: (nil, 0))
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
        current.deallocate()
    }

    /// The byte offset of the current position in the stream.
    public var offset: UInt64 { discarded + UInt64(start) }

    /// Advances to the next tuple; false after the trailer (the stream is then known complete).
    public func next() throws -> Bool {
        if atTrailer { return false }
        start += rowLength
        rowLength = 0
        current.pointee = (nil, 0)
        if let length = scanBufferedTuple() {
            rowLength = length
            rows += 1
            current.pointee = (UnsafeRawPointer(storage.baseAddress! + start), fieldCount ?? 0)
            return true
        }
        guard try ensure(2) else {
            throw RowStreamError(end > start ? "truncated rowstream: partial tuple after \(rows) rows" : "truncated rowstream: input ended after \(rows) rows without the trailer", offset: offset)
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
        var position = 2
        for i in 0..<count {
            guard try ensure(position + 4) else { throw truncatedTuple() }
            let length = Int(Int32(bitPattern: loadBigEndianUInt32(storage.baseAddress! + start + position)))
            position += 4
            if length < 0 {
                guard length == -1 else { throw RowStreamError("invalid field length \(length) in tuple \(rows + 1)", offset: offset + UInt64(position - 4)) }
                lengths[i] = -1
                continue
            }
            guard try ensure(position + length) else { throw truncatedTuple() }
            starts[i] = position
            lengths[i] = length
            position += length
        }
        rowLength = position
        rows += 1
        current.pointee = (UnsafeRawPointer(storage.baseAddress! + start), count)
        return true
    }

    /// The fast path: parses a tuple that lies wholly in the buffer using locals only; nil sends
    /// the caller to the checked path (refill, trailer, errors).
    @inline(__always)
    private func scanBufferedTuple() -> Int? {
        let base = UnsafeRawPointer(storage.baseAddress! + start)
        let available = end - start
        guard available >= 2, let expected = fieldCount else { return nil }
        guard Int(loadBigEndianInt16(base)) == expected else { return nil }
        let starts = self.starts, lengths = self.lengths
        var position = 2
        for i in 0..<expected {
            guard position + 4 <= available else { return nil }
            let length = Int(Int32(bitPattern: loadBigEndianUInt32(base + position)))
            position += 4
            if length < 0 {
                guard length == -1 else { return nil }
                lengths[i] = -1
                continue
            }
            guard length <= available - position else { return nil }
            starts[i] = position
            lengths[i] = length
            position += length
        }
        return position
    }

    /// Field `index` of the current tuple: its binary bytes, or nil for NULL (valid until `next()`).
    @inline(__always)
    public func field(_ index: Int) -> UnsafeRawBufferPointer? {
        let row = current.pointee
        precondition(index >= 0 && index < row.fields, "field index out of range (or no current tuple)")
        let length = lengths[index]
        if length < 0 { return nil }
        return UnsafeRawBufferPointer(start: row.base! + starts[index], count: length)
    }

    /// The whole current tuple in its binary form (field count and fields), for pass-through.
    public var rawTuple: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.baseAddress! + start, count: rowLength)
    }

    private func truncatedTuple() -> RowStreamError {
        RowStreamError("truncated rowstream: input ended inside tuple \(rows + 1)", offset: offset)
    }

    private func readHeader() throws {
        guard try ensure(RowStreamFormat.fixedHeaderSize) else {
            throw RowStreamError(end == 0 ? "empty input: not a rowstream" : "truncated rowstream header", offset: 0)
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
            throw RowStreamError("truncated rowstream header extension", offset: UInt64(end))
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
