import Foundation
import Testing
import TestSupport

@Suite("archive: slices that scan a whole relation", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct UnindexedArchiveTests {
    @Test("a plain table without an index on --date-column: a warn log line with numeric fields and a summary warning; the run succeeds, and an index silences it")
    func plainTableWithoutIndex() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 10, table: "unused")
        try f.pg.psql("""
            CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz NOT NULL, what text);
            INSERT INTO events SELECT g, '2024-01-01 00:00+00'::timestamptz + g * interval '20 minutes', 'e' || g FROM generate_series(0, 2231) g;
            ANALYZE events;
            """, database: f.database)
        let flags = f.flags(table: "events") + ["--date-column", "at", "--output-duration", "daily"]
        let warned = try f.archive(["--log-format", "json"], flags: flags)
        #expect(warned.status == 0, "\(warned.err.suffix(3000))")
        let lines = warned.err.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let warning = try #require(lines.first { $0["msg"] as? String == "slices scan a whole relation" }, "\(warned.err.suffix(3000))")
        #expect(warning["level"] as? String == "warn" && warning["relation"] as? String == "public.events" && warning["column"] as? String == "at")
        #expect(warning["windows"] as? Int == 31 && warning["estimated_rows"] as? Int == 2232, "\(warning)")
        #expect((warning["detail"] as? String)?.contains("CREATE INDEX ON public.events (at)") == true, "\(warning)")
        #expect(warned.err.contains("warning: public.events has no index on at: each of the 31 slices reading it scans all of it"),
                "\(warned.err.suffix(3000))")

        try f.pg.psql("CREATE INDEX ON events (at)", database: f.database)
        let quiet = try f.archive([], flags: flags)
        #expect(quiet.status == 0 && !quiet.err.contains("no index on"), "\(quiet.err.suffix(3000))")
    }

    @Test("the background count of 600 hourly windows of a plain table goes in one round (one scan of the table), not one per 200 windows")
    func backgroundCountRounds() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 10, table: "unused")
        try f.pg.psql("""
            CREATE TABLE readings (id bigint PRIMARY KEY, at timestamptz NOT NULL, v int);
            INSERT INTO readings SELECT g, '2024-01-01 00:00+00'::timestamptz + g * interval '30 minutes', g FROM generate_series(0, 1199) g;
            """, database: f.database)
        var flags = f.flags(table: "readings") + ["--date-column", "at", "--output-duration", "hourly"]
        flags[flags.firstIndex(of: "--end-date")! + 1] = "2024-01-25"
        let result = try f.archive(["--log-format", "json", "--debug"], flags: flags)
        #expect(result.status == 0, "\(result.err.suffix(3000))")
        let lines = result.err.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(lines.first { $0["msg"] as? String == "summary" }?["uploaded"] as? Int == 600, "\(result.err.suffix(3000))")
        let line = try #require(lines.first { $0["msg"] as? String == "rows counted" }, "\(result.err.suffix(3000))")
        #expect(line["counted"] as? Int == 600 && line["rounds"] as? Int == 1, "\(line)")
        // Every window's count reached the cache: 2 rows each.
        let entries = try f.cacheEntries(table: "readings")
        #expect(entries.count == 600 && entries.values.allSatisfy { $0["row_count"] as? Int == 2 }, "\(entries.count)")
    }
}
