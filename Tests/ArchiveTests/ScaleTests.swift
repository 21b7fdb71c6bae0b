import Foundation
import Testing
import TestSupport

/// A plain table of hourly rows and a file:// destination filled as a first archive run leaves
/// them: one object per hourly slice and its cache entry (recorded by `archive-cache record`
/// from s3put-shaped result lines). Building the state this way takes seconds where a real
/// first run of thousands of slices takes minutes; the rerun under test is the real one.
private struct CachedDestination {
    let pg: PostgresService
    let database: String
    let home: TemporaryDirectory
    let store: TemporaryDirectory
    let bucket = "scale"

    init(tables: [(name: String, days: Int)]) throws {
        pg = try Services.requirePostgres()
        database = try pg.createDatabase(prefix: "scale")
        home = try TemporaryDirectory()
        store = try TemporaryDirectory()
        for (name, days) in tables {
            try pg.psql("""
                SET client_min_messages = warning;
                CREATE TABLE \(name) (id bigint PRIMARY KEY, at timestamptz NOT NULL, v integer);
                INSERT INTO \(name) SELECT g, '2024-01-01 00:30:00+00'::timestamptz + (g - 1) * interval '1 hour', g
                FROM generate_series(1, \(days * 24)) AS g;
                ANALYZE \(name);
                """, database: database)
            try fill(table: name, days: days)
        }
    }

    func flags(table: String, days: Int) -> [String] {
        let end = Calendar(identifier: .gregorian).date(byAdding: .day, value: days - 1, to: ISO8601DateFormatter().date(from: "2024-01-01T00:00:00Z")!)!
        let endText = ISO8601DateFormatter().string(from: end).prefix(10)
        return ["--db-host", pg.host, "--db-port", pg.port, "--db-user", pg.user, "--db-name", database, "--table", table,
                "--date-column", "at", "--output-duration", "hourly",
                "--start-date", "2024-01-01", "--end-date", String(endText)]
    }

    var environment: [String: String] {
        ["PGPASSWORD": pg.password, "ARCHIVE_HOME": home.url.path, "HOME": home.url.path,
         "AWS_ACCESS_KEY_ID": "unused", "AWS_SECRET_ACCESS_KEY": "unused"]
    }

    /// One object per planned slice (its key as the archiver names it) and its cache entry.
    private func fill(table: String, days: Int) throws {
        let plan = try run(Package.tool("pg-partitions"), flags(table: table, days: days) + ["--count", "none"], environment: environment)
        guard plan.status == 0 else { throw TestFailure("pg-partitions: \(plan.err)") }
        var lines = ""
        var stems = 0
        for line in plan.out.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let key = "archives/\(table)/\(object["stem"] as! String).jsonl.zst"
            let body = Data("stand-in for \(key)\n".utf8)
            let path = store.path("\(bucket)/\(key)")
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try body.write(to: URL(fileURLWithPath: path))
            let md5 = try run("md5sum", [path]).out.prefix(32)
            lines += "{\"bucket\":\"\(bucket)\",\"key\":\"\(key)\",\"size\":\(body.count),\"md5\":\"\(md5)\",\"etag\":\"\(md5)\","
                + "\"parts\":1,\"part_size\":8388608,\"skipped\":false}\n"
            stems += 1
        }
        guard stems == days * 24 else { throw TestFailure("planned \(stems) slices for \(days) days") }
        let recorded = try run(Package.tool("archive-cache"), ["record", "--table", table, "--path-template", "archives/{table}",
                                                               "--row-count", "1"], stdin: Data(lines.utf8), environment: environment)
        guard recorded.status == 0 else { throw TestFailure("archive-cache record: \(recorded.err)") }
    }

    /// A fully cached rerun of `table`: its wall time and output.
    func rerun(table: String, days: Int) throws -> (seconds: Double, result: ProcessResult) {
        let t0 = Date()
        let result = try run(Package.tool("data-archiver"), ["archive"] + flags(table: table, days: days)
                             + ["--s3-endpoint", "file://" + store.url.path, "--s3-bucket", bucket, "--path-template", "archives/{table}",
                                "--workers", "2", "--debug"], environment: environment)
        return (Date().timeIntervalSince(t0), result)
    }
}

/// The peak of `cpu of its own: data-archiver 0.52 s (41.3 MB peak)` in a run's summary, in MB.
func ownPeakMB(_ log: String) -> Double {
    guard let line = log.split(separator: "\n").first(where: { $0.contains("cpu of its own: data-archiver") }),
          let open = line.lastIndex(of: "("), let mb = line[line.index(after: open)...].split(separator: " ").first else { return .nan }
    return Double(mb) ?? .nan
}

@Suite("archive at scale")
struct ScaleTests {
    @Test("a fully cached rerun grows linearly: 5 times the slices cost well under 25 times the time and 1.5 times the memory; one LIST, no per-slice request")
    func cachedRerunIsLinear() throws {
        let small = (name: "ticks_small", days: 12), large = (name: "ticks_large", days: 60)
        let d = try CachedDestination(tables: [small, large])
        defer { d.pg.dropDatabase(d.database) }
        var times: [String: Double] = [:], peaks: [String: Double] = [:]
        // Twice each, interleaved, keeping the faster: a busy machine slows both sizes alike.
        for _ in 0..<2 {
            for t in [small, large] {
                let (seconds, result) = try d.rerun(table: t.name, days: t.days)
                #expect(result.status == 0, "\(result.err.suffix(2000))")
                #expect(result.err.contains("0 uploaded, \(t.days * 24) skipped"), "\(result.err.suffix(2000))")
                // Nothing runs per slice: one listing (s3get), the table's schema once (pg-extract,
                // s3put), no pipeline.
                #expect(result.err.components(separatedBy: "s3get --list").count - 1 <= 1, "\(t.name)")
                #expect(result.err.components(separatedBy: "/s3put ").count - 1 <= 1, "\(t.name)")
                #expect(result.err.components(separatedBy: "/pg-extract ").count - 1 <= 1, "\(t.name)")
                times[t.name] = min(times[t.name] ?? .infinity, seconds)
                peaks[t.name] = min(peaks[t.name] ?? .infinity, ownPeakMB(result.err))
            }
        }
        // data-archiver's own peak memory: the plan, listing and cache facts it holds grow with
        // the slices by a few hundred bytes each, on a base of some 40 MB; holding every entry
        // whole, or copies of the plan and listing text, shows here.
        let memoryRatio = peaks[large.name]! / peaks[small.name]!
        #expect(memoryRatio < 1.5, "peak RSS 288 slices: \(peaks[small.name]!) MB, 1,440 slices: \(peaks[large.name]!) MB")
        let ratio = times[large.name]! / times[small.name]!
        // Linear: at most 5 (less with the fixed costs); a cost per skip that grows with the
        // cache (the whole-file rewrite this replaces) gives about 25.
        #expect(ratio < 10, "288 slices: \(times[small.name]!) s, 1,440 slices: \(times[large.name]!) s, ratio \(ratio)")
    }
}
