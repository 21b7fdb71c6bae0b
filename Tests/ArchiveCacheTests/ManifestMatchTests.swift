import Testing
@testable import ArchiveCache

/// The level-2 rule for objects whose ETag is no MD5 (SSE-KMS, SSE-C): the manifest decides.
@Suite("manifest match for opaque ETags")
struct ManifestMatchTests {
    let manifest = ManifestTests().sample()

    /// The slice that matches `manifest` exactly.
    var slice: ProducedSlice {
        ProducedSlice(key: manifest.key, window: manifest.window, format: "jsonl", codec: "zstd", schemaHash: manifest.schemaHash,
                      rows: manifest.rows, digest: manifest.digest, size: manifest.size)
    }

    @Test("the same rows, digest and size in an object the manifest still describes: the same slice (ETag quoted or not)")
    func match() {
        #expect(manifest.mismatch(storedSize: manifest.size, storedETag: manifest.etag, slice: slice) == nil)
        #expect(manifest.mismatch(storedSize: manifest.size, storedETag: "\"\(manifest.etag)\"", slice: slice) == nil)
    }

    @Test("any difference is one: object replaced, rows, digest, size, window, format, codec, schema, an open window's manifest")
    func differences() {
        func differs(_ change: (inout ProducedSlice) -> Void, _ expected: String) {
            var s = slice
            change(&s)
            let found = manifest.mismatch(storedSize: manifest.size, storedETag: manifest.etag, slice: s)
            #expect(found?.contains(expected) == true, "\(found ?? "nil")")
        }
        differs({ $0.rows += 1 }, "rows")
        differs({ $0.digest = "00000000000000000000000000000000" }, "digest")
        differs({ $0.size -= 1 }, "the slice encodes to")
        differs({ $0.window = "2024-01-06T00:00:00Z/2024-01-07T00:00:00Z" }, "window")
        differs({ $0.codec = "lz4" }, "jsonl/zstd")
        differs({ $0.schemaHash = "ffff" }, "schema")
        differs({ $0.key = "other" }, "describes")
        // The object was replaced after its manifest was written (another writer, an upload that
        // failed after the object but before the manifest): the manifest no longer speaks for it.
        #expect(manifest.mismatch(storedSize: manifest.size, storedETag: "0123456789abcdef0123456789abcdef-3", slice: slice)?
            .contains("is not the one the manifest describes") == true)
        #expect(manifest.mismatch(storedSize: manifest.size + 1, storedETag: manifest.etag, slice: slice) != nil)
        var open = manifest
        open.open = true
        #expect(open.mismatch(storedSize: manifest.size, storedETag: manifest.etag, slice: slice)?.contains("open") == true)
    }
}
