#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Min/max/null-count of one column chunk, kept in the order the column's logical type defines.
///
/// A class, so that updating it from the column writer's hot path needs no exclusivity bookkeeping.
final class StatisticsAccumulator {
    let physical: PhysicalType
    /// Byte strings compare as signed big-endian two's complement (decimals), else unsigned.
    let signedBytes: Bool
    var nullCount: Int64 = 0
    private var hasValue = false
    private var minInt = Int64.max, maxInt = Int64.min
    private var minReal = Double.infinity, maxReal = -Double.infinity
    /// The byte-string min and max, behind a pointer so the per-value path does neither reference
    /// counting nor exclusivity bookkeeping.
    private let extremes: UnsafeMutablePointer<(min: RawBytes, max: RawBytes)>
    /// Byte strings longer than this make min/max unreported (as pyarrow's 4096-byte limit).
    static let maxStatisticsBytes = 4096

    init(physical: PhysicalType, signedBytes: Bool) {
        self.physical = physical
        self.signedBytes = signedBytes
        extremes = .allocate(capacity: 1)
        extremes.initialize(to: (RawBytes(), RawBytes()))
    }

    deinit {
        extremes.pointee.min.free()
        extremes.pointee.max.free()
        extremes.deallocate()
    }

    func reset() {
        nullCount = 0
        hasValue = false
        minInt = .max
        maxInt = .min
        minReal = .infinity
        maxReal = -.infinity
        extremes.pointee.min.count = 0
        extremes.pointee.max.count = 0
    }

    @inline(__always) func observe(_ v: Int64) {
        hasValue = true
        if v < minInt { minInt = v }
        if v > maxInt { maxInt = v }
    }

    @inline(__always) func observe(_ v: Double) {
        // NaN never takes part in min/max.
        if v.isNaN { return }
        hasValue = true
        if v < minReal || (v == 0 && minReal == 0 && v.sign == .minus) { minReal = v }
        if v > maxReal || (v == 0 && maxReal == 0 && v.sign == .plus) { maxReal = v }
    }

    @inline(__always) func observe(_ p: UnsafeRawPointer, _ n: Int) {
        let e = extremes
        if !hasValue {
            hasValue = true
            e.pointee.min.set(p, n)
            e.pointee.max.set(p, n)
            return
        }
        if !signedBytes {
            // Strictly inside by the prefixes: neither a new minimum nor a new maximum.
            let a = bigEndianPrefix(p, n)
            if e.pointee.min.prefix < a && a < e.pointee.max.prefix { return }
        }
        if compare(p, n, e.pointee.min) < 0 {
            e.pointee.min.set(p, n)
        } else if compare(p, n, e.pointee.max) > 0 {
            e.pointee.max.set(p, n)
        }
    }

    /// Observes one PLAIN-encoded fixed-width value (dictionary entries).
    func observePlain(_ p: UnsafeRawPointer, _ n: Int) {
        switch physical {
        case .int32: observe(Int64(p.loadUnaligned(as: Int32.self)))
        case .int64: observe(p.loadUnaligned(as: Int64.self))
        case .float: observe(Double(p.loadUnaligned(as: Float.self)))
        case .double: observe(p.loadUnaligned(as: Double.self))
        case .boolean: observe(Int64(p.load(as: UInt8.self)))
        default: observe(p, n)
        }
    }

    /// Compares a value with a stored one: signed first byte for decimals, then unsigned bytes, shorter first.
    @inline(__always)
    private func compare(_ p: UnsafeRawPointer, _ n: Int, _ other: RawBytes) -> Int {
        let count = other.count
        if !signedBytes {
            // Zero-padded 16-byte prefixes order as the strings do wherever they differ.
            let a = bigEndianPrefix(p, n), b = other.prefix
            if a != b { return a < b ? -1 : 1 }
        } else if n > 0 && count > 0 {
            let a = Int8(bitPattern: p.load(as: UInt8.self)), b = Int8(bitPattern: other.base.load(as: UInt8.self))
            if a != b { return a < b ? -1 : 1 }
        }
        let m = min(n, count)
        if m > 0 {
            let r = memcmp(p, other.base, m)
            if r != 0 { return Int(r) }
        }
        return n == count ? 0 : (n < count ? -1 : 1)
    }

    /// The Parquet statistics: PLAIN-encoded min_value/max_value and null_count.
    func statistics() -> Statistics {
        var s = Statistics()
        s.nullCount = nullCount
        guard hasValue else { return s }
        func bytes<T>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }
        switch physical {
        case .boolean:
            s.minValue = [UInt8(minInt)]
            s.maxValue = [UInt8(maxInt)]
        case .int32:
            s.minValue = bytes(Int32(minInt).littleEndian)
            s.maxValue = bytes(Int32(maxInt).littleEndian)
        case .int64:
            s.minValue = bytes(minInt.littleEndian)
            s.maxValue = bytes(maxInt.littleEndian)
        case .float:
            // A zero minimum is written as -0.0 and a zero maximum as +0.0 (parquet.thrift, ColumnOrder).
            let lo = minReal == 0 ? -0.0 as Float : Float(minReal), hi = maxReal == 0 ? 0.0 as Float : Float(maxReal)
            s.minValue = bytes(lo.bitPattern.littleEndian)
            s.maxValue = bytes(hi.bitPattern.littleEndian)
        case .double:
            let lo = minReal == 0 ? -0.0 : minReal, hi = maxReal == 0 ? 0.0 : maxReal
            s.minValue = bytes(lo.bitPattern.littleEndian)
            s.maxValue = bytes(hi.bitPattern.littleEndian)
        default:
            let e = extremes.pointee
            guard e.min.count <= Self.maxStatisticsBytes, e.max.count <= Self.maxStatisticsBytes else { return s }
            s.minValue = e.min.array
            s.maxValue = e.max.array
        }
        return s
    }
}

/// A byte string in manually managed storage (owned by one StatisticsAccumulator).
struct RawBytes {
    var base = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
    var capacity = 64
    var count = 0
    /// The first 16 bytes, zero-padded, as big-endian numbers (`bigEndianPrefix`).
    var prefix = BytePrefix(high: 0, low: 0)

    /// Replaces the contents with `n` bytes at `p`.
    @inline(__always)
    mutating func set(_ p: UnsafeRawPointer, _ n: Int) {
        prefix = bigEndianPrefix(p, n)
        if n > capacity {
            base.deallocate()
            capacity = max(n, capacity * 2)
            base = .allocate(byteCount: capacity, alignment: 8)
        }
        base.copyMemory(from: p, byteCount: n)
        count = n
    }

    var array: [UInt8] { Array(UnsafeRawBufferPointer(start: base, count: count)) }

    func free() { base.deallocate() }
}

/// The first 16 bytes of a byte string, zero-padded, as two big-endian numbers.
struct BytePrefix: Equatable, Comparable {
    var high: UInt64
    var low: UInt64

    @inline(__always)
    static func < (a: BytePrefix, b: BytePrefix) -> Bool { a.high != b.high ? a.high < b.high : a.low < b.low }
}

/// The first 16 bytes at `p` (zero-padded when `n` < 16) as big-endian numbers: where two
/// prefixes differ, they order as the strings do (a string that ends is a prefix of the other,
/// and its zero padding sorts first); equal prefixes need a full comparison.
@inline(__always)
func bigEndianPrefix(_ p: UnsafeRawPointer, _ n: Int) -> BytePrefix {
    if n >= 16 {
        return BytePrefix(high: UInt64(bigEndian: p.loadUnaligned(as: UInt64.self)),
                          low: UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
    }
    // Shorter strings (dictionary entries, codes): copied into zeroed padding.
    var padded: (UInt64, UInt64) = (0, 0)
    withUnsafeMutableBytes(of: &padded) { $0.baseAddress!.copyMemory(from: p, byteCount: n) }
    return BytePrefix(high: UInt64(bigEndian: padded.0), low: UInt64(bigEndian: padded.1))
}
