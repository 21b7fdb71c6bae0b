/// One shard of N: the slices whose stem hashes to `index` modulo `count` (`--shard I/N`).
///
/// The hash is FNV-1a (64-bit) of the stem's UTF-8 bytes — fixed, unseeded, the same on every
/// machine and in every run (Swift's `Hasher` is seeded per process and cannot serve). The
/// definition and test vectors are in docs/shard.md.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// This shard, from 0.
    public let index: Int
    /// The number of shards.
    public let count: Int

    /// `I/N` with 0 ≤ I < N ≤ 1,000,000; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }),
              let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, count <= 1_000_000, index < count
        else { return nil }
        self.index = index
        self.count = count
    }

    /// `I/N`.
    public var description: String { "\(index)/\(count)" }

    /// A name for files kept per shard (run lock, task file): `shard-I-of-N`.
    public var fileTag: String { "shard-\(index)-of-\(count)" }

    /// Whether the slice with this stem belongs to this shard.
    public func contains(stem: String) -> Bool {
        Int(Self.hash(stem) % UInt64(count)) == index
    }

    /// FNV-1a, 64 bits: h = 0xcbf29ce484222325; for each byte b: h = (h XOR b) × 0x100000001b3 mod 2^64.
    public static func hash(_ stem: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in stem.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }
}
