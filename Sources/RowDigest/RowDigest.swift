import RowStream

/// The row digest of a slice (docs/rowstream.md, "Row digest"): the row count and the sum modulo
/// 2^128 of XXH3-128 of every row's canonical encoding. Order-independent; equal for any
/// format the rows travelled through as long as every value came back exactly.
///
/// It detects accidental damage (a flipped bit, a lost or duplicated row, a value changed by a
/// conversion); it is no defence against someone with write access to the bucket.
public struct RowDigest: Equatable, Sendable, CustomStringConvertible {
    /// Rows counted.
    public var rows: UInt64 = 0
    /// The high 64 bits of the sum.
    public var high: UInt64 = 0
    /// The low 64 bits of the sum.
    public var low: UInt64 = 0

    /// The digest of no rows.
    public init() {}

    /// A digest from its parts.
    public init(rows: UInt64, high: UInt64, low: UInt64) {
        self.rows = rows
        self.high = high
        self.low = low
    }

    /// Adds one row's hash.
    @inline(__always)
    public mutating func add(_ hash: XXH3.Hash128) {
        rows &+= 1
        let (sum, carry) = low.addingReportingOverflow(hash.low)
        low = sum
        high = high &+ hash.high &+ (carry ? 1 : 0)
    }

    /// Combines the digests of two disjoint sets of rows (the digest of their union).
    public mutating func merge(_ other: RowDigest) {
        rows &+= other.rows
        let (sum, carry) = low.addingReportingOverflow(other.low)
        low = sum
        high = high &+ other.high &+ (carry ? 1 : 0)
    }

    /// The sum as 32 lower-case hex digits, most significant first.
    public var hex: String { hex64(high) + hex64(low) }

    /// `rows` and `hex`, for messages.
    public var description: String { "\(rows) rows, digest \(hex)" }

    /// Parses 32 hex digits (either case) into the sum's halves; nil when malformed.
    public static func parseHex(_ text: String) -> (high: UInt64, low: UInt64)? {
        guard text.utf8.count == 32, text.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        guard let high = UInt64(text.prefix(16), radix: 16), let low = UInt64(text.suffix(16), radix: 16) else { return nil }
        return (high, low)
    }
}

/// Computes the row digest of rowstream tuples for one schema.
///
/// Feed it each tuple's bytes as they appear in the stream (int16 field count, then each field
/// as int32 length and bytes). A tuple whose values are all canonical (the common case) is
/// hashed in place; the others are rewritten into a scratch buffer first.
public final class RowDigester {
    private let checks: [Canonical.Check]
    private let checked: [Int]
    private var scratch: [UInt8] = []
    /// A tuple assembled from separate fields (`add(fieldCount:field:)`).
    private var assembly: UnsafeMutableRawPointer
    private var assemblyCapacity = 4096
    /// The digest so far.
    public private(set) var digest = RowDigest()

    /// A digester for tuples of `schema` (its column list is the one digested).
    public init(schema: RowStreamSchema) {
        let checks = schema.columns.map(Canonical.check(for:))
        self.checks = checks
        checked = checks.indices.filter { checks[$0] != .none }
        assembly = .allocate(byteCount: assemblyCapacity, alignment: 16)
    }

    deinit { assembly.deallocate() }

    /// Adds one row given field by field (`field(i)`: binary bytes, nil for NULL), as a writer
    /// that does not hold whole tuples sees it.
    @inline(__always)
    public func add(fieldCount: Int, field: (Int) -> UnsafeRawBufferPointer?) {
        var size = 2
        for i in 0..<fieldCount { size += 4 + (field(i)?.count ?? 0) }
        if size > assemblyCapacity {
            assembly.deallocate()
            assemblyCapacity = max(size, assemblyCapacity * 2)
            assembly = .allocate(byteCount: assemblyCapacity, alignment: 16)
        }
        let p = assembly
        p.storeBytes(of: UInt16(truncatingIfNeeded: fieldCount).bigEndian, toByteOffset: 0, as: UInt16.self)
        var offset = 2
        for i in 0..<fieldCount {
            if let value = field(i) {
                p.storeBytes(of: UInt32(value.count).bigEndian, toByteOffset: offset, as: UInt32.self)
                if value.count > 0 { (p + offset + 4).copyMemory(from: value.baseAddress!, byteCount: value.count) }
                offset += 4 + value.count
            } else {
                p.storeBytes(of: UInt32.max, toByteOffset: offset, as: UInt32.self)
                offset += 4
            }
        }
        add(tuple: UnsafeRawBufferPointer(start: p, count: offset))
    }

    /// Adds one tuple.
    @inline(__always)
    public func add(tuple: UnsafeRawBufferPointer) {
        if checked.isEmpty || tupleIsCanonical(tuple) {
            digest.add(XXH3.hash128(tuple))
        } else {
            canonicalize(tuple)
            digest.add(scratch.withUnsafeBytes { XXH3.hash128($0) })
        }
    }

    /// The canonical encoding of one tuple (for tests and the documentation's vectors).
    public func canonicalEncoding(of tuple: [UInt8]) -> [UInt8] {
        tuple.withUnsafeBytes { raw in
            if checked.isEmpty || tupleIsCanonical(raw) { return tuple }
            canonicalize(raw)
            return scratch
        }
    }

    /// Field offsets of a tuple: (start, length) per field, length −1 for NULL; nil when malformed.
    @inline(__always)
    private func walk(_ tuple: UnsafeRawBufferPointer, _ body: (Int, Int, Int) -> Bool) -> Bool {
        guard tuple.count >= 2, let base = tuple.baseAddress else { return false }
        let count = Int(Int16(bitPattern: UInt16(tuple[0]) << 8 | UInt16(tuple[1])))
        guard count == checks.count else { return false }
        var offset = 2
        for i in 0..<count {
            guard offset + 4 <= tuple.count else { return false }
            let length = Int(Int32(bitPattern: Canonical.loadBigEndianUInt32(base + offset)))
            offset += 4
            guard length >= -1, length <= tuple.count - offset else { return false }
            if !body(i, offset, length) { return false }
            if length > 0 { offset += length }
        }
        return offset == tuple.count
    }

    private func tupleIsCanonical(_ tuple: UnsafeRawBufferPointer) -> Bool {
        let checks = self.checks
        var canonical = true
        _ = walk(tuple) { i, start, length in
            if length >= 0, checks[i] != .none,
               !Canonical.isCanonical(UnsafeRawBufferPointer(rebasing: tuple[start..<(start + length)]), checks[i]) {
                canonical = false
                return false
            }
            return true
        }
        // A tuple that does not parse is hashed as it is.
        return canonical
    }

    private func canonicalize(_ tuple: UnsafeRawBufferPointer) {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(tuple[0])
        scratch.append(tuple[1])
        let checks = self.checks
        var out = scratch
        scratch = []
        let ok = walk(tuple) { i, start, length in
            if length < 0 {
                Canonical.appendBigEndian(UInt32(bitPattern: -1), to: &out)
                return true
            }
            let value = UnsafeRawBufferPointer(rebasing: tuple[start..<(start + length)])
            let mark = out.count
            Canonical.appendBigEndian(0, to: &out)
            Canonical.append(value, checks[i], to: &out)
            let written = UInt32(out.count - mark - 4)
            out[mark] = UInt8(written >> 24)
            out[mark + 1] = UInt8(truncatingIfNeeded: written >> 16)
            out[mark + 2] = UInt8(truncatingIfNeeded: written >> 8)
            out[mark + 3] = UInt8(truncatingIfNeeded: written)
            return true
        }
        if ok { scratch = out } else { scratch = Array(tuple) }
    }
}
