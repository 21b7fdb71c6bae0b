import ArchiveCache
import Foundation
import Testing
import TestSupport

/// A cache file as this project wrote it before the database: our fields included.
let ourCacheFile = """
    {
      "entries": {
        "archives/flights/2024/01/flights-2024-01-01.jsonl.zst": {
          "row_count": 1500,
          "count_time": "2024-01-02T08:00:00.5Z",
          "file_size": 2048,
          "uncompressed_size": 16384,
          "file_md5": "9e107d9d372bb6826bd81d3542a419d6",
          "multipart_etag": "",
          "file_time": "2024-01-02T08:00:01Z",
          "s3_key": "archives/flights/2024/01/flights-2024-01-01.jsonl.zst",
          "s3_uploaded": true,
          "s3_upload_time": "2024-01-02T08:00:02Z",
          "last_error": "",
          "error_time": "0001-01-01T00:00:00Z",
          "process_start_time": "2024-01-02T07:59:00Z",
          "last_skip_time": "2024-01-03T00:00:00Z",
          "window": "2024-01-01T00:00:00Z/2024-01-02T00:00:00Z"
        },
        "archives/flights/2024/01/flights-2024-01-02.jsonl.zst": {
          "row_count": 0,
          "count_time": "0001-01-01T00:00:00Z",
          "file_size": 0,
          "uncompressed_size": 0,
          "file_md5": "",
          "multipart_etag": "",
          "file_time": "0001-01-01T00:00:00Z",
          "s3_key": "archives/flights/2024/01/flights-2024-01-02.jsonl.zst",
          "s3_uploaded": false,
          "s3_upload_time": "0001-01-01T00:00:00Z",
          "last_error": "upload: 503 \\"slow down\\"",
          "error_time": "2024-01-03T00:00:00Z",
          "process_start_time": "0001-01-01T00:00:00Z"
        }
      }
    }
    """

@Suite("cache database")
struct DatabaseTests {
    @Test("JSON cache files (the original's and ours) are imported once on first use; export prints ours back unchanged")
    func importAndExport() throws {
        let dir = try TemporaryDirectory()
        let home = ArchiveHome(path: dir.path("home"))
        let ours = CacheScope(command: "archive", table: "flights", bucket: "b", pathTemplate: "archives/{table}/{YYYY}/{MM}")
        let theirs = CacheScope(command: "dump", table: "events", bucket: "b", pathTemplate: "dumps/{table}")
        try home.createDirectories()
        try ourCacheFile.write(toFile: home.cacheFile(ours), atomically: true, encoding: .utf8)
        try originalCacheFile.write(toFile: home.cacheFile(theirs), atomically: true, encoding: .utf8)

        let environment = ["ARCHIVE_HOME": home.path]
        let exported = try run(Package.tool("archive-cache"), ["export", "--table", "flights"], environment: environment)
        #expect(exported.status == 0, "\(exported.err)")
        // Byte for byte: the same document as the file (our writer's layout, keys sorted).
        #expect(exported.out == ourCacheFile + "\n")
        let original = try run(Package.tool("archive-cache"), ["export", "--command", "dump", "--table", "events"], environment: environment)
        let a = try JSONSerialization.jsonObject(with: original.stdout) as! [String: [String: [String: Any]]]
        let b = try JSONSerialization.jsonObject(with: Data(originalCacheFile.utf8)) as! [String: [String: [String: Any]]]
        #expect(Set(a["entries"]!.keys) == Set(b["entries"]!.keys))
        for (key, entry) in b["entries"]! {
            for (field, value) in entry where !field.hasSuffix("_time") {
                #expect("\(a["entries"]![key]![field]!)" == "\(value)", "\(key).\(field)")
            }
        }
        #expect(a["entries"]!["flights_20240101"]!["count_time"] as? String == "2024-01-02T08:00:00.123456789Z")

        // Imported once: a later change of the file is not read again, the database's entries stand.
        let store = CacheStore(home: home)
        try store.updateEntry(ours, key: "new") { $0.fileSize = 1 }
        try originalCacheFile.write(toFile: home.cacheFile(ours), atomically: true, encoding: .utf8)
        let again = try CacheStore(home: home).load(ours)
        #expect(again.entries.keys.sorted() == ["archives/flights/2024/01/flights-2024-01-01.jsonl.zst",
                                                "archives/flights/2024/01/flights-2024-01-02.jsonl.zst", "new"])
        // Export and import are inverse: the export, as a JSON file in a fresh home, imports to the same entries.
        let fresh = ArchiveHome(path: dir.path("fresh"))
        try fresh.createDirectories()
        try exported.out.write(toFile: fresh.cacheFile(ours), atomically: true, encoding: .utf8)
        let reimported = try CacheStore(home: fresh).load(ours)
        let first = try CacheFile(json: JSONValue.parse(Array(ourCacheFile.utf8)))
        #expect(reimported == first)
        let missing = try run(Package.tool("archive-cache"), ["export", "--table", "nothing"], environment: environment)
        #expect(missing.status == 3 && missing.err.contains("no cache"))
    }

    @Test("an update costs the same in a cache of 500 or of 50,000 entries (ratio of two sizes)")
    func updateCostIndependentOfSize() throws {
        let dir = try TemporaryDirectory()
        let home = ArchiveHome(path: dir.path("home"))
        let small = CacheScope(command: "archive", table: "small", bucket: "b", pathTemplate: "p/{table}")
        let large = CacheScope(command: "archive", table: "large", bucket: "b", pathTemplate: "q/{table}")
        let store = CacheStore(home: home)
        try store.updateEntries(small, keys: (0..<500).map { "k\($0)" }) { _, e in e.fileSize = 1 }
        let smallDir = ArchiveHome(path: dir.path("small"))
        let smallStore = CacheStore(home: smallDir)
        try smallStore.updateEntries(small, keys: (0..<500).map { "k\($0)" }) { _, e in e.fileSize = 1 }
        let largeStore = CacheStore(home: ArchiveHome(path: dir.path("large")))
        for batch in 0..<10 {
            try largeStore.updateEntries(large, keys: (0..<5_000).map { "k\(batch * 5_000 + $0)" }) { _, e in e.fileSize = 1 }
        }
        #expect(try largeStore.load(large).entries.count == 50_000)
        // Interleaved rounds, so a busy machine slows both sides alike.
        var smallTime = 0.0, largeTime = 0.0
        for round in 0..<6 {
            for (target, scope, isSmall) in [(smallStore, small, true), (largeStore, large, false)] {
                let t0 = Date()
                for i in 0..<25 {
                    try target.updateEntry(scope, key: "k\((round * 25 + i) * 7 % 500)") { $0.rowCount = Int64(round * 100 + i) }
                }
                if isSmall { smallTime += Date().timeIntervalSince(t0) } else { largeTime += Date().timeIntervalSince(t0) }
            }
        }
        // A whole-file rewrite would make the large side ~100 times slower; O(log n) keeps it close.
        #expect(largeTime / smallTime < 3, "500 entries: \(smallTime) s, 50,000 entries: \(largeTime) s")
    }

    @Test("a batch of updates is one transaction: changed entries only, every one readable after")
    func batches() throws {
        let dir = try TemporaryDirectory()
        let home = ArchiveHome(path: dir.path("home"))
        let scope = CacheScope(command: "archive", table: "t", bucket: "b", pathTemplate: "p/{table}")
        let store = CacheStore(home: home)
        let stored = try store.updateEntries(scope, keys: ["a", "b", "c"]) { key, e in e.fileSize = Int64(key.utf8.first!) }
        #expect(stored.map(\.fileSize) == [97, 98, 99])
        #expect(try store.entry(scope, key: "b")?.fileSize == 98)
        #expect(try store.entry(scope, key: "z") == nil)
        // A throwing change rolls the whole batch back.
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try store.updateEntries(scope, keys: ["a", "d"]) { key, e in
                e.fileSize = 1
                if key == "d" { throw Stop() }
            }
        }
        #expect(try store.entry(scope, key: "a")?.fileSize == 97 && store.entry(scope, key: "d") == nil)
        // Whole-scope changes (expire) remove entries too.
        try store.update(scope) { $0.entries.removeValue(forKey: "c") }
        #expect(try store.load(scope).entries.keys.sorted() == ["a", "b"])
        #expect(store.loadAll().map(\.name.fileName) == [scope.fileName])
    }
}
