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

@Suite("late object names")
struct LateObjectNameTests {
    @Test("a late object is <stem>.late-<n>.<format>[.<codec>] beside the window's object; the name parses back to the window and generation")
    func lateNames() throws {
        let key = ArchiveLayout.lateKey(objectKey: "archives/flights/2024/01/flights-2024-01-02.jsonl.zst", stem: "flights-2024-01-02", generation: 2)
        #expect(key == "archives/flights/2024/01/flights-2024-01-02.late-2.jsonl.zst")
        #expect(ArchiveLayout.lateKey(objectKey: "t-2024.parquet", stem: "t-2024", generation: 11) == "t-2024.late-11.parquet")
        let late = try #require(ArchivedFileName("flights-2024-01-02.late-2.jsonl.zst", table: "flights"))
        #expect(late.label == "2024-01-02" && late.format == "jsonl" && late.codec == "zstd" && late.generation == 2)
        #expect(late.stem == "flights-2024-01-02" && late.name == "flights-2024-01-02.late-2")
        let parquet = try #require(ArchivedFileName("flights-2024-01.late-1.parquet", table: "flights"))
        #expect(parquet.generation == 1 && parquet.codec == "none" && parquet.label == "2024-01")
        let base = try #require(ArchivedFileName("flights-2024-01-02.csv.gz", table: "flights"))
        #expect(base.generation == 0 && base.name == "flights-2024-01-02")
        for name in ["flights-2024-01-02.late-0.jsonl.zst", "flights-2024-01-02.late-01.jsonl", "flights-2024-01-02.late-x.csv",
                     "flights-2024-01-02.late.csv", "flights-2024-01-02.early-1.csv", "flights-2024-01-02.late-1.late-2.csv",
                     "flights-2024-01-02.late-1.jsonl.zst.json", "flights-2024-01-02.late--1.csv"] {
            #expect(ArchivedFileName(name, table: "flights") == nil, "\(name)")
        }
        // A late object's manifest sits under _manifest/ like any other.
        #expect(ArchiveLayout.manifestKey(template: "archives/{table}/{YYYY}/{MM}", table: "flights", objectKey: key)
                == "archives/flights/_manifest/flights-2024-01-02.late-2.jsonl.zst.json")
    }
}
