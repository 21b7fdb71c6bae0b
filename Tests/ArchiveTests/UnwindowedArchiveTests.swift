import Foundation
import Testing
import TestSupport

@Suite("archive: rows in no window", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct UnwindowedArchiveTests {
    @Test("a DEFAULT partition holding -infinity: the run exits 1 naming the row; with --allow-unwindowed it exits 0, the finite rows archived")
    func defaultPartitionWithMinusInfinity() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 50)
        try f.pg.psql("""
            CREATE TABLE flights_default PARTITION OF flights DEFAULT;
            INSERT INTO flights (id, callsign, departure, on_ground, fare)
              VALUES (9001, 'DFL1', '2024-01-05 10:00+00', false, 1.25), (9002, 'DFL2', '2024-01-05 11:00+00', true, 2.50),
                     (9003, 'DFL3', '-infinity', false, 3.75);
            """, database: f.database)
        let refused = try f.archive([])
        #expect(refused.status == 1)
        #expect(refused.err.contains("1 row of public.flights_default has departure = -infinity, which no window can hold"), "\(refused.err)")
        #expect(refused.err.contains("unwindowed: "), "\(refused.err)")
        #expect(!refused.err.contains("WARN"), "\(refused.err)")

        let allowed = try f.archive(["--allow-unwindowed"])
        #expect(allowed.status == 0, "\(allowed.err)")
        #expect(allowed.err.contains("1 row of public.flights_default has departure = -infinity"), "\(allowed.err)")
        let key = "archives/flights/2024/01/flights-2024-01-05.jsonl.zst"
        let keys = try f.objects().keys.filter { !$0.contains("/_schema/") && !$0.contains("/_manifest/") }.sorted()
        #expect(keys == ["01", "02", "05"].map { "archives/flights/2024/01/flights-2024-01-\($0).jsonl.zst" })
        let dir = try TemporaryDirectory()
        let ours = try shell(referenceDecompress(try f.download(key, into: dir))).out.split(separator: "\n").map(String.init).sorted()
        let theirs = try f.rowJSON("flights_default", where: "isfinite(departure)").sorted()
        #expect(ours.count == 2 && ours == theirs)
    }

    @Test("NULL in --date-column of a plain table: exit 1 naming the rows, the other rows archived")
    func plainTableNull() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 10, table: "unused")
        try f.pg.psql("""
            CREATE TABLE events (id bigint PRIMARY KEY, at timestamp, what text);
            INSERT INTO events SELECT g, '2024-03-01 00:00'::timestamp + g * interval '1 hour', 'e' || g FROM generate_series(0, 47) g;
            INSERT INTO events VALUES (100, NULL, 'lost'), (101, NULL, 'lost too');
            """, database: f.database)
        var flags = f.flags(table: "events")
        flags[flags.firstIndex(of: "--start-date")! + 1] = "2024-03-01"
        flags[flags.firstIndex(of: "--end-date")! + 1] = "2024-03-02"
        let result = try f.archive(["--date-column", "at"], flags: flags)
        #expect(result.status == 1)
        #expect(result.err.contains("2 rows of public.events have at = NULL, which no window can hold"), "\(result.err)")
        #expect(try f.objects().keys.filter { !$0.contains("/_schema/") && !$0.contains("/_manifest/") }.count == 2)
    }
}
