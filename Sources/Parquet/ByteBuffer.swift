/// A growable byte buffer that encoders append to directly, without per-value allocation.
///
/// A final class owning raw memory, so appends are a bounds check and a store; pass it by
/// reference to the encoders that fill it.
final class ByteBuffer {
    /// The start of the storage.
    var base: UnsafeMutableRawPointer
    /// The allocated size in bytes.
    var capacity: Int
    /// The number of bytes written.
    var count: Int = 0

    /// An empty buffer with room for `capacity` bytes.
    init(capacity: Int = 4096) {
        self.capacity = max(capacity, 16)
        base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// The written bytes (valid until the next append or reset).
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Forgets the contents, keeping the storage.
    func reset() { count = 0 }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    func reserve(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Gives back storage beyond `limit` bytes when the buffer is empty, so one huge page does not pin memory.
    func shrink(to limit: Int) {
        guard count == 0, capacity > limit else { return }
        base.deallocate()
        capacity = max(limit, 16)
        base = .allocate(byteCount: capacity, alignment: 16)
    }

    /// Appends one byte.
    @inline(__always)
    func append(_ byte: UInt8) {
        reserve(1)
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    /// Appends a fixed-width value in little-endian byte order.
    @inline(__always)
    func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        reserve(size)
        base.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self)
        count += size
    }

    /// Appends raw bytes.
    @inline(__always)
    func append(_ source: UnsafeRawBufferPointer) {
        let n = source.count
        guard n > 0 else { return }
        reserve(n)
        (base + count).copyMemory(from: source.baseAddress!, byteCount: n)
        count += n
    }

    /// Appends the contents of another buffer.
    func append(_ other: ByteBuffer) { append(other.bytes) }

    /// Appends an array of bytes.
    func append(_ array: [UInt8]) { array.withUnsafeBytes { append($0) } }

    /// Appends an unsigned LEB128 varint.
    @inline(__always)
    func appendVarint(_ value: UInt64) {
        reserve(10)
        var v = value
        while v >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: count, as: UInt8.self)
            count += 1
            v >>= 7
        }
        base.storeBytes(of: UInt8(v), toByteOffset: count, as: UInt8.self)
        count += 1
    }

    /// Overwrites 4 bytes at `offset` with a little-endian UInt32 (for length prefixes written after the fact).
    func patchLittleEndian(_ value: UInt32, at offset: Int) {
        precondition(offset + 4 <= count)
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    /// Writable room for `extra` bytes at the end; call `commit` with the number written.
    func unusedSpace(_ extra: Int) -> UnsafeMutableRawBufferPointer {
        reserve(extra)
        return UnsafeMutableRawBufferPointer(start: base + count, count: extra)
    }

    /// Marks `n` bytes written into `unusedSpace` as part of the contents.
    func commit(_ n: Int) {
        precondition(count + n <= capacity)
        count += n
    }

    /// The contents as an array (tests and small metadata only).
    var array: [UInt8] { Array(bytes) }
}
