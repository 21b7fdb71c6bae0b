import Foundation
import Testing
import TestSupport

/// Two objects of one window (an archive run again with another format or duration) hold the
/// same rows: a restore of both would insert them twice, so it loads nothing and names them.
@Suite("restore refuses two objects of one window", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct RestoreOverlapTests {
    func restore(_ f: ArchiveFixture, _ a: FileStoreArchive, into target: String) throws -> ProcessResult {
        try run(Package.tool("data-archiver"), ["restore", "--db-host", f.pg.host, "--db-port", f.pg.port, "--db-user", f.pg.user,
                                                "--db-name", target, "--table", "flights", "--s3-endpoint", a.endpoint,
                                                "--s3-bucket", f.bucket, "--path-template", "archives/{table}/{YYYY}/{MM}",
                                                "--start-date", "2024-01-01", "--end-date", "2024-01-31", "--workers", "2"],
                environment: f.environment())
    }

    @Test("a window archived as JSONL and again as CSV, or daily and again monthly: restore exits 1 naming both objects, loads no row")
    func sameWindowTwice() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 30)
        var a = FileStoreArchive(fixture: f, store: try TemporaryDirectory())
        #expect(try a.run("archive").status == 0)
        a.extraFlags = ["--output-format", "csv"]
        #expect(try a.run("archive").status == 0)

        let target = try f.pg.createDatabase(prefix: "overlap")
        defer { f.pg.dropDatabase(target) }
        let refused = try restore(f, a, into: target)
        #expect(refused.status == 1, "\(refused.err)")
        let line = "data-archiver: error: archives/flights/2024/01/flights-2024-01-01.csv.zst and "
            + "archives/flights/2024/01/flights-2024-01-01.jsonl.zst hold the same rows (windows 2024-01-01T00:00:00Z to 2024-01-02T00:00:00Z "
            + "and 2024-01-01T00:00:00Z to 2024-01-02T00:00:00Z; 2 such pairs): restoring both would insert them twice; nothing was loaded."
        #expect(refused.err.split(separator: "\n").contains { $0.hasPrefix(line) }, "\(refused.err)")
        #expect(try f.sql("SELECT to_regclass('public.flights') IS NULL", in: target) == "t")

        // One object per window again (the CSV objects removed): the rows come back once each.
        for day in ["01", "02"] {
            try FileManager.default.removeItem(atPath: a.file("archives/flights/2024/01/flights-2024-01-\(day).csv.zst"))
        }
        let restored = try restore(f, a, into: target)
        #expect(restored.status == 0, "\(restored.err)")
        #expect(try f.sql("SELECT count(*) FROM flights", in: target) == "60")

        // A monthly object beside the daily ones covers both days.
        a.extraFlags = ["--output-duration", "monthly"]
        #expect(try a.run("archive").status == 0)
        let second = try f.pg.createDatabase(prefix: "overlap")
        defer { f.pg.dropDatabase(second) }
        let monthly = try restore(f, a, into: second)
        #expect(monthly.status == 1, "\(monthly.err)")
        #expect(monthly.err.contains("archives/flights/2024/01/flights-2024-01.jsonl.zst") && monthly.err.contains("2 such pairs"), "\(monthly.err)")
    }
}
