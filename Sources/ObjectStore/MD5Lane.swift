/// An MD5 (RFC 1321) that can run in step with a second one over the same bytes.
///
/// A multipart upload needs two MD5s of every byte: the whole object's (the result line) and
/// each part's (Content-MD5 and the ETag). MD5 is one long dependency chain per block, so two
/// chains interleaved in one loop (`update(_:_:with:)`) cost little more than one; over libcrypto's
/// two separate passes this saves about a third of s3put's CPU.
struct MD5Lane {
    private var state: (UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476)
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    /// Adds bytes.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        length += UInt64(bytes.count)
        if !pending.isEmpty {
            let take = min(64 - pending.count, rest.count)
            pending += rest[0..<take]
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
            guard pending.count == 64 else { return }
            pending.withUnsafeBytes { md5Compress(&state, $0.baseAddress!, blocks: 1) }
            pending.removeAll(keepingCapacity: true)
        }
        let blocks = rest.count / 64
        if blocks > 0 { md5Compress(&state, rest.baseAddress!, blocks: blocks) }
        pending += rest[(blocks * 64)...]
    }

    /// Adds the same bytes to two digests, in one interleaved pass where their blocks line up.
    static func update(_ x: inout MD5Lane, _ y: inout MD5Lane, with bytes: UnsafeRawBufferPointer) {
        guard x.pending.count == y.pending.count else {
            x.update(bytes)
            y.update(bytes)
            return
        }
        let lead = min((64 - x.pending.count) % 64, bytes.count)
        x.update(UnsafeRawBufferPointer(rebasing: bytes[0..<lead]))
        y.update(UnsafeRawBufferPointer(rebasing: bytes[0..<lead]))
        let rest = UnsafeRawBufferPointer(rebasing: bytes[lead...])
        let blocks = rest.count / 64
        if blocks > 0 {
            md5CompressTwice(&x.state, &y.state, rest.baseAddress!, blocks: blocks)
            x.length += UInt64(blocks * 64)
            y.length += UInt64(blocks * 64)
        }
        let tail = UnsafeRawBufferPointer(rebasing: rest[(blocks * 64)...])
        x.update(tail)
        y.update(tail)
    }

    /// The 16-byte digest; the lane is spent.
    mutating func finalize() -> [UInt8] {
        let bits = length &* 8
        var padding: [UInt8] = [0x80] + [UInt8](repeating: 0, count: (55 &- pending.count) & 63)
        for i in 0..<8 { padding.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        let savedLength = length
        padding.withUnsafeBytes { update($0) }
        length = savedLength
        var out: [UInt8] = []
        for word in [state.0, state.1, state.2, state.3] {
            for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: word >> (8 * UInt32(i)))) }
        }
        return out
    }
}
