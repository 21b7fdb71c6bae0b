/// XXH3-128, written from the xxHash specification (doc/xxhash_spec.md, v0.2.0): the 128-bit
/// variant of XXH3 with the default 192-byte secret and an optional 64-bit seed.
///
/// One-shot only: the row digest hashes each row's canonical bytes as one buffer.
public enum XXH3 {
    /// A 128-bit result: `high` and `low` 64-bit halves; its canonical form is big-endian (high first).
    public struct Hash128: Equatable, Sendable, CustomStringConvertible {
        /// The low 64 bits.
        public var low: UInt64
        /// The high 64 bits.
        public var high: UInt64

        /// A hash from its two halves.
        public init(low: UInt64, high: UInt64) {
            self.low = low
            self.high = high
        }

        /// 32 lower-case hex digits, high half first (xxHash's canonical representation).
        public var description: String { hex64(high) + hex64(low) }
    }

    static let prime32_1: UInt64 = 0x9E37_79B1
    static let prime32_2: UInt64 = 0x85EB_CA77
    static let prime32_3: UInt64 = 0xC2B2_AE3D
    static let prime64_1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let prime64_2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let prime64_3: UInt64 = 0x1656_67B1_9E37_79F9
    static let prime64_4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let prime64_5: UInt64 = 0x27D4_EB2F_1656_67C5
    static let primeMX1: UInt64 = 0x1656_6791_9E37_79F9
    static let primeMX2: UInt64 = 0x9FB2_1C65_1E98_DF25

    /// The default secret (192 bytes) from the specification.
    static let defaultSecret: [UInt8] = [
        0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
        0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
        0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
        0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
        0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
        0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
        0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
        0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
        0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
        0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
        0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
        0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
    ]

    /// The secret as a process-lifetime buffer (read with unaligned little-endian loads).
    nonisolated(unsafe) static let secretPointer: UnsafeRawPointer = {
        let p = UnsafeMutableRawPointer.allocate(byteCount: 192, alignment: 16)
        defaultSecret.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: 192) }
        return UnsafeRawPointer(p)
    }()

    /// XXH3-128 of a byte array.
    public static func hash128(_ bytes: [UInt8], seed: UInt64 = 0) -> Hash128 {
        bytes.withUnsafeBytes { hash128($0, seed: seed) }
    }

    /// XXH3-128 of `input` with `seed` (0 is the default, and what the row digest uses).
    public static func hash128(_ input: UnsafeRawBufferPointer, seed: UInt64 = 0) -> Hash128 {
        let length = input.count
        let data = input.baseAddress ?? secretPointer
        let secret = secretPointer
        if length <= 16 { return small(data, length, secret, seed) }
        if length <= 240 { return medium(data, length, secret, seed) }
        if seed == 0 { return large(data, length, secret) }
        // Large inputs with a seed hash with a secret derived from it.
        var derived = [UInt8](repeating: 0, count: 192)
        for i in 0..<24 {
            var word = secret.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self).littleEndian
            word = i % 2 == 0 ? word &+ seed : word &- seed
            withUnsafeBytes(of: word.littleEndian) { derived.replaceSubrange((i * 8)..<(i * 8 + 8), with: $0) }
        }
        return derived.withUnsafeBytes { large(data, length, $0.baseAddress!) }
    }

    // MARK: Building blocks

    @inline(__always) static func read64(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        p.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian
    }

    @inline(__always) static func read32(_ p: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        p.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
    }

    @inline(__always) static func multiply128(_ a: UInt64, _ b: UInt64) -> (high: UInt64, low: UInt64) {
        let r = a.multipliedFullWidth(by: b)
        return (r.high, r.low)
    }

    @inline(__always) static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let r = a.multipliedFullWidth(by: b)
        return r.low ^ r.high
    }

    @inline(__always) static func avalanche(_ value: UInt64) -> UInt64 {
        var x = value ^ (value >> 37)
        x = x &* primeMX1
        return x ^ (x >> 32)
    }

    @inline(__always) static func avalancheXXH64(_ value: UInt64) -> UInt64 {
        var x = value ^ (value >> 33)
        x = x &* prime64_2
        x ^= x >> 29
        x = x &* prime64_3
        return x ^ (x >> 32)
    }

    @inline(__always) static func rotl32(_ x: UInt32, _ r: UInt32) -> UInt32 { (x << r) | (x >> (32 - r)) }

    // MARK: 0–16 bytes

    static func small(_ p: UnsafeRawPointer, _ length: Int, _ secret: UnsafeRawPointer, _ seed: UInt64) -> Hash128 {
        let len = UInt64(length)
        if length == 0 {
            return Hash128(low: avalancheXXH64(seed ^ read64(secret, 64) ^ read64(secret, 72)),
                           high: avalancheXXH64(seed ^ read64(secret, 80) ^ read64(secret, 88)))
        }
        if length <= 3 {
            let b = p.assumingMemoryBound(to: UInt8.self)
            let combined = UInt32(b[length - 1]) | UInt32(length) << 8 | UInt32(b[0]) << 16 | UInt32(b[length >> 1]) << 24
            let low = (UInt64(read32(secret, 0) ^ read32(secret, 4)) &+ seed) ^ UInt64(combined)
            let high = (UInt64(read32(secret, 8) ^ read32(secret, 12)) &- seed) ^ UInt64(rotl32(combined.byteSwapped, 13))
            return Hash128(low: avalancheXXH64(low), high: avalancheXXH64(high))
        }
        if length <= 8 {
            let first = UInt64(read32(p, 0))
            let last = UInt64(read32(p, length - 4))
            let modifiedSeed = seed ^ (UInt64(UInt32(truncatingIfNeeded: seed).byteSwapped) << 32)
            let combined = first | last << 32
            let value = ((read64(secret, 16) ^ read64(secret, 24)) &+ modifiedSeed) ^ combined
            var (high, low) = multiply128(value, prime64_1 &+ (len << 2))
            high = high &+ (low << 1)
            low ^= high >> 3
            low ^= low >> 35
            low = low &* primeMX2
            low ^= low >> 28
            return Hash128(low: low, high: avalanche(high))
        }
        let first = read64(p, 0)
        let last = read64(p, length - 8)
        let val1 = ((read64(secret, 32) ^ read64(secret, 40)) &- seed) ^ first ^ last
        let val2 = ((read64(secret, 48) ^ read64(secret, 56)) &+ seed) ^ last
        let m = multiply128(val1, prime64_1)
        var low = m.low &+ ((len &- 1) << 54)
        var high = m.high &+ ((val2 >> 32) << 32) &+ (val2 & 0xFFFF_FFFF) &* prime32_2
        low ^= high.byteSwapped
        let m2 = multiply128(low, prime64_2)
        low = m2.low
        high = m2.high &+ high &* prime64_2
        return Hash128(low: avalanche(low), high: avalanche(high))
    }

    // MARK: 17–240 bytes

    @inline(__always)
    static func mixStep(_ p: UnsafeRawPointer, _ offset: Int, _ secret: UnsafeRawPointer, _ secretOffset: Int, _ seed: UInt64) -> UInt64 {
        fold(read64(p, offset) ^ (read64(secret, secretOffset) &+ seed),
             read64(p, offset + 8) ^ (read64(secret, secretOffset + 8) &- seed))
    }

    @inline(__always)
    static func mixTwo(_ acc: inout (UInt64, UInt64), _ p: UnsafeRawPointer, _ offset1: Int, _ offset2: Int,
                       _ secret: UnsafeRawPointer, _ secretOffset: Int, _ seed: UInt64) {
        acc.0 = acc.0 &+ mixStep(p, offset1, secret, secretOffset, seed)
        acc.1 = acc.1 &+ mixStep(p, offset2, secret, secretOffset + 16, seed)
        acc.0 ^= read64(p, offset2) &+ read64(p, offset2 + 8)
        acc.1 ^= read64(p, offset1) &+ read64(p, offset1 + 8)
    }

    static func medium(_ p: UnsafeRawPointer, _ length: Int, _ secret: UnsafeRawPointer, _ seed: UInt64) -> Hash128 {
        let len = UInt64(length)
        var acc: (UInt64, UInt64) = (len &* prime64_1, 0)
        if length <= 128 {
            var i = (length - 1) >> 5
            while i >= 0 {
                mixTwo(&acc, p, i * 16, length - i * 16 - 16, secret, i * 32, seed)
                i -= 1
            }
        } else {
            let chunks = length >> 5
            for i in 0..<4 { mixTwo(&acc, p, i * 32, i * 32 + 16, secret, i * 32, seed) }
            acc.0 = avalanche(acc.0)
            acc.1 = avalanche(acc.1)
            var i = 4
            while i < chunks {
                mixTwo(&acc, p, i * 32, i * 32 + 16, secret, (i - 4) * 32 + 3, seed)
                i += 1
            }
            mixTwo(&acc, p, length - 16, length - 32, secret, 103, 0 &- seed)
        }
        let low = acc.0 &+ acc.1
        let high = acc.0 &* prime64_1 &+ acc.1 &* prime64_4 &+ (len &- seed) &* prime64_2
        return Hash128(low: avalanche(low), high: 0 &- avalanche(high))
    }

    // MARK: 241 bytes and more (default-sized secret: 16 stripes of 64 bytes per block)

    static let secretLength = 192
    static let stripesPerBlock = (secretLength - 64) / 8
    static let blockSize = 64 * stripesPerBlock

    @inline(__always)
    static func accumulate(_ acc: UnsafeMutablePointer<UInt64>, _ stripe: UnsafeRawPointer, _ secret: UnsafeRawPointer, _ secretOffset: Int) {
        for i in 0..<8 {
            let lane = read64(stripe, i * 8)
            let value = lane ^ read64(secret, secretOffset + i * 8)
            acc[i ^ 1] = acc[i ^ 1] &+ lane
            acc[i] = acc[i] &+ (value & 0xFFFF_FFFF) &* (value >> 32)
        }
    }

    @inline(__always)
    static func scramble(_ acc: UnsafeMutablePointer<UInt64>, _ secret: UnsafeRawPointer) {
        for i in 0..<8 {
            var a = acc[i]
            a ^= a >> 47
            a ^= read64(secret, secretLength - 64 + i * 8)
            acc[i] = a &* prime32_1
        }
    }

    static func finalMerge(_ acc: UnsafeMutablePointer<UInt64>, _ initial: UInt64, _ secret: UnsafeRawPointer, _ secretOffset: Int) -> UInt64 {
        var result = initial
        for i in 0..<4 {
            result = result &+ fold(acc[2 * i] ^ read64(secret, secretOffset + 16 * i),
                                    acc[2 * i + 1] ^ read64(secret, secretOffset + 16 * i + 8))
        }
        return avalanche(result)
    }

    static func large(_ p: UnsafeRawPointer, _ length: Int, _ secret: UnsafeRawPointer) -> Hash128 {
        var lanes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (prime32_3, prime64_1, prime64_2, prime64_3, prime64_4, prime32_2, prime64_5, prime32_1)
        return withUnsafeMutableBytes(of: &lanes) { raw in
            let acc = raw.baseAddress!.assumingMemoryBound(to: UInt64.self)
            var offset = 0
            while length - offset > blockSize {
                for n in 0..<stripesPerBlock { accumulate(acc, p + offset + n * 64, secret, n * 8) }
                scramble(acc, secret)
                offset += blockSize
            }
            let last = length - offset
            let fullStripes = (last - 1) / 64
            for n in 0..<fullStripes { accumulate(acc, p + offset + n * 64, secret, n * 8) }
            accumulate(acc, p + length - 64, secret, secretLength - 71)
            let len = UInt64(length)
            return Hash128(low: finalMerge(acc, len &* prime64_1, secret, 11),
                           high: finalMerge(acc, ~(len &* prime64_2), secret, secretLength - 75))
        }
    }
}

/// 16 lower-case hex digits of `value`, zero-padded.
func hex64(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}
