import Foundation
import Testing
import TestSupport

/// The summary lines of a run's stderr (log lines of the form `TIME INFO  text`), text only.
func summaryLines(_ err: String) -> [String] {
    err.split(separator: "\n").compactMap { line in
        guard let range = line.range(of: " INFO  ") else { return nil }
        let text = String(line[range.upperBound...])
        return text.hasPrefix("summary: ") || text.hasPrefix("failed: ") ? text : nil
    }
}

/// When a stage fails, the others die of it (a broken pipe upstream, input cut short downstream):
/// the summary, the log and the cache name the stage whose own error explains the failure.
@Suite("failures name their cause", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct RootCauseTests {
    static let day1 = "archives/flights/2024/01/flights-2024-01-01.jsonl.zst"

    /// Replaces the archived object of day 1 with `file` (keeping its metadata) and restores.
    func restoreReplaced(_ f: ArchiveFixture, key: String = day1, with file: String) throws -> ProcessResult {
        try f.put(key, file: file, metadata: try f.metadata(key))
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        return try f.restore(into: target, [])
    }

    @Test("restore of a corrupt zstd object names zcompress and its error, not s3get's broken pipe")
    func corruptObject() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 3000)
        #expect(try f.archive([]).status == 0)
        let dir = try TemporaryDirectory()
        let whole = try Data(contentsOf: URL(fileURLWithPath: try f.download(Self.day1, into: dir)))
        // The frame header stays; everything after it is garbage, so decoding fails early while
        // s3get still has bytes to write.
        var bytes = whole
        for i in 20..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: i &* 131) }
        try (bytes + Data(count: 4 << 20)).write(to: URL(fileURLWithPath: dir.path("garbage.zst")))
        let restored = try restoreReplaced(f, with: dir.path("garbage.zst"))
        #expect(restored.status == 1)
        let lines = summaryLines(restored.err)
        #expect(lines.first?.hasPrefix("summary: 1 file: 0 restored, 1 failed; 0 rows read, 0 inserted, 0 conflicts;") == true, "\(lines)")
        let failed = lines.filter { $0.hasPrefix("failed: ") }
        #expect(failed.count == 1)
        #expect(failed.first?.hasPrefix("failed: \(Self.day1): zcompress (exit status 1): ") == true, "\(failed)")
        #expect(!restored.err.contains("Broken pipe") || !failed.joined().contains("Broken pipe"), "\(failed)")
        #expect(restored.err.contains("stage=zcompress"), "the log line names the stage: \(restored.err)")
    }

    @Test("restore of a JSONL object with a bad value names rowfmt, the line and the column")
    func badValue() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 3000)
        #expect(try f.archive([]).status == 0)
        let dir = try TemporaryDirectory()
        let original = try f.download(Self.day1, into: dir)
        let broken = try shell("zstd -dc '\(original)' | sed '5s/\"altitude\":[0-9]*/\"altitude\":\"high\"/' | zstd -q -c > '\(dir.path("bad.zst"))'")
        #expect(broken.status == 0, "\(broken.err)")
        let restored = try restoreReplaced(f, with: dir.path("bad.zst"))
        #expect(restored.status == 1)
        let failed = summaryLines(restored.err).filter { $0.hasPrefix("failed: ") }
        #expect(failed == ["failed: \(Self.day1): rowfmt (exit status 1): line 5, column \"altitude\": not an integer: \"high\""],
                "\(restored.err)")
    }

    @Test("restore with a broken schema sidecar names the sidecar and its hash mismatch")
    func brokenSidecar() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 3000)
        #expect(try f.archive([]).status == 0)
        let sidecar = try f.objects().keys.first { $0.contains("/_schema/") }
        let key = try #require(sidecar)
        let dir = try TemporaryDirectory()
        try Data("{\"not\": \"a schema\"}\n".utf8).write(to: URL(fileURLWithPath: dir.path("schema.json")))
        try f.put(key, file: dir.path("schema.json"))
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let restored = try f.restore(into: target, [])
        #expect(restored.status == 1)
        let failed = summaryLines(restored.err).filter { $0.hasPrefix("failed: ") }
        // The sidecar's hash check names it before any stage runs.
        #expect(failed.count == 1 && failed[0].hasPrefix("failed: \(Self.day1): the schema sidecar ")
                && failed[0].contains("does not match its hash"), "\(restored.err)")
    }

    @Test("an archive whose part upload gets 403 names s3put and AccessDenied, not pg-extract's broken pipe; counted once, in the cache")
    func forbiddenPart() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 60000)
        let log = f.home.path("proxy.log")
        let proxy = try HelperProcess([Package.root.appendingPathComponent("Tests/S3ToolTests/helpers/faultproxy.py").path,
                                       f.s3.endpoint, "1", log, "403-part"])
        let endpoint = "http://127.0.0.1:\(proxy.firstLine)"
        let archived = try f.archive(["--compression", "none"], flags: f.flags(endpoint: endpoint))
        // A refused key is final: exit 6 (authentication), the run stops at once.
        #expect(archived.status == 6, "\(archived.err)")
        let lines = summaryLines(archived.err)
        #expect(lines.first?.hasPrefix("summary: 1 slice: 0 uploaded, 0 skipped, 0 empty, 1 failed; ") == true, "\(lines)")
        let failed = lines.filter { $0.hasPrefix("failed: ") }
        let key = "archives/flights/2024/01/flights-2024-01-01.jsonl"
        #expect(failed == ["failed: flights-2024-01-01: s3put (exit status 6): PUT s3://\(f.bucket)/\(key): AccessDenied: injected (HTTP 403); not retried"],
                "\(archived.err)")
        #expect(!archived.err.contains("Broken pipe") || !failed.joined().contains("pg-extract"))
        // The cache keeps the error with the stage that caused it.
        let cache = try run(Package.tool("archive-cache"), ["list"], environment: f.environment())
        #expect(cache.out.contains("\"last_error\":\"s3put: s3put (exit status 6): ") && cache.out.contains("AccessDenied"), "\(cache.out) \(cache.err)")
        withExtendedLifetime(proxy) {}
    }
}
