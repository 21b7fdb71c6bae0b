import Foundation
import Testing
import TestSupport
@testable import Codecs

/// Text-like test data: deterministic pseudo-random words, so it compresses like real rows.
func sampleText(bytes: Int, seed: UInt64 = 42) -> Data {
    let words = ["flight", "UAL1234", "departure", "2024-01-05T13:00:00+00:00", "altitude", "37000", "true",
                 "{\"squawk\":\"7500\"}", "null", "KLM", "lat", "-33.8688", "lon", "151.2093", "\n", ",", "\t"]
    var state = seed
    var out = Data(capacity: bytes)
    while out.count < bytes {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        out.append(contentsOf: words[Int(state >> 33) % words.count].utf8)
        out.append(0x20)
    }
    return out.prefix(bytes)
}

/// The reference CLI's compress and decompress invocations for a codec.
let referenceTools: [Codec: (compress: String, decompress: String)] = [
    .zstd: ("zstd -q -c", "zstd -q -d -c"),
    .lz4: ("lz4 -q -c", "lz4 -q -d -c"),
    .gzip: ("gzip -c", "gzip -d -c"),
]

@Suite("zcompress interoperates with the reference CLIs")
struct ZcompressInteropTests {
    static let cases: [(Codec, Int)] = [Codec.zstd, .lz4, .gzip].flatMap { c in [0, 1, 1 << 20].map { (c, $0) } }

    @Test("ours → reference decoder and reference → ours, small inputs", arguments: cases)
    func bothWays(codec: Codec, size: Int) throws {
        try roundTrip(codec: codec, data: sampleText(bytes: size), level: nil)
    }

    @Test("extreme levels interoperate on 1 MiB", arguments: [(Codec.zstd, 1), (.zstd, 22), (.lz4, 1), (.lz4, 12), (.gzip, 1), (.gzip, 9)])
    func extremeLevels(codec: Codec, level: Int) throws {
        try roundTrip(codec: codec, data: sampleText(bytes: 1 << 20, seed: 7), level: level)
    }

    @Test("100 MiB at default levels interoperates", arguments: [Codec.zstd, .lz4, .gzip])
    func large(codec: Codec) throws {
        try roundTrip(codec: codec, data: sampleText(bytes: 100 << 20, seed: 3), level: nil)
    }

    func roundTrip(codec: Codec, data: Data, level: Int?) throws {
        let dir = try TemporaryDirectory()
        let input = dir.path("input")
        try data.write(to: URL(fileURLWithPath: input))
        let ref = referenceTools[codec]!
        let z = Package.tool("zcompress")
        let levelArg = level.map { " -l \($0)" } ?? ""
        // Ours → reference decoder.
        let ours = try shell("'\(z)' \(codec.rawValue)\(levelArg) < '\(input)' | \(ref.decompress) | cmp - '\(input)'")
        #expect(ours.status == 0, "ours → \(ref.decompress): \(ours.err)")
        // Reference encoder → ours.
        let theirs = try shell("\(ref.compress) < '\(input)' | '\(z)' -d | cmp - '\(input)'")
        #expect(theirs.status == 0, "\(ref.compress) → ours: \(theirs.err)")
        withExtendedLifetime(dir) {}
    }
}

@Suite("zcompress behaviour")
struct ZcompressBehaviourTests {
    let z = Package.tool("zcompress")

    @Test("zstd output is identical with -T 1 and -T 2")
    func deterministic() throws {
        let dir = try TemporaryDirectory()
        let input = dir.path("input")
        try sampleText(bytes: 24 << 20).write(to: URL(fileURLWithPath: input))
        let one = try run(z, ["zstd", "-T", "1", input])
        let two = try run(z, ["zstd", "-T", "2", input])
        #expect(one.status == 0 && two.status == 0)
        #expect(one.stdout == two.stdout)
    }

    @Test("concatenated frames and members decode as one stream", arguments: [Codec.zstd, .lz4, .gzip])
    func concatenated(codec: Codec) throws {
        let dir = try TemporaryDirectory()
        try Data("first part\n".utf8).write(to: URL(fileURLWithPath: dir.path("a")))
        try Data("second part\n".utf8).write(to: URL(fileURLWithPath: dir.path("b")))
        let result = try shell("cd '\(dir.url.path)' && { '\(z)' \(codec.rawValue) a; '\(z)' \(codec.rawValue) b; } | '\(z)' -d")
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out == "first part\nsecond part\n")
    }

    @Test("truncated input fails with exit 4 (input cut short: a consequence in a pipeline) and the byte offset",
          arguments: [Codec.zstd, .lz4, .gzip])
    func truncated(codec: Codec) throws {
        let compressed = try run(z, [codec.rawValue], stdin: sampleText(bytes: 200_000, seed: 9)).stdout
        let cut = compressed.prefix(compressed.count - 5)
        let result = try run(z, ["-d"], stdin: cut)
        #expect(result.status == 4)
        #expect(result.err == "zcompress: error: truncated \(codec.rawValue) data: the input ends inside a \(codec == .gzip ? "member" : "frame") at byte \(cut.count)\n")
    }

    @Test("corrupt input fails with exit 1 naming the codec and an offset", arguments: [Codec.zstd, .lz4, .gzip])
    func corrupt(codec: Codec) throws {
        var compressed = try run(z, [codec.rawValue], stdin: sampleText(bytes: 200_000, seed: 11)).stdout
        let middle = compressed.startIndex + compressed.count / 2
        for i in middle..<(middle + 64) { compressed[i] ^= 0x5A }
        let result = try run(z, ["-d"], stdin: compressed)
        #expect(result.status == 1)
        #expect(result.err.hasPrefix("zcompress: error: corrupt \(codec.rawValue) data near byte "), "\(result.err)")
    }

    @Test("input with no known magic fails with exit 1")
    func unknownMagic() throws {
        let result = try run(z, ["-d"], stdin: Data("plain text, not compressed\n".utf8))
        #expect(result.status == 1)
        #expect(result.err == "zcompress: error: not a zstd, lz4 or gzip stream\n")
        #expect(result.stdout.isEmpty)
    }

    @Test("a failed -d -o leaves no output file behind")
    func noPartialOutput() throws {
        let dir = try TemporaryDirectory()
        let compressed = try run(z, ["zstd"], stdin: sampleText(bytes: 500_000)).stdout
        let result = try run(z, ["-d", "-o", dir.path("out.txt")], stdin: compressed.prefix(compressed.count / 2))
        #expect(result.status == 4)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).isEmpty)
    }

    @Test("-o writes the file and nothing to stdout")
    func outputFile() throws {
        let dir = try TemporaryDirectory()
        let data = sampleText(bytes: 100_000)
        let result = try run(z, ["gzip", "-o", dir.path("x.gz")], stdin: data)
        #expect(result.status == 0 && result.stdout.isEmpty)
        let back = try run("gzip", ["-dc", dir.path("x.gz")])
        #expect(back.stdout == data)
    }

    @Test("none passes bytes through both ways")
    func none() throws {
        let data = sampleText(bytes: 1000)
        #expect(try run(z, ["none"], stdin: data).stdout == data)
    }

    @Test("bad levels and codecs are usage errors naming the problem", arguments: [
        (["zstd", "-l", "0"], "level 0 is out of range for zstd (1-22)"),
        (["lz4", "-l", "13"], "level 13 is out of range for lz4 (1-12)"),
        (["gzip", "-l", "10"], "level 10 is out of range for gzip (1-9)"),
        (["brotli"], "unknown codec \"brotli\" (expected zstd, lz4, gzip or none)"),
        (["-d", "-l", "3"], "-l and -T apply to compression only"),
    ])
    func usage(arguments: [String], message: String) throws {
        let result = try run(z, arguments, stdin: Data())
        #expect(result.status == 2)
        #expect(result.err.hasPrefix("zcompress: error: \(message)\n"), "\(result.err)")
        #expect(result.stdout.isEmpty)
    }

    @Test("--progress-fd reports cumulative bytes and a final done line")
    func progress() throws {
        let dir = try TemporaryDirectory()
        let result = try shell("'\(z)' zstd --progress-fd 3 3>'\(dir.path("p"))' >/dev/null", stdin: sampleText(bytes: 300_000))
        #expect(result.status == 0)
        let lines = try String(contentsOfFile: dir.path("p"), encoding: .utf8).split(separator: "\n")
        let last = try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as! [String: Any]
        #expect(last["done"] as? Bool == true)
        #expect(last["stage"] as? String == "zcompress")
        #expect((last["bytes"] as? Int ?? 0) > 0)
    }
}

@Suite("codec facts")
struct CodecFactTests {
    @Test("magic bytes identify each codec")
    func magic() {
        func detect(_ bytes: [UInt8]) -> Codec? { bytes.withUnsafeBytes { Codec.detect($0) } }
        #expect(detect([0x28, 0xB5, 0x2F, 0xFD]) == .zstd)
        #expect(detect([0x04, 0x22, 0x4D, 0x18]) == .lz4)
        #expect(detect([0x1F, 0x8B, 0x08, 0x00]) == .gzip)
        #expect(detect([0x50, 0x4B, 0x03, 0x04]) == nil)
    }

    @Test("file extensions follow the archive's object names")
    func extensions() {
        #expect(Codec.allCases.map(\.fileExtension) == [".zst", ".lz4", ".gz", ""])
    }
}

@Suite("decoders and chunk boundaries")
struct ChunkBoundaryTests {
    /// Compresses with our encoder, then decodes feeding the input in `chunk`-byte pieces.
    func roundTrip(_ codec: Codec, chunk: Int, data: Data) throws -> Data {
        let compressor = try codec.makeCompressor(level: codec.defaultLevel, threads: 1)
        var compressed = Data()
        try data.withUnsafeBytes { try compressor.compress($0) { compressed.append(contentsOf: $0) } }
        try compressor.finish { compressed.append(contentsOf: $0) }
        // Two frames back to back, so frame ends fall inside and at the edges of chunks.
        compressed += compressed
        let decompressor = try codec.makeDecompressor()
        var out = Data()
        var offset = 0
        try compressed.withUnsafeBytes { all in
            while offset < all.count {
                let piece = UnsafeRawBufferPointer(rebasing: all[offset..<min(offset + chunk, all.count)])
                try decompressor.decompress(piece, offset: UInt64(offset)) { out.append(contentsOf: $0) }
                offset += piece.count
            }
        }
        try decompressor.finish(offset: UInt64(offset))
        return out
    }

    @Test("any chunking of the input decodes the same", arguments: [Codec.zstd, .lz4, .gzip], [1, 3, 4096, 65536, 1 << 20])
    func chunking(codec: Codec, chunk: Int) throws {
        // 9 MiB: more than two 4 MiB lz4 blocks and more than the decoders' output buffers.
        let data = sampleText(bytes: chunk < 100 ? 300_000 : 9 << 20, seed: UInt64(chunk))
        #expect(try roundTrip(codec, chunk: chunk, data: data) == data + data)
    }
}
