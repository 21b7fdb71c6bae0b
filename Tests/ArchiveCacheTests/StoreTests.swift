import ArchiveCache
import Foundation
import Testing
import TestSupport

/// A cache file as the Go original writes it: zero times for unset values, every field present.
let originalCacheFile = """
    {
      "entries": {
        "flights_20240101": {
          "row_count": 1500,
          "count_time": "2024-01-02T10:00:00.123456789+02:00",
          "file_size": 2048,
          "uncompressed_size": 16384,
          "file_md5": "9e107d9d372bb6826bd81d3542a419d6",
          "multipart_etag": "",
          "file_time": "2024-01-02T08:00:01.5Z",
          "s3_key": "archives/flights/2024/01/flights-2024-01-01.jsonl.zst",
          "s3_uploaded": true,
          "s3_upload_time": "2024-01-02T08:00:02Z",
          "last_error": "",
          "error_time": "0001-01-01T00:00:00Z",
          "process_start_time": "0001-01-01T00:00:00Z"
        },
        "flights_20240102": {
          "row_count": 0,
          "count_time": "0001-01-01T00:00:00Z",
          "file_size": 0,
          "uncompressed_size": 0,
          "file_md5": "",
          "multipart_etag": "",
          "file_time": "0001-01-01T00:00:00Z",
          "s3_key": "",
          "s3_uploaded": false,
          "s3_upload_time": "0001-01-01T00:00:00Z",
          "last_error": "failed to get schema: pq: relation does not exist",
          "error_time": "2024-01-03T00:00:00Z",
          "process_start_time": "2024-01-02T23:59:00Z"
        }
      }
    }
    """

@Suite("cache store")
struct StoreTests {
    @Test("Go's zero time and offset times parse; output is UTC RFC 3339 with trimmed fractions")
    func timestamps() throws {
        let zero = try #require(Timestamp(rfc3339: "0001-01-01T00:00:00Z"))
        #expect(zero.isZero)
        #expect(zero.rfc3339 == "0001-01-01T00:00:00Z")
        let t = try #require(Timestamp(rfc3339: "2024-01-02T10:00:00.123456789+02:00"))
        #expect(t.rfc3339 == "2024-01-02T08:00:00.123456789Z")
        #expect(Timestamp(rfc3339: "2024-02-29T23:59:59.5Z")?.rfc3339 == "2024-02-29T23:59:59.5Z")
        #expect(Timestamp(rfc3339: "2024-02-29T23:59:59.5Z")?.seconds == 1_709_251_199)
        #expect(Timestamp(rfc3339: "2023-02-29T00:00:00Z") == nil)
        #expect(Timestamp(rfc3339: "2024-01-02 10:00") == nil)
        #expect(Timestamp(rfc3339: "2024-01-02T10:00:00") == nil)
    }

    @Test("a cache file written by the original is imported, zero times included, and exported compatibly")
    func loadsOriginalFile() throws {
        let dir = try TemporaryDirectory()
        let home = ArchiveHome(path: dir.path("home"))
        let scope = CacheScope(command: "archive", table: "flights", bucket: "b", pathTemplate: "archives/{table}/{YYYY}/{MM}")
        try home.createDirectories()
        try originalCacheFile.write(toFile: home.cacheFile(scope), atomically: true, encoding: .utf8)
        let store = CacheStore(home: home)
        let cache = try store.load(scope)
        let first = try #require(cache.entries["flights_20240101"])
        #expect(first.rowCount == 1500)
        #expect(first.countTime.rfc3339 == "2024-01-02T08:00:00.123456789Z")
        #expect(first.errorTime.isZero && first.s3Uploaded)
        #expect(cache.entries["flights_20240102"]?.lastError.hasPrefix("failed to get schema") == true)

        try store.updateEntry(scope, key: "flights_20240103") { $0.rowCount = 7 }
        // Exported, read back with an independent JSON reader: every original field, zero times as Go writes them.
        let exported = try run(Package.tool("archive-cache"), ["export", "--table", "flights"], environment: ["ARCHIVE_HOME": home.path])
        #expect(exported.status == 0, "\(exported.err)")
        let object = try JSONSerialization.jsonObject(with: exported.stdout) as! [String: Any]
        let entries = object["entries"] as! [String: [String: Any]]
        #expect(entries.count == 3)
        let fields: Set = ["row_count", "count_time", "file_size", "uncompressed_size", "file_md5", "multipart_etag", "file_time",
                           "s3_key", "s3_uploaded", "s3_upload_time", "last_error", "error_time", "process_start_time"]
        for entry in entries.values { #expect(Set(entry.keys) == fields) }
        #expect(entries["flights_20240102"]?["count_time"] as? String == "0001-01-01T00:00:00Z")
        #expect(entries["flights_20240101"]?["file_md5"] as? String == "9e107d9d372bb6826bd81d3542a419d6")

        // Our own field, the window an object covers, is written only when known and read back.
        try store.updateEntry(scope, key: "flights_20240103") { $0.window = "2024-01-02T00:00:00Z/2024-02-01T00:00:00Z" }
        #expect(try store.load(scope).entries["flights_20240103"]?.window == "2024-01-02T00:00:00Z/2024-02-01T00:00:00Z")
        #expect(try store.load(scope).entries["flights_20240101"]?.window == "")

        // The manifest's facts (docs/manifest.md) likewise.
        try store.updateEntry(scope, key: "flights_20240103") {
            $0.digest = "0123456789abcdef0123456789abcdef"
            $0.schemaHash = "a1b2c3d4e5f60718"
            $0.partSize = 5_242_880
            $0.format = "jsonl"
            $0.codec = "zstd"
        }
        let reread = try store.load(scope).entries["flights_20240103"]
        #expect(reread?.digest == "0123456789abcdef0123456789abcdef" && reread?.schemaHash == "a1b2c3d4e5f60718")
        #expect(reread?.partSize == 5_242_880 && reread?.format == "jsonl" && reread?.codec == "zstd")
        #expect(try store.load(scope).entries["flights_20240101"]?.digest == "")
    }

    @Test("the cache file name carries the first 16 hex digits of sha1(s3://bucket/template)")
    func fileName() {
        // Expected value from Python's hashlib.sha1(b"s3://b1/archives/{table}/{YYYY}").hexdigest()[:16].
        let scope = CacheScope(command: "archive", table: "flights", bucket: "b1", pathTemplate: "/archives/{table}/{YYYY}")
        #expect(scope.fileName == "archive_flights_cdddbde4c4961c33_metadata.json")
        let parsed = CacheFileName(fileName: "dump-hybrid_my_table_cdddbde4c4961c33_metadata.json")
        #expect(parsed?.command == "dump-hybrid" && parsed?.table == "my_table" && parsed?.hash == "cdddbde4c4961c33")
        #expect(CacheFileName(fileName: ".archive_t_cdddbde4c4961c33_metadata.json.tmp-1") == nil)
        #expect(CacheFileName(fileName: "archive_t_cdddbde4c4961c33_metadata.json.lock") == nil)
    }

    @Test("row counts are trusted for 24 h and never for today's or future windows")
    func rowCountTrust() throws {
        let now = try #require(Timestamp(rfc3339: "2024-06-10T12:00:00Z"))
        var entry = CacheEntry()
        entry.rowCount = 42
        entry.countTime = now.adding(seconds: -3600)
        let yesterdayEnd = try #require(Timestamp(date: "2024-06-10"))
        let todayEnd = try #require(Timestamp(date: "2024-06-11"))
        #expect(entry.trustedRowCount(windowEnd: yesterdayEnd, now: now) == 42)
        #expect(entry.trustedRowCount(windowEnd: todayEnd, now: now) == nil)
        entry.countTime = now.adding(seconds: -24 * 3600)
        #expect(entry.trustedRowCount(windowEnd: yesterdayEnd, now: now) == nil)
        #expect(entry.rowCountExpired(now: now))
        entry.countTime = .zero
        #expect(entry.trustedRowCount(windowEnd: yesterdayEnd, now: now) == nil)
    }

    @Test("a corrupt JSON cache file is moved aside with a warning on import, not silently dropped")
    func corruptFileSetAside() throws {
        let dir = try TemporaryDirectory()
        let home = ArchiveHome(path: dir.path("home"))
        let scope = CacheScope(command: "archive", table: "t", bucket: "b", pathTemplate: "x/{table}")
        try home.createDirectories()
        try "{\"entries\": {\"a\": {\"row_count\": ".write(toFile: home.cacheFile(scope), atomically: true, encoding: .utf8)
        let warnings = Warnings()
        let store = CacheStore(home: home) { warnings.add($0) }
        try store.updateEntry(scope, key: "b") { $0.fileSize = 1 }
        #expect(warnings.all.count == 1)
        #expect(warnings.all.first?.contains("moved aside") == true)
        let names = try FileManager.default.contentsOfDirectory(atPath: home.cacheDirectory)
        let aside = try #require(names.first { $0.contains(".corrupt-") })
        #expect(try String(contentsOfFile: home.cacheDirectory + "/" + aside, encoding: .utf8).hasPrefix("{\"entries\""))
        #expect(try store.load(scope).entries.keys.sorted() == ["b"])
    }

    @Test("the task file merges fields and keeps its start time; a dead PID is recognised as stale")
    func taskAndStatus() throws {
        let dir = try TemporaryDirectory()
        let home = ArchiveHome(path: dir.path("home"))
        let tasks = TaskStore(home: home)
        let t0 = try #require(Timestamp(rfc3339: "2024-01-01T00:00:00Z"))
        let first = try tasks.updateTask(patch: Array(#"{"table":"flights","total_slices":10}"#.utf8), pid: 4242, now: t0, source: "test")
        #expect(first.pid == 4242 && first.startTime == t0 && first.totalSlices == 10)
        let second = try tasks.updateTask(patch: Array(#"{"slices_processed":3,"current_step":"uploading"}"#.utf8), pid: 1, now: t0.adding(seconds: 5), source: "test")
        #expect(second.pid == 4242 && second.startTime == t0 && second.table == "flights" && second.slicesProcessed == 3)
        #expect(second.lastUpdate == t0.adding(seconds: 5))
        #expect(throws: (any Error).self) { try tasks.updateTask(patch: Array(#"{"total_slices":"x"}"#.utf8), pid: 1, now: t0, source: "test") }

        // A PID that cannot exist (beyond pid_max) stands for a crashed archiver.
        try "99999999\n".write(toFile: home.pidFile, atomically: true, encoding: .utf8)
        let stale = tasks.status()
        #expect(!stale.running && stale.stalePIDFile && stale.pid == 99_999_999)
        try "\(getpid())\n".write(toFile: home.pidFile, atomically: true, encoding: .utf8)
        #expect(tasks.status().running)
    }

    @Test("a second run of the same scope is refused naming the holder; other scopes run side by side")
    func runLock() throws {
        let dir = try TemporaryDirectory()
        let home = ArchiveHome(path: dir.path("home"))
        let a = CacheScope(command: "archive", table: "a", bucket: "b", pathTemplate: "p/{table}")
        let b = CacheScope(command: "archive", table: "b", bucket: "b", pathTemplate: "p/{table}")
        let lock = try RunLock(home: home, scope: a, pid: 111)
        #expect(TaskStore(home: home).readPID() == 111)
        do {
            _ = try RunLock(home: home, scope: a, pid: 222)
            Issue.record("a second lock on the same scope was granted")
        } catch let busy as RunLock.Busy {
            #expect(busy.pid == 111)
            #expect(busy.description.contains("PID 111"))
        }
        let other = try RunLock(home: home, scope: b, pid: 333)
        other.release()
        lock.release()
        #expect(!FileManager.default.fileExists(atPath: home.pidFile))
        let again = try RunLock(home: home, scope: a, pid: 444)
        again.release()
    }
}

/// Collects warnings from a store.
final class Warnings: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ text: String) { lock.withLock { items.append(text) } }
    var all: [String] { lock.withLock { items } }
}

@Suite("JSON reading and writing")
struct JSONTests {
    @Test("parses escapes and surrogate pairs, and writes them back as JSON that Python reads the same")
    func roundTrip() throws {
        let text = #"{"a":"x\"y\\z\/\n\t\u00e9\ud83d\ude00","b":[1,-2.5e3,true,false,null],"c":{}}"#
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(value["a"] == .string("x\"y\\z/\n\té😀"))
        #expect(value["b"] == .array([.int(1), .double(-2500), .bool(true), .bool(false), .null]))
        let written = value.compact
        let python = try run("python3", ["-c", "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); sys.exit(0 if a==b else 1)", text, written])
        #expect(python.status == 0, "\(written)")
        let control = JSONValue.string("\u{1}\u{1f}").compact
        #expect(control == #""\u0001\u001f""#)
    }

    @Test("malformed JSON is reported with line and column")
    func errors() {
        for (text, expected) in [("{\n  \"a\": tru }", "invalid literal at line 2, column 8"), ("{\"a\": 1,}", "expected a member name at line 1, column 9"),
                                 ("[1 2]", "expected ',' or ']' at line 1, column 4"), ("\"\\ud800\"", "unpaired surrogate"),
                                 ("{\"a\": \"x", "unterminated string"), ("01", "leading zero"), ("{} x", "unexpected text")] {
            do {
                _ = try JSONValue.parse(Array(text.utf8))
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.description.contains(expected), "\(text): \(error.description)")
            }
        }
    }

    @Test("a cache entry field of the wrong type is an error naming the entry and field")
    func wrongType() throws {
        let json = try JSONValue.parse(Array(#"{"entries":{"k1":{"row_count":"many"}}}"#.utf8))
        #expect(throws: JSONShapeError.self) { try CacheFile(json: json) }
        do {
            _ = try CacheFile(json: json)
        } catch {
            #expect(error.description == #"entries."k1".row_count: expected an integer"#)
        }
    }
}
