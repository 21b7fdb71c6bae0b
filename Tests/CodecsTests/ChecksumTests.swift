import Foundation
import Testing
import TestSupport
@testable import Codecs

@Suite("zcompress frames carry content checksums")
struct ChecksumTests {
    let z = Package.tool("zcompress")

    @Test("zstd frames carry the checksum flag: zstd -lv reports XXH64, zstd -t accepts them")
    func zstdChecksum() throws {
        let dir = try TemporaryDirectory()
        let file = dir.path("x.zst")
        let made = try run(z, ["zstd", "-o", file], stdin: sampleText(bytes: 3 << 20))
        #expect(made.status == 0, "\(made.err)")
        #expect(try shell("zstd -t '\(file)'").status == 0)
        let listed = try shell("zstd -lv '\(file)'")
        #expect(listed.out.contains("Check: XXH64"), "\(listed.out)")
    }

    @Test("lz4 frames carry the content checksum: lz4 -t accepts them and the frame descriptor has the C.Checksum bit")
    func lz4Checksum() throws {
        let dir = try TemporaryDirectory()
        let file = dir.path("x.lz4")
        let made = try run(z, ["lz4", "-o", file], stdin: sampleText(bytes: 3 << 20))
        #expect(made.status == 0, "\(made.err)")
        #expect(try shell("lz4 -t '\(file)'").status == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(bytes[bytes.startIndex + 4] & 0x04 != 0, "FLG byte \(bytes[bytes.startIndex + 4])")
    }

    @Test("a flipped bit in the last block, where only the content checksum can see it, fails the decode", arguments: [Codec.zstd, .lz4])
    func checksumMismatch(codec: Codec) throws {
        // Stored (incompressible) data: a flipped bit changes the content, not the block structure.
        var random = SystemRandomNumberGenerator()
        let data = Data((0..<100_000).map { _ in UInt8.random(in: 0...255, using: &random) })
        var compressed = try run(z, [codec.rawValue], stdin: data).stdout
        let at = compressed.startIndex + compressed.count - 5_000
        compressed[at] ^= 0x01
        let result = try run(z, ["-d"], stdin: compressed)
        #expect(result.status == 1)
        #expect(result.err.hasPrefix("zcompress: error: corrupt \(codec.rawValue) data near byte "), "\(result.err)")
        #expect(result.err.lowercased().contains("checksum"), "\(result.err)")
    }
}
