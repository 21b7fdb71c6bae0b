/// The number of bits needed to hold `value` (0 for 0).
@inline(__always)
func bitWidth(_ value: UInt64) -> Int { value == 0 ? 0 : 64 - value.leadingZeroBitCount }

/// Encodes values with the RLE / bit-packing hybrid (Encodings.md, RLE = 3), without a length prefix.
///
/// Runs of 8 or more equal values become RLE runs; everything else is bit-packed in groups of 8,
/// least significant bit first (widths up to 32 bits). Padding of the last bit-packed group is only ever at the end.
@inline(__always)
func encodeRLEHybrid<T: FixedWidthInteger & UnsignedInteger>(_ values: UnsafeBufferPointer<T>, bitWidth width: Int, into out: ByteBuffer) {
    let n = values.count
    let byteWidth = (width + 7) / 8
    @inline(__always) func runLength(at i: Int) -> Int {
        let v = values[i]
        var j = i + 1
        while j < n && values[j] == v { j += 1 }
        return j - i
    }
    var i = 0
    while i < n {
        let run = runLength(at: i)
        if run >= 8 {
            out.appendVarint(UInt64(run) << 1)
            var v = UInt64(values[i])
            for _ in 0..<byteWidth {
                out.append(UInt8(truncatingIfNeeded: v))
                v >>= 8
            }
            i += run
            continue
        }
        // Bit-packed groups until a run of 8 equal values starts at a group boundary.
        let start = i
        var groups = 0
        repeat {
            i += 8
            groups += 1
        } while i < n && runLength(at: i) < 8
        out.appendVarint(UInt64(groups) << 1 | 1)
        out.reserve(groups * width + 8)
        var acc: UInt64 = 0
        var bits = 0
        let end = start + groups * 8
        var k = start
        while k < end {
            let v = k < n ? UInt64(values[k]) : 0
            acc |= v << UInt64(bits)
            bits += width
            while bits >= 8 {
                out.append(UInt8(truncatingIfNeeded: acc))
                acc >>= 8
                bits -= 8
            }
            k += 1
        }
        if bits > 0 { out.append(UInt8(truncatingIfNeeded: acc)) }
    }
}

/// A failure inside encoded page data, with a short description.
struct EncodingError: Error {
    var message: String
}

/// Decodes the RLE / bit-packing hybrid from memory.
struct RLEHybridDecoder {
    private let data: UnsafeRawBufferPointer
    private var position = 0
    private let width: Int
    /// Values left in the current run and whether it is an RLE run.
    private var remaining = 0
    private var isRLE = false
    private var rleValue: UInt64 = 0
    private var bitOffset = 0

    /// A decoder over `data` for values of `bitWidth` bits.
    init(_ data: UnsafeRawBufferPointer, bitWidth: Int) {
        self.data = data
        self.width = bitWidth
    }

    private mutating func varint() throws(EncodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < data.count else { throw EncodingError(message: "RLE data ends inside a run header") }
            let b = data[position]
            position += 1
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw EncodingError(message: "RLE run header too long") }
        }
    }

    private mutating func nextRun() throws(EncodingError) {
        let header = try varint()
        if header & 1 == 0 {
            isRLE = true
            remaining = Int(clamping: header >> 1)
            let byteWidth = (width + 7) / 8
            guard data.count - position >= byteWidth else { throw EncodingError(message: "RLE data ends inside a run value") }
            var v: UInt64 = 0
            for b in 0..<byteWidth { v |= UInt64(data[position + b]) << UInt64(8 * b) }
            position += byteWidth
            rleValue = v
        } else {
            isRLE = false
            // Each group of 8 values takes `width` bytes: more groups than bytes cannot be real.
            guard header >> 1 <= UInt64(data.count) else { throw EncodingError(message: "bit-packed run of \(header >> 1) groups is longer than the data") }
            remaining = Int(clamping: (header >> 1) * 8)
            bitOffset = position * 8
            // Skip the packed bytes now; values are read from bitOffset.
            let bytes = (header >> 1) * UInt64(width)
            position = min(data.count, position + Int(clamping: bytes))
        }
        if remaining == 0 && header >> 1 == 0 && !isRLE { throw EncodingError(message: "empty bit-packed run") }
    }

    /// Decodes `count` values into `out`.
    mutating func decode<T: FixedWidthInteger>(_ count: Int, into out: UnsafeMutablePointer<T>) throws(EncodingError) {
        if width == 0 {
            out.initialize(repeating: 0, count: count)
            return
        }
        var done = 0
        let mask: UInt64 = width == 64 ? ~0 : (1 << UInt64(width)) - 1
        while done < count {
            if remaining == 0 { try nextRun() }
            let take = min(remaining, count - done)
            if isRLE {
                (out + done).initialize(repeating: T(truncatingIfNeeded: rleValue), count: take)
            } else {
                let totalBits = data.count * 8
                for k in 0..<take {
                    let bit = bitOffset
                    guard bit + width <= totalBits else { throw EncodingError(message: "bit-packed run ends early") }
                    let byte = bit >> 3
                    let shift = bit & 7
                    var acc: UInt64 = 0
                    let needed = (shift + width + 7) >> 3
                    for b in 0..<min(needed, 8) { acc |= UInt64(data[byte + b]) << UInt64(8 * b) }
                    var v = acc >> UInt64(shift)
                    if needed > 8 { v |= UInt64(data[byte + 8]) << UInt64(64 - shift) }
                    (out + done + k).initialize(to: T(truncatingIfNeeded: v & mask))
                    bitOffset += width
                }
            }
            remaining -= take
            done += take
        }
    }
}
