import SlicePlan
import Testing

@Suite("shards")
struct ShardTests {
    // Vectors from Python (docs/shard.md): h ^= b; h = h * 0x100000001b3 % 2**64 from 0xcbf29ce484222325.
    @Test("the shard hash is 64-bit FNV-1a of the stem's UTF-8 bytes (docs/shard.md's vectors)", arguments: [
        ("", 0xcbf2_9ce4_8422_2325 as UInt64), ("a", 0xaf63_dc4c_8601_ec8c), ("flights-2024-01-01", 0x0d2a_1c92_f362_0f6b),
        ("flights-2024-01-01-13", 0x09cf_025c_bd4a_101e), ("flights-2024-W05", 0x4541_86c0_1e7c_2da8),
        ("événements-2024-01", 0x6cc6_7a4b_ef48_4268), ("t-2024", 0xec82_e4bd_f760_690e),
    ])
    func vectors(stem: String, hash: UInt64) {
        #expect(Shard.hash(stem) == hash)
    }

    @Test("I/N parses for 0 <= I < N; every stem belongs to exactly one shard")
    func partition() throws {
        for bad in ["", "1", "3/3", "-1/3", "1/0", "a/3", "1/3/4", " 1/3", "1/1000001"] { #expect(Shard(bad) == nil, "\(bad)") }
        let shards = try (0..<3).map { try #require(Shard("\($0)/3")) }
        #expect(shards[2].fileTag == "shard-2-of-3" && shards[1].description == "1/3")
        #expect(shards[1].contains(stem: "a") && shards[2].contains(stem: "flights-2024-W05"))
        for day in 1...28 {
            let stem = "flights-2024-02-\(day < 10 ? "0" : "")\(day)"
            #expect(shards.filter { $0.contains(stem: stem) }.count == 1, "\(stem)")
        }
        #expect(try #require(Shard("0/1")).contains(stem: "anything"))
    }
}
