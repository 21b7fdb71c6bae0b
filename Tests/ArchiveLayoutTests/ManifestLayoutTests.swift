import Testing
@testable import ArchiveLayout

@Suite("manifest keys")
struct ManifestLayoutTests {
    @Test("a manifest lives under the fixed prefix's _manifest/ as the object's file name + .json, and parses back")
    func keys() {
        let key = ArchiveLayout.manifestKey(template: "archives/{table}/{YYYY}/{MM}", table: "flights",
                                            objectKey: "archives/flights/2024/01/flights-2024-01-05.jsonl.zst")
        #expect(key == "archives/flights/_manifest/flights-2024-01-05.jsonl.zst.json")
        #expect(ArchiveLayout.manifestFileName(manifestKey: key, template: "archives/{table}/{YYYY}/{MM}", table: "flights")
                == "flights-2024-01-05.jsonl.zst")
        // A template that starts with a date keeps its manifests at the bucket's root folder.
        #expect(ArchiveLayout.manifestKey(template: "{YYYY}/{table}", table: "t", objectKey: "2024/t/t-2024.csv") == "_manifest/t-2024.csv.json")
        #expect(ArchiveLayout.manifestFileName(manifestKey: "archives/flights/_schema/flights-1.json", template: "archives/{table}/{YYYY}", table: "flights") == nil)
        #expect(ArchiveLayout.manifestFileName(manifestKey: "archives/flights/_manifest/x/y.json", template: "archives/{table}/{YYYY}", table: "flights") == nil)
        // Neither a manifest nor a sidecar name reads as a data object.
        #expect(ArchivedFileName("flights-2024-01-05.jsonl.zst.json", table: "flights") == nil)
    }
}
