import Foundation
import Testing
import TestSupport

/// Level 1 from the store (docs/cache.md): a run with an empty ARCHIVE_HOME (a Kubernetes pod
/// without a persistent volume) skips what the store's manifests vouch for, without extracting.
@Suite("archive: level 1 from the store")
struct StoreLevelTests {
    /// Removes everything in ARCHIVE_HOME (cache, task files, locks).
    func emptyHome(_ f: ArchiveFixture) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: f.home.url.path) {
            try FileManager.default.removeItem(atPath: f.home.path(name))
        }
    }

    /// Slice pipelines the run started (its --debug log names each), and s3get processes of
    /// `--keys-from` (the manifests' batch read).
    func counts(_ result: ProcessResult) -> (pipelines: Int, extracts: Int, manifestReads: Int) {
        let lines = result.err.split(separator: "\n")
        return (lines.filter { $0.contains("pipeline") && $0.contains("/pg-extract ") }.count,
                result.err.components(separatedBy: "/pg-extract ").count - 1,
                lines.filter { $0.contains("level 1 from the store") && $0.contains("manifests_read=") }.count)
    }

    @Test("no ARCHIVE_HOME: every slice is skipped from the manifests (no pg-extract), the cache is filled; an extra row re-archives its window")
    func freshHome() throws {
        let f = try ArchiveFixture(days: 4, rowsPerDay: 100)
        let first = try f.archive([])
        #expect(first.status == 0, "\(first.err)")
        #expect(first.err.contains("4 uploaded, 0 skipped"), "\(first.err)")
        let before = try f.objects()

        try emptyHome(f)
        let second = try f.archive(["--debug"])
        #expect(second.status == 0, "\(second.err)")
        #expect(second.err.contains("0 uploaded, 4 skipped"), "\(second.err)")
        let c2 = counts(second)
        #expect(c2.pipelines == 0 && c2.extracts <= 1, "\(second.err)")  // at most the schema's --describe
        #expect(!second.err.contains("cpu by stage"), "\(second.err)")
        #expect(second.err.contains("manifests_read=4") && second.err.contains("skipped=4"), "\(second.err)")
        #expect(second.err.contains("PostgreSQL holds its 100 rows"), "\(second.err)")
        #expect(try f.objects().mapValues(\.etag) == before.mapValues(\.etag))
        // The cache holds what the first run's cache held: the next run skips from it alone.
        let entries = try f.cacheEntries()
        let data = before.keys.filter { !$0.contains("/_manifest/") && !$0.contains("/_schema/") }
        #expect(Set(entries.keys) == Set(data), "\(entries.keys)")
        for key in data {
            let e = entries[key] ?? [:]
            #expect(e["s3_uploaded"] as? Bool == true && e["row_count"] as? Int == 100, "\(key): \(e)")
            #expect(e["file_size"] as? Int == before[key]!.size && e["file_md5"] as? String == before[key]!.etag, "\(key): \(e)")
            #expect((e["digest"] as? String)?.count == 32, "\(key): \(e)")
        }
        let third = try f.archive(["--debug"])
        #expect(third.err.contains("0 uploaded, 4 skipped") && third.err.contains("cached size and ETag match"), "\(third.err)")
        #expect(counts(third).manifestReads == 0 && counts(third).pipelines == 0, "\(third.err)")

        // One more row in a closed window: PostgreSQL's count no longer equals the manifest's.
        try f.pg.psql("INSERT INTO flights (id, callsign, departure, on_ground) VALUES (100000, 'LATE', '2024-01-02 12:00:00+00', false)",
                      database: f.database)
        try emptyHome(f)
        let fourth = try f.archive(["--debug"])
        #expect(fourth.status == 0, "\(fourth.err)")
        #expect(fourth.err.contains("1 uploaded, 3 skipped"), "\(fourth.err)")
        #expect(fourth.err.contains("manifest_rows=100") && fourth.err.contains("rows=101"), "\(fourth.err)")
        // The manifest describes the object and the count differs: replaced without comparing first.
        #expect(counts(fourth).pipelines == 1 && !fourth.err.contains("--compare"), "\(fourth.err)")
        let after = try f.objects()
        let changed = after.keys.filter { after[$0]!.etag != before[$0]?.etag }.sorted()
        #expect(changed == ["archives/flights/2024/01/flights-2024-01-02.jsonl.zst",
                            "archives/flights/_manifest/flights-2024-01-02.jsonl.zst.json"], "\(changed)")
        #expect(try f.cacheEntries()["archives/flights/2024/01/flights-2024-01-02.jsonl.zst"]?["row_count"] as? Int == 101)
    }

    @Test("a manifest that does not describe its object (replaced since): the slice is compared, not skipped")
    func manifestMustDescribeTheObject() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 50)
        #expect(try f.archive([]).status == 0)
        // Another writer replaced one object after its manifest was written.
        let key = "archives/flights/2024/01/flights-2024-01-01.jsonl.zst"
        let scratch = try TemporaryDirectory()
        let other = scratch.path("other")
        try Data("not the archived rows\n".utf8).write(to: URL(fileURLWithPath: other))
        let put = try run(Package.tool("s3put"), ["--endpoint", f.s3.endpoint, "--bucket", f.bucket, "--key", key], stdinFile: other,
                          environment: f.s3.environment)
        #expect(put.status == 0, "\(put.err)")
        try emptyHome(f)
        let rerun = try f.archive(["--debug"])
        #expect(rerun.status == 0, "\(rerun.err)")
        #expect(rerun.err.contains("1 uploaded, 1 skipped"), "\(rerun.err)")
        #expect(rerun.err.contains("the stored object differs"), "\(rerun.err)")
        #expect(counts(rerun).manifestReads == 1, "\(rerun.err)")
    }
}
