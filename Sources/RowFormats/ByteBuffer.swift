/// A growable byte buffer the renderers and parsers write into directly (no per-value allocations).
///
/// Its state lives behind a pointer rather than in stored `var`s, so the hot paths pay no
/// dynamic exclusivity checks (they cost more than the rendering itself).
public final class ByteBuffer {
    private struct State {
        var base: UnsafeMutablePointer<UInt8>
        var count: Int
        var capacity: Int
    }

    private let state: UnsafeMutablePointer<State>

    /// An empty buffer with room for `capacity` bytes.
    public init(capacity: Int = 4096) {
        let size = max(capacity, 16)
        state = .allocate(capacity: 1)
        state.initialize(to: State(base: .allocate(capacity: size), count: 0, capacity: size))
    }

    deinit {
        state.pointee.base.deallocate()
        state.deallocate()
    }

    /// The start of the bytes (moves when the buffer grows).
    @inline(__always)
    public var base: UnsafeMutablePointer<UInt8> { state.pointee.base }

    /// Bytes in use (may be lowered to drop bytes at the end).
    @inline(__always)
    public var count: Int {
        get { state.pointee.count }
        set { state.pointee.count = newValue }
    }

    /// Bytes allocated.
    @inline(__always)
    public var capacity: Int { state.pointee.capacity }

    /// The bytes in use (valid until the next append).
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Bytes `from..<count` (valid until the next append).
    public func bytes(from start: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + start, count: count - start)
    }

    /// Makes room for `n` more bytes.
    @inline(__always)
    public func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    private func grow(_ needed: Int) {
        var size = capacity * 2
        while size < needed { size *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
        bigger.update(from: base, count: count)
        base.deallocate()
        state.pointee.base = bigger
        state.pointee.capacity = size
    }

    /// Appends one byte.
    @inline(__always)
    public func append(_ byte: UInt8) {
        if count == capacity { grow(count + 1) }
        base[count] = byte
        count += 1
    }

    /// Appends bytes.
    @inline(__always)
    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(base + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        count += bytes.count
    }

    /// Appends ASCII text known at compile time.
    @inline(__always)
    public func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends the UTF-8 bytes of a string (not for hot paths).
    public func append(string: String) {
        var s = string
        s.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends an unsigned integer in decimal, at least `width` digits (zero-padded).
    @inline(__always)
    public func appendDecimal(_ value: UInt64, width: Int = 1) {
        if width == 2 && value < 100 {
            // Months, days, hours, minutes, seconds: two digits without the general loop.
            reserve(2)
            let v = UInt8(truncatingIfNeeded: value)
            base[count] = v / 10 &+ 0x30
            base[count + 1] = v % 10 &+ 0x30
            count += 2
            return
        }
        reserve(20 + width)
        var digits = 1
        var probe = value
        while probe >= 10 { probe /= 10; digits += 1 }
        let total = max(digits, width)
        var v = value
        var i = count + total - 1
        while i >= count {
            base[i] = UInt8(truncatingIfNeeded: v % 10) &+ 0x30
            v /= 10
            i -= 1
        }
        count += total
    }

    /// Appends a signed integer in decimal.
    @inline(__always)
    public func appendDecimal(_ value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }
        appendDecimal(value.magnitude)
    }

    /// Appends a byte as two lower-case hex digits.
    @inline(__always)
    public func appendHex(_ byte: UInt8) {
        reserve(2)
        // Arithmetic, not a table: a global table costs a lazy-initialisation check per call.
        let high = byte >> 4, low = byte & 15
        base[count] = high &+ (high < 10 ? 0x30 : 0x57)
        base[count + 1] = low &+ (low < 10 ? 0x30 : 0x57)
        count += 2
    }

    /// Appends a big-endian integer (the binary wire form).
    @inline(__always)
    public func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        reserve(MemoryLayout<T>.size)
        UnsafeMutableRawPointer(base + count).storeBytes(of: value.bigEndian, as: T.self)
        count += MemoryLayout<T>.size
    }

    /// Overwrites a big-endian Int32 at `offset` (length prefixes written before their value).
    @inline(__always)
    public func storeBigEndian(_ value: Int32, at offset: Int) {
        UnsafeMutableRawPointer(base + offset).storeBytes(of: value.bigEndian, as: Int32.self)
    }

    /// Inserts `byte` at `offset`, shifting the bytes after it.
    public func insert(_ byte: UInt8, at offset: Int) {
        reserve(1)
        (base + offset + 1).update(from: base + offset, count: count - offset)
        base[offset] = byte
        count += 1
    }

    /// Inserts `n` bytes (left as they were) at `offset`, shifting the bytes after it.
    public func insertGap(_ n: Int, at offset: Int) {
        reserve(n)
        (base + offset + n).update(from: base + offset, count: count - offset)
        count += n
    }

    /// Drops everything.
    @inline(__always)
    public func removeAll() { count = 0 }
}

let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

/// Reading big-endian integers from wire bytes.
extension UnsafeRawBufferPointer {
    @inline(__always)
    func int16(_ at: Int) -> Int16 { Int16(bigEndian: loadUnaligned(fromByteOffset: at, as: Int16.self)) }
    @inline(__always)
    func int32(_ at: Int) -> Int32 { Int32(bigEndian: loadUnaligned(fromByteOffset: at, as: Int32.self)) }
    @inline(__always)
    func int64(_ at: Int) -> Int64 { Int64(bigEndian: loadUnaligned(fromByteOffset: at, as: Int64.self)) }
}
