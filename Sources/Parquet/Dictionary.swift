/// Hashes a byte string (8 bytes at a time, multiply-xorshift mixing).
@inline(__always)
func hashBytes(_ p: UnsafeRawPointer, _ n: Int) -> UInt64 {
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
    var i = 0
    while i + 8 <= n {
        h = (h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 29
        i += 8
    }
    if i < n {
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
    }
    h ^= h >> 32
    return h
}

/// Builds a column chunk's dictionary: distinct values in first-seen order, PLAIN-encoded, with a hash index.
final class DictionaryBuilder {
    /// The dictionary page body: PLAIN encoding of the distinct values.
    let data = ByteBuffer(capacity: 64 * 1024)
    /// Whether values carry a 4-byte length prefix (BYTE_ARRAY) or are fixed width.
    private let prefixed: Bool
    /// Start of each entry's value bytes in `data` (after any length prefix).
    private var starts: UnsafeMutablePointer<UInt32>
    private var lengths: UnsafeMutablePointer<UInt32>
    private var entryCapacity = 1024
    /// Number of distinct values.
    private(set) var count = 0
    /// Open-addressing table of entry index + 1 (0 is empty), with the hash's high bits alongside.
    private var slots: UnsafeMutablePointer<UInt32>
    private var slotHashes: UnsafeMutablePointer<UInt32>
    private var mask = 2047

    /// A dictionary for BYTE_ARRAY (`prefixed`) or fixed-width values.
    init(prefixed: Bool) {
        self.prefixed = prefixed
        starts = .allocate(capacity: entryCapacity)
        lengths = .allocate(capacity: entryCapacity)
        slots = .allocate(capacity: mask + 1)
        slots.initialize(repeating: 0, count: mask + 1)
        slotHashes = .allocate(capacity: mask + 1)
    }

    deinit {
        starts.deallocate()
        lengths.deallocate()
        slots.deallocate()
        slotHashes.deallocate()
    }

    /// Forgets all entries (for the next column chunk).
    func reset() {
        data.reset()
        count = 0
        slots.update(repeating: 0, count: mask + 1)
    }

    /// The bytes of entry `i`.
    @inline(__always)
    func entry(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: data.base + Int(starts[i]), count: Int(lengths[i]))
    }

    /// The index of `value`, inserting it if new.
    @inline(__always)
    func index(of value: UnsafeRawPointer, count n: Int) -> UInt32 {
        let h = hashBytes(value, n)
        let tag = UInt32(truncatingIfNeeded: h >> 32)
        var pos = Int(truncatingIfNeeded: h) & mask
        while true {
            let slot = slots[pos]
            if slot == 0 { break }
            if slotHashes[pos] == tag {
                let e = Int(slot - 1)
                if Int(lengths[e]) == n && memcmpEqual(data.base + Int(starts[e]), value, n) { return UInt32(e) }
            }
            pos = (pos + 1) & mask
        }
        // Insert.
        if count == entryCapacity { growEntries() }
        if prefixed { data.appendLittleEndian(UInt32(n)) }
        starts[count] = UInt32(data.count)
        lengths[count] = UInt32(n)
        data.append(UnsafeRawBufferPointer(start: value, count: n))
        slots[pos] = UInt32(count + 1)
        slotHashes[pos] = tag
        count += 1
        if count * 2 > mask { rehash() }
        return UInt32(count - 1)
    }

    private func growEntries() {
        let newCapacity = entryCapacity * 2
        let s = UnsafeMutablePointer<UInt32>.allocate(capacity: newCapacity)
        s.moveInitialize(from: starts, count: count)
        starts.deallocate()
        starts = s
        let l = UnsafeMutablePointer<UInt32>.allocate(capacity: newCapacity)
        l.moveInitialize(from: lengths, count: count)
        lengths.deallocate()
        lengths = l
        entryCapacity = newCapacity
    }

    private func rehash() {
        let newMask = (mask + 1) * 2 - 1
        slots.deallocate()
        slotHashes.deallocate()
        slots = .allocate(capacity: newMask + 1)
        slots.initialize(repeating: 0, count: newMask + 1)
        slotHashes = .allocate(capacity: newMask + 1)
        mask = newMask
        for e in 0..<count {
            let h = hashBytes(data.base + Int(starts[e]), Int(lengths[e]))
            var pos = Int(truncatingIfNeeded: h) & mask
            while slots[pos] != 0 { pos = (pos + 1) & mask }
            slots[pos] = UInt32(e + 1)
            slotHashes[pos] = UInt32(truncatingIfNeeded: h >> 32)
        }
    }
}

/// Byte equality of two ranges of `n` bytes.
@inline(__always)
func memcmpEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i += 8
    }
    while i < n {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}
