import Foundation
import Testing
import TestSupport

extension FileStoreArchive {
    /// retire's per-window lines: stem → state (`retired`, `would retire`, `already retired`, `refused`, …).
    static func retireStates(_ out: String) -> [String: String] {
        var states: [String: String] = [:]
        for line in out.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            guard words.count >= 2 else { continue }
            let two = words.count >= 3 ? words[1] + " " + words[2] : words[1]
            states[words[0]] = ["would retire", "already retired"].contains(two) ? two : words[1]
        }
        return states
    }

    /// One value from psql.
    func value(_ sql: String) throws -> String {
        try fixture.pg.psql(sql, database: fixture.database).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Whether a relation exists.
    func exists(_ relation: String) throws -> Bool { try value("SELECT to_regclass('\(relation)') IS NOT NULL") == "t" }

    /// The retirement record of a data object's manifest, if any.
    func retirement(_ key: String) throws -> [String: Any]? { try manifest(key)["retired"] as? [String: Any] }
}

/// A file:// archive of a `flights` table built by `sql` (instead of the fixture's daily partitions).
func customArchive(_ sql: String, range: (String, String) = ("2024-01-01", "2024-01-31")) throws -> FileStoreArchive {
    let f = try ArchiveFixture(days: 1, rowsPerDay: 1)
    try f.pg.psql("DROP TABLE flights; " + sql, database: f.database)
    var a = FileStoreArchive(fixture: f, store: try TemporaryDirectory())
    a.extraFlags = ["--start-date", range.0, "--end-date", range.1]
    return a
}

let flightsColumns = """
    id bigint NOT NULL, callsign text NOT NULL, departure timestamptz NOT NULL, fare numeric(10,2), note text
    """

@Suite("data-archiver retire", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct RetireTests {
    func archived(days: Int) throws -> FileStoreArchive {
        let f = try ArchiveFixture(days: days, rowsPerDay: 150)
        let a = FileStoreArchive(fixture: f, store: try TemporaryDirectory())
        let result = try a.run("archive")
        #expect(result.status == 0, "\(result.err)")
        return a
    }

    @Test("--dry-run changes nothing; retire drops the verified daily partitions, keeps the open one, records each retirement; a rerun has nothing left")
    func dryRunThenDrop() throws {
        let f = try ArchiveFixture(days: 3, rowsPerDay: 150)
        try f.pg.psql("""
            DO $$ DECLARE d date := (now() AT TIME ZONE 'UTC')::date; BEGIN
              EXECUTE format('CREATE TABLE flights_%s PARTITION OF flights FOR VALUES FROM (%L) TO (%L)', to_char(d, 'YYYYMMDD'),
                             (d::timestamp AT TIME ZONE 'UTC'), ((d + 1)::timestamp AT TIME ZONE 'UTC'));
            END $$;
            INSERT INTO flights SELECT 999999, 'NOW1', now(), NULL, NULL, false, NULL, NULL, NULL;
            """, database: f.database)
        let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
        let todayTable = "flights_" + today.replacingOccurrences(of: "-", with: "")
        var a = FileStoreArchive(fixture: f, store: try TemporaryDirectory())
        a.extraFlags = ["--end-date", today]
        let archive = try a.run("archive")
        #expect(archive.status == 0, "\(archive.err)")
        let todayStem = "flights-" + today

        let dry = try a.run("retire", ["--dry-run"])
        #expect(dry.status == 1, "the open window is refused: \(dry.out)\(dry.err)")
        let dryStates = FileStoreArchive.retireStates(dry.out)
        #expect(dryStates["flights-2024-01-01"] == "would retire" && dryStates["flights-2024-01-03"] == "would retire", "\(dry.out)")
        #expect(dryStates[todayStem] == "refused" && dry.out.contains("open"), "\(dry.out)")
        for (day, key) in zip(["20240101", "20240102", "20240103"], dayKeys) {
            let digest = try a.manifest(key)["digest"] as! String
            // One line per window that reads once: `<stem> would retire <rows>, digest …: <action>`.
            #expect(dry.out.contains("flights-\(day.prefix(4))-\(day.dropFirst(4).prefix(2))-\(day.suffix(2)) would retire 150 rows, digest \(digest): drop public.flights_\(day) (150 rows)\n"),
                    "\(dry.out)")
            #expect(try a.exists("flights_\(day)"))
            #expect(try a.retirement(key) == nil)
        }
        #expect(try a.value("SELECT count(*) FROM flights") == "451")
        #expect(dry.err.contains("dry run: nothing changed"), "\(dry.err)")

        let real = try a.run("retire")
        #expect(real.status == 1, "\(real.out)\(real.err)")
        let states = FileStoreArchive.retireStates(real.out)
        #expect(["flights-2024-01-01", "flights-2024-01-02", "flights-2024-01-03"].allSatisfy { states[$0] == "retired" }, "\(real.out)")
        #expect(states[todayStem] == "refused", "\(real.out)")
        for (day, key) in zip(["20240101", "20240102", "20240103"], dayKeys) {
            #expect(try !a.exists("flights_\(day)"))
            let record = try a.retirement(key)
            #expect(record?["rows"] as? Int == 150 && record?["mode"] as? String == "drop", "\(String(describing: record))")
            #expect(record?["digest"] as? String == (try a.manifest(key)["digest"] as? String))
        }
        #expect(try a.value("SELECT count(*) FROM flights") == "1")
        #expect(try a.exists(todayTable))
        #expect(real.err.contains("450 rows removed"), "\(real.err)")
        // The cache records it too (cache/cache.db, one JSON entry per key).
        let cache = try run("python3", ["-c", "import sqlite3,sys; print('\\n'.join(r[0] for r in sqlite3.connect(sys.argv[1]).execute('SELECT entry FROM entries')))",
                                        f.home.path("cache/cache.db")])
        #expect(cache.status == 0, "\(cache.err)")
        #expect(cache.out.contains("\"retire_mode\":\"drop\"") && cache.out.contains("\"retired_rows\":150"), "\(cache.out.prefix(2000))")

        let again = try a.run("retire")
        let againStates = FileStoreArchive.retireStates(again.out)
        #expect(["flights-2024-01-01", "flights-2024-01-02", "flights-2024-01-03"].allSatisfy { againStates[$0] == "already retired" }, "\(again.out)")
        // The retired windows' objects still verify.
        let verify = try a.run("verify", ["--deep", "--end-date", "2024-01-31"])
        #expect(verify.status == 0, "\(verify.out)\(verify.err)")
    }

    @Test("a partition with a row inserted after archiving is refused and kept (source changed); the others are retired")
    func changedSourceRefused() throws {
        let a = try archived(days: 3)
        try a.fixture.pg.psql("INSERT INTO flights SELECT 888888, 'LATE', '2024-01-02 12:00+00', NULL, NULL, false, NULL, NULL, NULL",
                              database: a.fixture.database)
        let result = try a.run("retire")
        #expect(result.status == 1)
        let states = FileStoreArchive.retireStates(result.out)
        #expect(states == ["flights-2024-01-01": "retired", "flights-2024-01-02": "refused", "flights-2024-01-03": "retired"], "\(result.out)")
        #expect(result.out.contains("source changed") && result.out.contains("151 rows"), "\(result.out)")
        #expect(try a.value("SELECT count(*) FROM flights_20240102") == "151")
        #expect(try a.retirement(dayKeys[1]) == nil)
    }

    @Test("a monthly partition archived daily is retired by DELETE window by window; a DEFAULT partition's window is deleted, its other rows kept")
    func deleteWindows() throws {
        let a = try customArchive("""
            CREATE TABLE flights (\(flightsColumns)) PARTITION BY RANGE (departure);
            CREATE TABLE flights_202401 PARTITION OF flights FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
            CREATE TABLE flights_default PARTITION OF flights DEFAULT;
            INSERT INTO flights SELECT g, 'J' || g, '2024-01-01'::timestamptz + (g % 3) * interval '1 day' + g * interval '1 second', g % 500 + 0.5, 'n'
              FROM generate_series(1, 300) g;
            INSERT INTO flights SELECT 1000 + g, 'F' || g, '2024-02-01'::timestamptz + g * interval '1 minute', NULL, NULL FROM generate_series(1, 40) g;
            INSERT INTO flights SELECT 2000 + g, 'M' || g, '2024-03-15'::timestamptz + g * interval '1 minute', NULL, NULL FROM generate_series(1, 7) g;
            """, range: ("2024-01-01", "2024-02-29"))
        let archive = try a.run("archive")
        #expect(archive.status == 0, "\(archive.out)\(archive.err)")
        let result = try a.run("retire")
        #expect(result.status == 0, "\(result.out)\(result.err)")
        let states = FileStoreArchive.retireStates(result.out)
        for day in ["2024-01-01", "2024-01-02", "2024-01-03", "2024-02-01"] {
            #expect(states["flights-\(day)"] == "retired", "\(day): \(result.out)")
        }
        #expect(result.out.contains("delete 100 rows from public.flights_202401"), "\(result.out)")
        #expect(result.out.contains("delete 40 rows from public.flights_default"), "\(result.out)")
        #expect(states.values.allSatisfy { ["retired", "empty"].contains($0) }, "\(result.out)")
        // The partitions stay; the March rows of the DEFAULT partition are kept.
        #expect(try a.value("SELECT count(*) FROM flights_202401") == "0")
        #expect(try a.value("SELECT count(*), min(callsign) FROM flights_default") == "7|M1")
        #expect(try a.retirement("archives/flights/2024/01/flights-2024-01-02.jsonl.zst")?["mode"] as? String == "delete")
        // A later archive never overwrites a retired window's object: nothing new, skipped; a row
        // arriving later in a retired window goes to a late object beside it (LateRowsTests).
        let key = "archives/flights/2024/01/flights-2024-01-02.jsonl.zst"
        let before = try Data(contentsOf: URL(fileURLWithPath: a.file(key)))
        let again = try a.run("archive")
        #expect(again.status == 0, "\(again.err)")
        #expect(again.err.contains("window retired at"), "\(again.err)")
        try a.fixture.pg.psql("INSERT INTO flights VALUES (5000, 'LATE', '2024-01-02 08:00+00', 1, 'late')", database: a.fixture.database)
        let late = try a.run("archive")
        #expect(late.status == 0, "\(late.err)")
        #expect(late.err.contains("late rows: flights-2024-01-02: 1 rows arrived after the window was retired")
                && late.err.contains("flights-2024-01-02.late-1.jsonl.zst"), "\(late.err)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: a.file(key))) == before)
    }

    @Test("preflight: a foreign key with ON DELETE CASCADE or a publication refuses the window, named, unless --force-retire; detach and move:SCHEMA keep the table")
    func preflightAndModes() throws {
        let a = try archived(days: 4)
        try a.fixture.pg.psql("""
            CREATE TABLE bookings (id bigint, flight_id bigint, departure timestamptz,
              FOREIGN KEY (flight_id, departure) REFERENCES flights_20240101 (id, departure) ON DELETE CASCADE);
            CREATE PUBLICATION pub_day2 FOR TABLE flights_20240102;
            CREATE SCHEMA attic;
            """, database: a.fixture.database)
        let refused = try a.run("retire", ["--end-date", "2024-01-02"])
        #expect(refused.status == 1)
        #expect(FileStoreArchive.retireStates(refused.out) == ["flights-2024-01-01": "refused", "flights-2024-01-02": "refused"], "\(refused.out)")
        #expect(refused.out.contains("foreign key bookings_flight_id_departure_fkey of bookings points at public.flights_20240101 with ON DELETE CASCADE"),
                "\(refused.out)")
        #expect(refused.out.contains("publication pub_day2 publishes public.flights_20240102") && refused.out.contains("--force-retire"), "\(refused.out)")
        #expect(try a.exists("flights_20240101") && a.exists("flights_20240102"))
        let forced = try a.run("retire", ["--end-date", "2024-01-02", "--force-retire", "--retire-mode", "detach"])
        #expect(forced.status == 0, "\(forced.out)\(forced.err)")
        #expect(try a.value("SELECT count(*) FROM flights_20240101") == "150" && a.value("SELECT relispartition FROM pg_class WHERE relname = 'flights_20240101'") == "f")
        let moved = try a.run("retire", ["--start-date", "2024-01-03", "--retire-mode", "move:attic"])
        #expect(moved.status == 0, "\(moved.out)\(moved.err)")
        #expect(try a.value("SELECT count(*) FROM attic.flights_20240103") == "150" && !a.exists("public.flights_20240104") && a.exists("attic.flights_20240104"))
        #expect(try a.value("SELECT count(*) FROM flights") == "0")
        #expect(try a.retirement("archives/flights/2024/01/flights-2024-01-03.jsonl.zst")?["mode"] as? String == "move:attic")
    }

    @Test("an object in the GLACIER storage class is unverifiable: refused, its partition kept")
    func glacier() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 50)
        let archive = try f.archive(["archive", "--s3-storage-class", "GLACIER"])
        #expect(archive.status == 0, "\(archive.err)")
        let result = try f.archive(["retire"])
        #expect(result.status == 1)
        #expect(result.out.contains("flights-2024-01-01 refused unverifiable") && result.out.contains("storage class GLACIER"), "\(result.out)\(result.err)")
        #expect(try f.pg.psql("SELECT count(*) FROM flights_20240101", database: f.database).contains("50"))
    }

    @Test("a lock held by another session: retire waits up to --lock-timeout, retries, then fails that window cleanly and retires the others")
    func lockHeld() throws {
        let a = try archived(days: 2)
        let pg = a.fixture.pg
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "\(pg.binDirectory)/psql")
        holder.arguments = ["-X", "-q", "-c", "BEGIN; LOCK TABLE flights_20240101 IN ROW EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT"]
        holder.environment = pg.environment(database: a.fixture.database)
        holder.standardOutput = FileHandle.nullDevice
        holder.standardError = FileHandle.nullDevice
        try holder.run()
        defer {
            holder.terminate()
            _ = try? pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()")
        }
        #expect(try waitFor(seconds: 20) {
            try pg.psql("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'flights_20240101' AND l.mode = 'RowExclusiveLock' AND l.granted",
                        database: a.fixture.database).contains("1")
        })
        let started = Date()
        let result = try a.run("retire", ["--lock-timeout", "300ms", "--lock-retries", "2"])
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 1)
        let states = FileStoreArchive.retireStates(result.out)
        #expect(states == ["flights-2024-01-01": "failed", "flights-2024-01-02": "retired"], "\(result.out)\(result.err)")
        #expect(result.out.contains("not granted within --lock-timeout 300 ms, 3 times: nothing removed"), "\(result.out)")
        #expect(result.err.components(separatedBy: "waiting for a lock").count - 1 == 2, "\(result.err)")
        #expect(elapsed >= 0.9, "three waits of 300 ms: \(elapsed)")
        holder.terminate()
        _ = try? pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()")
        #expect(try a.value("SELECT count(*) FROM flights_20240101") == "150")
        #expect(try a.retirement(dayKeys[0]) == nil)
    }

    @Test("kill -9 of retire at random moments, then a rerun: no window lost, none half removed")
    func killAndRerun() throws {
        let a = try archived(days: 6)
        var archivedDigests: [String: String] = [:]
        for key in dayKeys.prefix(4) + ["archives/flights/2024/01/flights-2024-01-05.jsonl.zst", "archives/flights/2024/01/flights-2024-01-06.jsonl.zst"] {
            archivedDigests[key] = try a.manifest(key)["digest"] as? String
        }
        func checkInvariant(_ round: Int) throws {
            for day in 1...6 {
                let relation = "flights_2024010\(day)"
                let key = "archives/flights/2024/01/flights-2024-01-0\(day).jsonl.zst"
                if try a.exists(relation) {
                    #expect(try a.value("SELECT count(*) FROM \(relation)") == "150", "round \(round): \(relation) half removed")
                } else {
                    #expect(FileManager.default.fileExists(atPath: a.file(key)), "round \(round): \(relation) dropped and its object is gone")
                    #expect(try a.manifest(key)["digest"] as? String == archivedDigests[key])
                }
            }
        }
        for round in 0..<10 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Package.tool("data-archiver"))
            p.arguments = ["retire"] + a.flags + ["--workers", "1"]
            p.environment = ProcessInfo.processInfo.environment.merging(a.fixture.environment()) { $1 }
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32.random(in: 200_000...2_500_000))
            kill(p.processIdentifier, SIGKILL)
            for child in a.fixture.markedProcesses() { kill(child.pid, SIGKILL) }
            p.waitUntilExit()
            try checkInvariant(round)
        }
        let rerun = try a.run("retire", ["--lock-timeout", "5s"])
        #expect(rerun.status == 0, "\(rerun.out)\(rerun.err)")
        let states = FileStoreArchive.retireStates(rerun.out)
        #expect(states.count == 6 && states.values.allSatisfy { $0 == "retired" || $0 == "already retired" }, "\(rerun.out)")
        try checkInvariant(99)
        #expect(try a.value("SELECT count(*) FROM flights") == "0")
        let verify = try a.run("verify", ["--deep"])
        #expect(verify.status == 0, "\(verify.out)\(verify.err)")
    }
}
