import Foundation
import Testing
import TestSupport

@Suite("data-archiver dump-hybrid", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct DumpHybridTests {
    /// flights with partitions for 2024-01-01 and 01-02, and rows of 01-03 and 01-04 in a DEFAULT partition.
    static func fixture() throws -> ArchiveFixture {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 100)
        try f.pg.psql("""
            CREATE TABLE flights_default PARTITION OF flights DEFAULT;
            INSERT INTO flights (id, callsign, departure, on_ground, note)
            SELECT 1000 + g, 'D' || g, '2024-01-03 00:00+00'::timestamptz + g * interval '20 minutes', g % 2 = 0, 'default ' || g
            FROM generate_series(0, 143) g;
            """, database: f.database)
        return f
    }

    static let range = ["--table", "flights", "--date-column", "departure", "--start-date", "2024-01-01", "--end-date", "2024-01-04"]

    /// The prefix of the scratch databases of a run to `template` in the fixture's bucket: the first
    /// 12 hex digits of sha1("s3://bucket/template").
    static func scratchPrefix(_ f: ArchiveFixture, template: String = "dumps/{table}/{YYYY}/{MM}") throws -> String {
        let hash = try run("/bin/bash", ["-c", "printf %s \"$1\" | sha1sum | cut -c1-12", "-", "s3://\(f.bucket)/\(template)"]).out
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return "pgarchive_hybrid_\(hash)_"
    }

    /// The relations and scratch databases a run could leave behind (other tests run in parallel:
    /// only this fixture's scope counts).
    static func footprint(_ f: ArchiveFixture) throws -> String {
        try f.pg.psql("SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace",
                      database: f.database)
            + (try f.pg.psql("SELECT count(*) FROM pg_database WHERE starts_with(datname, '\(try scratchPrefix(f))')", database: "postgres"))
    }

    @Test("every window, partitioned or DEFAULT, restores into the original table; nothing is left behind; a rerun skips all")
    func windowsRestore() throws {
        let f = try Self.fixture()
        let before = try Self.footprint(f)
        let out = try f.archive(Self.range, flags: f.dumpFlags("dump-hybrid"))
        #expect(out.status == 0, "\(out.err)")
        #expect(try Self.footprint(f) == before)
        let keys = try f.dumpKeys()
        #expect(keys == ["dumps/flights/2024/01/flights-2024-01-01.dump", "dumps/flights/2024/01/flights-2024-01-02.dump",
                         "dumps/flights/2024/01/flights-2024-01-03.dump", "dumps/flights/2024/01/flights-2024-01-04.dump",
                         "dumps/flights/schema.dump"])

        let target = try f.pg.createDatabase(prefix: "restored")
        defer { f.pg.dropDatabase(target) }
        let scratch = try TemporaryDirectory()
        try f.pgRestore("dumps/flights/schema.dump", into: target, scratch: scratch)
        try f.pg.psql("CREATE TABLE flights_all PARTITION OF flights DEFAULT", database: target)
        for key in keys where !key.hasSuffix("schema.dump") {
            // The documented restore: pg_restore --data-only -d DB FILE, into the table of the original name.
            try f.pgRestore(key, into: target, ["--data-only"], scratch: scratch)
        }
        #expect(try f.expectSameRows("flights", in: target) == 344)

        let again = try f.archive(Self.range, flags: f.dumpFlags("dump-hybrid"))
        #expect(again.status == 0)
        #expect(again.err.contains("0 uploaded, 5 skipped"), "\(again.err)")
        #expect(try Self.footprint(f) == before)
    }

    @Test("--dry-run creates no scratch database, changes nothing and uploads nothing")
    func dryRun() throws {
        let f = try Self.fixture()
        let before = try Self.footprint(f)
        let out = try f.archive(Self.range + ["--dry-run"], flags: f.dumpFlags("dump-hybrid"))
        #expect(out.status == 0, "\(out.err)")
        #expect(try f.dumpKeys().isEmpty)
        #expect(try Self.footprint(f) == before)
    }

    @Test("a scratch database left by a killed run is dropped by the next run")
    func leftoverDropped() throws {
        let f = try Self.fixture()
        let leftover = try Self.scratchPrefix(f) + "7"
        try f.pg.psql("CREATE DATABASE \(leftover)", database: "postgres")
        defer { f.pg.dropDatabase(leftover) }
        let out = try f.archive(Self.range, flags: f.dumpFlags("dump-hybrid"))
        #expect(out.status == 0, "\(out.err)")
        #expect(try f.pg.psql("SELECT count(*) FROM pg_database WHERE datname = '\(leftover)'", database: "postgres")
                    .trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test("without CREATEDB the run stops with an error that says so")
    func needsCreateDB() throws {
        let f = try Self.fixture()
        try f.pg.psql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(f.pg.ordinaryUser)", database: f.database)
        var flags = f.dumpFlags("dump-hybrid")
        flags[flags.firstIndex(of: f.pg.user)!] = f.pg.ordinaryUser
        let out = try f.archive(Self.range, flags: flags, env: ["PGPASSWORD": f.pg.ordinaryPassword])
        #expect(out.status == 1)
        #expect(out.err.contains("CREATEDB"), "\(out.err)")
        #expect(try f.dumpKeys().isEmpty)
    }
}
