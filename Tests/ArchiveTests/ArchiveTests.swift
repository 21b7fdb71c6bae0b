import Foundation
import Testing
import TestSupport

/// The reference decompressor for a key's extension.
func referenceDecompress(_ path: String) -> String {
    if path.hasSuffix(".zst") { return "zstd -q -dc '\(path)'" }
    if path.hasSuffix(".lz4") { return "lz4 -q -dc '\(path)'" }
    if path.hasSuffix(".gz") { return "gzip -dc '\(path)'" }
    return "cat '\(path)'"
}

@Suite("data-archiver archive", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct ArchiveTests {
    @Test("every format and codec: objects as documented, equal to PostgreSQL's own rendering", arguments:
            ["jsonl", "csv"], ["zstd", "lz4", "gzip", "none"])
    func formats(format: String, codec: String) throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 300)
        let result = try f.archive(["--output-format", format, "--compression", codec])
        #expect(result.status == 0, "\(result.err)")
        let ext = [ "zstd": ".zst", "lz4": ".lz4", "gzip": ".gz", "none": ""][codec]!
        let objects = try f.objects()
        let dataKeys = objects.keys.filter { !$0.contains("/_schema/") && !$0.contains("/_manifest/") }.sorted()
        #expect(dataKeys == ["archives/flights/2024/01/flights-2024-01-01.\(format)\(ext)",
                             "archives/flights/2024/01/flights-2024-01-02.\(format)\(ext)"])
        #expect(objects.keys.contains { $0.hasPrefix("archives/flights/_schema/flights-") && $0.hasSuffix(".json") })
        let dir = try TemporaryDirectory()
        for (day, key) in zip(["20240101", "20240102"], dataKeys) {
            let path = try f.download(key, into: dir)
            let text = try shell(referenceDecompress(path)).out
            if format == "jsonl" {
                // Row order in a file is stable across runs but not promised to be id order.
                let ours = text.split(separator: "\n").map(String.init).sorted()
                let theirs = try f.rowJSON("flights_\(day)").sorted()
                #expect(ours.count == theirs.count)
                let mismatch = zip(ours, theirs).first { $0 != $1 }
                #expect(mismatch == nil, "first difference: \(String(describing: mismatch))")
            } else {
                let expected = try run("\(f.pg.binDirectory)/psql", ["-X", "-q", "-c",
                    "COPY (SELECT * FROM flights_\(day)) TO STDOUT (FORMAT csv, HEADER)"],
                    environment: f.pg.environment(database: f.database).merging(["PGOPTIONS": "-c TimeZone=UTC -c DateStyle=ISO"]) { $1 })
                #expect(text == expected.out)
            }
        }
    }

    @Test("Parquet for every codec: .parquet objects (compressed inside, no outer extension) that pyarrow reads as PostgreSQL's rows",
          arguments: ["zstd", "lz4", "gzip", "none"])
    func parquet(codec: String) throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 300)
        let result = try f.archive(["--output-format", "parquet", "--compression", codec])
        #expect(result.status == 0, "\(result.err)")
        let dataKeys = try f.objects().keys.filter { !$0.contains("/_schema/") && !$0.contains("/_manifest/") }.sorted()
        #expect(dataKeys == ["archives/flights/2024/01/flights-2024-01-01.parquet", "archives/flights/2024/01/flights-2024-01-02.parquet"])
        let dir = try TemporaryDirectory()
        for (day, key) in zip(["20240101", "20240102"], dataKeys) {
            let path = try f.download(key, into: dir)
            try (f.rowJSON("flights_\(day)").joined(separator: "\n") + "\n").write(toFile: dir.path("pg-\(day).jsonl"), atomically: true, encoding: .utf8)
            let judged = try python(pyarrowJudgeScript, [path, dir.path("pg-\(day).jsonl"), "id"], in: dir, name: "judge.py")
            #expect(judged.status == 0, "\(judged.out.suffix(2000))\(judged.err)")
            #expect(judged.out.contains("departure: timestamp[us, tz=UTC]\n") && judged.out.contains("fare: decimal128(10, 2)\n"))
            let codecs = try python("import duckdb, sys; print(duckdb.sql(f\"SELECT DISTINCT compression FROM parquet_metadata('{sys.argv[1]}')\").fetchall())",
                                    [path], in: dir, name: "codec.py")
            #expect(codecs.out == "[('\(["zstd": "ZSTD", "lz4": "LZ4_RAW", "gzip": "GZIP", "none": "UNCOMPRESSED"][codec]!)',)]\n", "\(codecs.err)")
        }
    }

    @Test("durations group and split windows into the documented object names", arguments: [
        ("hourly", 1, (0..<24).map { String(format: "archives/flights/2024/01/flights-2024-01-01-%02d.jsonl.zst", $0) }),
        ("daily", 3, ["archives/flights/2024/01/flights-2024-01-01.jsonl.zst", "archives/flights/2024/01/flights-2024-01-02.jsonl.zst",
                      "archives/flights/2024/01/flights-2024-01-03.jsonl.zst"]),
        ("weekly", 3, ["archives/flights/2024/01/flights-2024-W01.jsonl.zst"]),
        ("monthly", 3, ["archives/flights/2024/01/flights-2024-01.jsonl.zst"]),
        ("yearly", 3, ["archives/flights/2024/01/flights-2024.jsonl.zst"]),
    ])
    func durations(duration: String, days: Int, keys: [String]) throws {
        let f = try ArchiveFixture(days: days, rowsPerDay: 240)
        var flags = f.flags()
        if duration == "hourly" || duration == "yearly" { flags += ["--date-column", "departure"] }
        let result = try f.archive(["--output-duration", duration], flags: flags + ["--force"])
        #expect(result.status == 0, "\(result.err)")
        let objects = try f.objects()
        #expect(objects.keys.filter { !$0.contains("/_schema/") && !$0.contains("/_manifest/") }.sorted() == keys)
        // Every row is in exactly one object.
        let dir = try TemporaryDirectory()
        var total = 0
        for key in keys {
            let lines = try shell(referenceDecompress(try f.download(key, into: dir)) + " | wc -l").out
            total += Int(lines.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1_000_000
        }
        #expect(total == days * 240)
    }

    @Test("a plain table gets synthetic daily windows from --date-column: one object per day holding exactly that day's rows")
    func plainTable() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 10, table: "unused")
        try f.pg.psql("""
            CREATE TABLE events (id bigint PRIMARY KEY, at timestamp NOT NULL, what text);
            INSERT INTO events SELECT g, '2024-03-01 00:00'::timestamp + g * interval '7 minutes', 'e' || g
              FROM generate_series(0, 1000) g;
            """, database: f.database)
        var flags = f.flags(table: "events")
        flags[flags.firstIndex(of: "--start-date")! + 1] = "2024-03-02"
        flags[flags.firstIndex(of: "--end-date")! + 1] = "2024-03-04"
        let result = try f.archive(["--date-column", "at"], flags: flags)
        #expect(result.status == 0, "\(result.err)")
        let keys = try f.objects().keys.filter { !$0.contains("/_schema/") && !$0.contains("/_manifest/") }.sorted()
        #expect(keys == ["02", "03", "04"].map { "archives/events/2024/03/events-2024-03-\($0).jsonl.zst" })
        let dir = try TemporaryDirectory()
        for (day, key) in zip(["02", "03", "04"], keys) {
            let text = try shell(referenceDecompress(try f.download(key, into: dir))).out
            let ours = text.split(separator: "\n").map(String.init).sorted()
            let theirs = try f.rowJSON("events", where: "at >= '2024-03-\(day)' AND at < '2024-03-\(day)'::date + 1").sorted()
            #expect(ours.count == theirs.count && ours.count > 200, "2024-03-\(day)")
            #expect(ours == theirs, "2024-03-\(day)")
        }
        // Without --date-column the plain table cannot be cut into windows: one clear error.
        let refused = try f.archive([], flags: flags)
        #expect(refused.status != 0 && refused.err.contains("--date-column"), "\(refused.err)")
    }

    @Test("the window that contains now is archived again on every run (uploaded, never compared); closed ones are skipped")
    func openWindow() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 10, table: "unused")
        // Days are UTC days: a run that would straddle midnight waits for the new day.
        let secondsOfDay = Int(Date().timeIntervalSince1970) % 86_400
        if secondsOfDay > 86_400 - 120 { sleep(UInt32(86_400 - secondsOfDay + 2)) }
        let dates = try f.pg.psql("SELECT to_char((now() AT TIME ZONE 'UTC')::date - 1, 'YYYY-MM-DD') || ' ' || to_char((now() AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD')",
                                  database: f.database).split(whereSeparator: \.isWhitespace).map(String.init)
        try #require(dates.count == 2)
        try f.pg.psql("""
            SET TimeZone = 'UTC';
            CREATE TABLE live (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);
            CREATE TABLE live_yesterday PARTITION OF live FOR VALUES FROM ('\(dates[0])') TO ('\(dates[1])');
            CREATE TABLE live_today PARTITION OF live FOR VALUES FROM ('\(dates[1])') TO ('\(dates[1])'::date + 1);
            INSERT INTO live SELECT g, '\(dates[0])'::timestamptz + g * interval '1 minute' FROM generate_series(0, 1439) g;
            INSERT INTO live SELECT 10000 + g, '\(dates[1])'::timestamptz + g * interval '1 second' FROM generate_series(0, 59) g;
            """, database: f.database)
        var flags = f.flags(table: "live")
        flags[flags.firstIndex(of: "--start-date")! + 1] = dates[0]
        flags[flags.firstIndex(of: "--end-date")! + 1] = dates[1]
        let first = try f.archive(["--debug"], flags: flags)
        #expect(first.status == 0, "\(first.err)")
        #expect(first.err.contains("2 uploaded, 0 skipped"), "\(first.err)")
        // Rows arrive in the open window; the rerun archives it again and skips the closed one.
        try f.pg.psql("INSERT INTO live SELECT 20000 + g, '\(dates[1])'::timestamptz + interval '2 minutes' + g * interval '1 second' FROM generate_series(0, 9) g",
                      database: f.database)
        let second = try f.archive(["--debug"], flags: flags)
        #expect(second.status == 0, "\(second.err)")
        #expect(second.err.contains("1 uploaded, 1 skipped"), "\(second.err)")
        #expect(!second.err.contains("--compare"), "\(second.err)")
        let key = "archives/live/\(dates[1].prefix(4))/\(dates[1].dropFirst(5).prefix(2))/live-\(dates[1]).jsonl.zst"
        let dir = try TemporaryDirectory()
        let lines = try shell(referenceDecompress(try f.download(key, into: dir)) + " | wc -l").out
        #expect(lines.trimmingCharacters(in: .whitespacesAndNewlines) == "70")
    }

        @Test("a rerun skips everything from the cache; without the cache identical objects are recognised; a changed slice is uploaded again")
    func skipLevels() throws {
        let f = try ArchiveFixture(days: 3, rowsPerDay: 200)
        let first = try f.archive([])
        #expect(first.status == 0, "\(first.err)")
        #expect(first.err.contains("3 uploaded, 0 skipped"))
        #expect(first.err.contains("cpu by stage: pg-extract "), "\(first.err)")
        #expect(first.err.contains(", zcompress ") && first.err.contains(", s3put "), "\(first.err)")
        let before = try f.objects()

        // Level 1: cache and store agree, no pipeline runs.
        let second = try f.archive(["--debug"])
        #expect(second.status == 0)
        #expect(second.err.contains("0 uploaded, 3 skipped"), "\(second.err)")
        #expect(!second.err.contains("pipeline"))

        // Level 2: no cache and no manifests (objects archived before manifests, or by another
        // tool; with manifests, level 1 from the store skips: StoreLevelTests); s3put --compare
        // finds identical objects and keeps nothing on the way: with a TMPDIR that cannot hold
        // a file, any temporary file would fail the run.
        let noTemporaryFiles = ["TMPDIR": f.home.path("no-such-directory")]
        try FileManager.default.removeItem(atPath: f.home.path("cache"))
        try f.deleteObjects(prefix: "archives/flights/_manifest/")
        let third = try f.archive(["--debug"], env: noTemporaryFiles)
        #expect(third.status == 0, "\(third.err)")
        #expect(third.err.contains("0 uploaded, 3 skipped"), "\(third.err)")
        #expect(third.err.components(separatedBy: "/s3put ").count - 1 == 3 && third.err.components(separatedBy: "--compare").count - 1 == 3,
                "\(third.err)")
        // The data objects are untouched (the manifests were written again, with a new time).
        let dataObjects = { (objects: [String: (size: Int, etag: String)]) in objects.filter { !$0.key.contains("/_manifest/") }.mapValues(\.etag) }
        #expect(try dataObjects(f.objects()) == dataObjects(before))

        // One row changes in one partition: only that object is produced again and uploaded.
        try f.pg.psql("UPDATE flights SET callsign = 'CHANGED' WHERE id = 250", database: f.database)
        try FileManager.default.removeItem(atPath: f.home.path("cache"))
        try f.deleteObjects(prefix: "archives/flights/_manifest/")
        let fourth = try f.archive(["--debug"], env: noTemporaryFiles)
        #expect(fourth.status == 0, "\(fourth.err)")
        #expect(fourth.err.contains("1 uploaded, 2 skipped"), "\(fourth.err)")
        #expect(fourth.err.contains("the stored object differs"), "\(fourth.err)")
        #expect(fourth.err.components(separatedBy: "/s3put ").count - 1 == 4, "\(fourth.err)")
        let after = try f.objects()
        let changed = after.keys.filter { after[$0]!.etag != before[$0]?.etag && !$0.contains("/_manifest/") }
        #expect(changed == ["archives/flights/2024/01/flights-2024-01-02.jsonl.zst"])
    }

    @Test("a partition the role may not read fails alone: the others are archived, the run exits 1 naming it")
    func privilege() throws {
        let f = try ArchiveFixture(days: 3, rowsPerDay: 100)
        let role = f.pg.ordinaryUser
        try f.pg.psql("""
            GRANT CONNECT ON DATABASE \(f.database) TO \(role);
            GRANT USAGE ON SCHEMA public TO \(role);
            GRANT SELECT ON flights, flights_20240101, flights_20240103 TO \(role);
            """, database: f.database)
        var flags = f.flags()
        flags[flags.firstIndex(of: "--db-user")! + 1] = role
        let result = try f.archive([], flags: flags, env: ["PGPASSWORD": f.pg.ordinaryPassword])
        #expect(result.status == 1)
        #expect(result.err.contains("flights_20240102"), "\(result.err)")
        let keys = try f.objects().keys.filter { !$0.contains("/_schema/") && !$0.contains("/_manifest/") }.sorted()
        #expect(keys == ["archives/flights/2024/01/flights-2024-01-01.jsonl.zst", "archives/flights/2024/01/flights-2024-01-03.jsonl.zst"])
    }

    @Test("settings come from ARCHIVE_* variables and the YAML file with the bare command; no secret reaches argv or the log")
    func configurationAndSecrets() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 100)
        let yaml = f.home.path("config.yaml")
        try """
            db:
              host: \(f.pg.host)
              port: \(f.pg.port)
              user: \(f.pg.user)
              password: \(f.pg.password)
            s3:
              endpoint: \(f.s3.endpoint)
              bucket: wrong-bucket-overridden-by-env
              path_template: "cfg/{table}/{YYYY}"
              access_key: testing
              secret_key: yaml-secret-key-value
            table: flights
            workers: 1
            """.write(toFile: yaml, atomically: true, encoding: .utf8)
        let env = ["ARCHIVE_DB_NAME": f.database, "ARCHIVE_S3_BUCKET": f.bucket, "ARCHIVE_START_DATE": "2024-01-01",
                   "ARCHIVE_END_DATE": "2024-01-31", "PGPASSWORD": ""]
        // Watch the children's argv while the run goes.
        let seen = ProcessLog()
        let watcher = Thread {
            while !seen.stopped {
                for p in f.markedProcesses() { seen.add(p.cmdline) }
                usleep(20_000)
            }
        }
        watcher.start()
        let result = try run(Package.tool("data-archiver"), ["--config", yaml, "--debug"], environment: f.environment(env))
        seen.stop()
        #expect(result.status == 0, "\(result.err)")
        #expect(try f.objects().keys.contains("cfg/flights/2024/flights-2024-01-01.jsonl.zst"))
        #expect(!seen.lines.isEmpty)
        for line in seen.lines {
            #expect(!line.contains(f.pg.password) && !line.contains("yaml-secret-key-value"), "secret in argv: \(line)")
        }
        #expect(!result.err.contains(f.pg.password) && !result.err.contains("yaml-secret-key-value"))
        #expect(result.err.contains("--db-password=********"))
    }

    @Test("a window cut by the date range never replaces a wider object unless --force; an empty slice writes no object and caches 0 rows")
    func partialAndEmpty() throws {
        let f = try ArchiveFixture(days: 3, rowsPerDay: 50)
        try f.pg.psql("CREATE TABLE flights_20240104 PARTITION OF flights FOR VALUES FROM ('2024-01-04') TO ('2024-01-05')",
                      database: f.database)
        let monthly = "archives/flights/2024/01/flights-2024-01.jsonl.zst"
        let whole = try f.archive(["--output-duration", "monthly"])
        #expect(whole.status == 0, "\(whole.err)")
        let before = try #require(try f.objects()[monthly])
        // 2 to 31 January cuts the window: the object covering the whole month stays.
        var cut = f.flags()
        cut[cut.firstIndex(of: "--start-date")! + 1] = "2024-01-02"
        let refused = try f.archive(["--output-duration", "monthly"], flags: cut)
        #expect(refused.status == 0, "\(refused.err)")
        #expect(refused.err.contains("skipping a partial window") && refused.err.contains("0 uploaded, 1 skipped"), "\(refused.err)")
        #expect(try f.objects()[monthly]?.etag == before.etag)
        // --force replaces it with the cut window's rows.
        let forced = try f.archive(["--output-duration", "monthly", "--force"], flags: cut)
        #expect(forced.status == 0 && forced.err.contains("1 uploaded"), "\(forced.err)")
        let dir = try TemporaryDirectory()
        func monthlyLines() throws -> String {
            try shell(referenceDecompress(try f.download(monthly, into: dir)) + " | wc -l").out.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try monthlyLines() == "100")
        // The whole month again: the cache knows the object covers less, so it is made anew.
        let again = try f.archive(["--output-duration", "monthly"])
        #expect(again.status == 0 && again.err.contains("1 uploaded, 0 skipped"), "\(again.err)")
        #expect(try monthlyLines() == "150")
        let rerun = try f.archive(["--output-duration", "monthly"])
        #expect(rerun.err.contains("0 uploaded, 1 skipped"), "\(rerun.err)")

        // Daily: the empty 4 January partition writes no object; the cache records 0 rows for it.
        let daily = try f.archive([])
        #expect(daily.status == 0 && daily.err.contains("3 uploaded, 0 skipped, 1 empty"), "\(daily.err)")
        #expect(try f.objects().keys.contains { $0.hasSuffix("flights-2024-01-04.jsonl.zst") } == false)
        let entry = try f.cacheEntries()["archives/flights/2024/01/flights-2024-01-04.jsonl.zst"]
        #expect(entry?["row_count"] as? Int == 0, "\(String(describing: entry))")
    }

        @Test("--dry-run extracts and compresses, reports sizes and hashes, uploads nothing and records no upload")
    func dryRun() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 100)
        let result = try f.archive(["--dry-run"])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.err.contains("dry run: not uploaded"))
        #expect(result.err.contains("md5="))
        #expect(try f.objects().isEmpty)
        #expect(try f.cacheEntries().values.allSatisfy { $0["s3_uploaded"] as? Bool != true })
        // The real run afterwards uploads everything.
        #expect(try f.archive([]).err.contains("2 uploaded"))
    }

    @Test("a missing table and a wrong password are one clear line each, exit 1 and 6 (authentication)", arguments: [
        ("--table", "no_such_table", "table \"public.no_such_table\" does not exist"),
        ("PGPASSWORD", "wrong", "PostgreSQL refused the login (not retried): "),
    ])
    func preflightErrors(name: String, value: String, message: String) throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 10)
        var flags = f.flags()
        var env: [String: String] = [:]
        if name.hasPrefix("--") { flags[flags.firstIndex(of: name)! + 1] = value } else { env[name] = value }
        let result = try f.archive(["--db-max-retries", "0"], flags: flags, env: env)
        #expect(result.status == (name == "PGPASSWORD" ? 6 : 1))
        #expect(result.err.contains("data-archiver: error: \(message)"), "\(result.err)")
        #expect(!result.err.contains("interrupted"), "\(result.err)")
    }

    @Test("--viewer serves the cache viewer while the archive runs (at the port it really got) and stops with the run")
    func viewerAlongside() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 10)
        // A session holding an exclusive lock on one partition keeps the run from finishing.
        let locker = Process()
        locker.executableURL = URL(fileURLWithPath: "\(f.pg.binDirectory)/psql")
        locker.arguments = ["-X", "-q", "-c", "BEGIN; LOCK TABLE flights_20240101 IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120)"]
        locker.environment = ProcessInfo.processInfo.environment.merging(f.pg.environment(database: f.database)) { $1 }
        locker.standardOutput = FileHandle.nullDevice
        try locker.run()
        defer { if locker.isRunning { locker.terminate() } }
        let lockHeld = "SELECT count(*) FROM pg_locks WHERE relation = 'flights_20240101'::regclass AND mode = 'AccessExclusiveLock' AND granted"
        #expect(try waitFor(seconds: 30) { try f.pg.psql(lockHeld, database: f.database).contains("1") })

        let p = Process()
        p.executableURL = URL(fileURLWithPath: Package.tool("data-archiver"))
        p.arguments = f.flags() + ["--viewer", "--viewer-port", "0", "--log-format", "json"]
        p.environment = ProcessInfo.processInfo.environment.merging(f.environment()) { $1 }
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        var logged = ""
        while !logged.contains("cache viewer"), let chunk = try err.fileHandleForReading.read(upToCount: 1), !chunk.isEmpty {
            logged += String(decoding: chunk, as: UTF8.self)
        }
        while !logged.hasSuffix("\n"), let chunk = try err.fileHandleForReading.read(upToCount: 1), !chunk.isEmpty {
            logged += String(decoding: chunk, as: UTF8.self)
        }
        let line = try #require(logged.split(separator: "\n").last { $0.contains("cache viewer") })
        let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        let url = try #require(event?["url"], "\(line)")
        #expect(url.hasPrefix("http://127.0.0.1:") && !url.hasPrefix("http://127.0.0.1:0/"), "\(url)")
        let status = try run("curl", ["-fsS", url + "api/status"])
        #expect(status.status == 0, "\(status.err)")
        #expect(status.out.contains("archiverRunning"), "\(status.out)")

        try f.pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()",
                      database: f.database)
        let rest = try err.fileHandleForReading.readToEnd() ?? Data()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(logged)\(String(decoding: rest, as: UTF8.self))")
        #expect(try run("curl", ["-fsS", "--max-time", "5", url + "api/status"]).status != 0, "the viewer outlived the run")
    }

    @Test("data-archiver viewer serves the cache viewer on the given port")
    func viewer() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 10)
        #expect(try f.archive([]).status == 0)
        // Port 0: the viewer picks a free port and prints its URL as its first line.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Package.tool("data-archiver"))
        p.arguments = ["viewer", "--port", "0"]
        p.environment = ProcessInfo.processInfo.environment.merging(f.environment()) { $1 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { p.terminate(); p.waitUntilExit() }
        var firstLine = Data()
        while !firstLine.contains(0x0A), let byte = try out.fileHandleForReading.read(upToCount: 1), !byte.isEmpty {
            firstLine += byte
        }
        let url = String(decoding: firstLine, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(url.hasPrefix("http://127.0.0.1:"), "\(url)")
        var body = ""
        _ = waitFor(seconds: 20) {
            body = (try? run("curl", ["-fsS", url.hasSuffix("/") ? url + "api/cache" : url + "/api/cache"]).out) ?? ""
            return !body.isEmpty
        }
        #expect(body.contains("flights-2024-01-01"), "\(body)")
    }
}

/// Lines collected from another thread.
final class ProcessLog: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: Set<String> = []
    private var done = false
    func add(_ line: String) { lock.lock(); collected.insert(line); lock.unlock() }
    func stop() { lock.lock(); done = true; lock.unlock() }
    var stopped: Bool { lock.lock(); defer { lock.unlock() }; return done }
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return Array(collected) }
}
