import Foundation
import Testing
import TestSupport

/// Restore refuses what does not match its own checks: a data object whose content no longer
/// gives its ETag, a sidecar whose content no longer gives its hash.
@Suite("restore: content and sidecar checks", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct IntegrityRestoreTests {
    @Test("a flipped bit inside a stored multipart .jsonl.zst (file store, meta kept): restore refuses that file, loads the others, exit 1")
    func flippedBitMultipart() throws {
        let f = try ArchiveFixture(days: 3, rowsPerDay: 100)
        // Day 2 grows past the two 5 MiB parts data-archiver keeps in memory: a multipart object.
        try f.pg.psql("""
            INSERT INTO flights (id, callsign, departure, on_ground, note)
            SELECT 100000 + g, 'BIG' || g, '2024-01-02 00:00:00+00'::timestamptz + g * interval '300 ms', false,
                   md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text)
            FROM generate_series(1, 200000) g;
            """, database: f.database)
        let store = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: store.path(f.bucket), withIntermediateDirectories: true)
        let endpoint = "file://" + store.url.path
        let archived = try f.archive([], flags: f.flags(endpoint: endpoint))
        #expect(archived.status == 0, "\(archived.err)")
        let key = "archives/flights/2024/01/flights-2024-01-02.jsonl.zst"
        let data = store.path("\(f.bucket)/\(key)")
        let meta = try String(contentsOfFile: store.path(".meta/\(f.bucket)/\(key).json"), encoding: .utf8)
        #expect(meta.contains("\"pgarchive-part-size\""), "\(meta)")
        #expect(meta.contains("\"pgarchive-schema\""), "\(meta)")
        let size = try FileManager.default.attributesOfItem(atPath: data)[.size] as! UInt64
        #expect(size > 10 << 20)
        // zstd -t accepts our frames and their checksums before the damage.
        #expect(try shell("zstd -t '\(data)'").status == 0)

        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: data))
        try handle.seek(toOffset: size / 2)
        let byte = try handle.read(upToCount: 1)![0]
        try handle.seek(toOffset: size / 2)
        try handle.write(contentsOf: Data([byte ^ 0x04]))
        try handle.close()

        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let flags = ["restore", "--db-host", f.pg.host, "--db-port", f.pg.port, "--db-user", f.pg.user, "--db-name", target,
                     "--table", "flights", "--s3-endpoint", endpoint, "--s3-bucket", f.bucket, "--path-template",
                     "archives/{table}/{YYYY}/{MM}", "--start-date", "2024-01-01", "--end-date", "2024-12-31", "--workers", "2"]
        let restored = try run(Package.tool("data-archiver"), flags, environment: f.environment())
        #expect(restored.status == 1)
        #expect(restored.err.contains("2 restored, 1 failed"), "\(restored.err)")
        let failure = restored.err.split(separator: "\n").first { $0.contains("failed: ") && $0.contains(key) }
        #expect(failure != nil, "\(restored.err)")
        #expect(try f.sql("SELECT count(*), count(*) FILTER (WHERE departure::date = '2024-01-02') FROM flights", in: target) == "200|0")
    }

    @Test("a changed letter in an uncompressed object decodes fine, but s3get's ETag check at the end keeps pg-load from committing it")
    func commitGate() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 50)
        let store = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: store.path(f.bucket), withIntermediateDirectories: true)
        let endpoint = "file://" + store.url.path
        let archived = try f.archive(["--compression", "none"], flags: f.flags(endpoint: endpoint))
        #expect(archived.status == 0, "\(archived.err)")
        let key = "archives/flights/2024/01/flights-2024-01-01.jsonl"
        let path = store.path("\(f.bucket)/\(key)")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let at = try #require(bytes.firstRange(of: Data("\"UAL1\"".utf8))).lowerBound + 3
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64(at))
        try handle.write(contentsOf: Data([bytes[at] ^ 0x01]))  // "UAL1" → "UAM1": still valid JSON
        try handle.close()
        bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(bytes.firstRange(of: Data("\"UAM1\"".utf8)) != nil)

        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let flags = ["restore", "--db-host", f.pg.host, "--db-port", f.pg.port, "--db-user", f.pg.user, "--db-name", target,
                     "--table", "flights", "--s3-endpoint", endpoint, "--s3-bucket", f.bucket, "--path-template",
                     "archives/{table}/{YYYY}/{MM}", "--start-date", "2024-01-01", "--end-date", "2024-12-31", "--workers", "2"]
        let restored = try run(Package.tool("data-archiver"), flags, environment: f.environment())
        #expect(restored.status == 1)
        #expect(restored.err.contains("1 restored, 1 failed"), "\(restored.err)")
        #expect(restored.err.contains("\(key): the content's MD5"), "\(restored.err)")
        #expect(try f.sql("SELECT count(*), count(*) FILTER (WHERE callsign = 'UAM1') FROM flights", in: target) == "50|0")
    }

    @Test("an edited schema sidecar (numeric(10,2) → numeric(10,1)) is refused, naming it, no row loaded; the untouched one restores")
    func editedSidecar() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 50)
        #expect(try f.archive([]).status == 0)
        let good = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(good) }
        let first = try f.restore(into: good, [])
        #expect(first.status == 0, "\(first.err)")
        #expect(try f.sql("SELECT count(*) FROM flights", in: good) == "100")

        let sidecar = try #require(try f.objects().keys.first { $0.contains("/_schema/") })
        let dir = try TemporaryDirectory()
        let path = try f.download(sidecar, into: dir)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("numeric(10,2)"))
        try text.replacingOccurrences(of: "numeric(10,2)", with: "numeric(10,1)").write(toFile: dir.path("edited.json"), atomically: true, encoding: .utf8)
        try f.put(sidecar, file: dir.path("edited.json"), metadata: try f.metadata(sidecar))

        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let refused = try f.restore(into: target, [])
        #expect(refused.status == 1)
        #expect(refused.err.contains("the schema sidecar \(sidecar) does not match its hash"), "\(refused.err)")
        #expect(refused.err.contains("0 restored, 2 failed"), "\(refused.err)")
        #expect(try f.sql("SELECT count(*) FROM pg_class WHERE relname LIKE 'flights%'", in: target) == "0")
    }
}
