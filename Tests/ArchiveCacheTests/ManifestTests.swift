import Foundation
import Testing
import ToolSupport
@testable import ArchiveCache

@Suite("slice manifests")
struct ManifestTests {
    func sample() -> SliceManifest {
        var m = SliceManifest()
        m.key = "archives/flights/2024/01/flights-2024-01-05.jsonl.zst"
        m.table = "public.flights"
        m.window = "2024-01-05T00:00:00Z/2024-01-06T00:00:00Z"
        m.format = "jsonl"
        m.codec = "zstd"
        m.rows = 200_000
        m.digest = "574b8d9f9d2f90bac8e67dac654f6e14"
        m.etag = "9b2cf535f27731c974343645a3985328-3"
        m.size = 14_233_110
        m.partSize = 5_242_880
        m.schemaHash = "3f2a9c0d1e4b5a67"
        m.created = Timestamp(rfc3339: "2026-12-04T18:40:00Z")!
        return m
    }

    @Test("a manifest is one compact JSON object in the documented field order, and reads back equal")
    func roundTrip() throws {
        let m = sample()
        let text = m.json.compact
        #expect(text.hasPrefix("{\"version\":1,\"key\":\"archives/flights/2024/01/flights-2024-01-05.jsonl.zst\",\"table\":\"public.flights\","))
        #expect(text.hasSuffix("\"schema_hash\":\"3f2a9c0d1e4b5a67\",\"created\":\"2026-12-04T18:40:00Z\",\"open\":false}"))
        #expect(try SliceManifest(bytes: Array(text.utf8), source: "m") == m)
    }

    @Test("a manifest of an unknown version, without a digest or with a malformed one is refused, naming it")
    func refused() {
        var future = sample().json.compact
        future = future.replacingOccurrences(of: "\"version\":1", with: "\"version\":2")
        #expect(throws: ToolError.self) { try SliceManifest(bytes: Array(future.utf8), source: "k") }
        let short = sample().json.compact.replacingOccurrences(of: "574b8d9f9d2f90bac8e67dac654f6e14", with: "574b")
        do {
            _ = try SliceManifest(bytes: Array(short.utf8), source: "archives/flights/_manifest/x.json")
            Issue.record("accepted a short digest")
        } catch {
            #expect("\(error)".contains("manifest archives/flights/_manifest/x.json: digest"))
        }
        #expect(throws: ToolError.self) { try SliceManifest(bytes: Array("{\"version\":1}".utf8), source: "k") }
    }
}
