import Foundation
import SlicePlan
import Testing
import TestSupport

@Suite("pg-partitions", .enabled(if: Services.postgresEnabled))
struct PGPartitionsTests {
    @Test("declarative daily partitions and a DEFAULT partition with quoted names group into monthly slices holding every row")
    func declarativeDailyWithDefault() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE "Events Log" (id int, "Created At" timestamptz NOT NULL, note text) PARTITION BY RANGE ("Created At");
            DO $$ DECLARE d date; BEGIN
              FOR d IN SELECT generate_series('2024-01-01'::date, '2024-01-05'::date, interval '1 day')::date LOOP
                EXECUTE format('CREATE TABLE %I PARTITION OF "Events Log" FOR VALUES FROM (%L) TO (%L)',
                               'Ev "' || d || '" part', d::timestamptz, (d + 1)::timestamptz);
              END LOOP; END $$;
            CREATE TABLE "Ev Default" PARTITION OF "Events Log" DEFAULT;
            INSERT INTO "Events Log" SELECT row_number() OVER (), g, 'n' || g
              FROM generate_series('2023-12-30'::timestamptz, '2024-02-03'::timestamptz, interval '1 hour') g;
            CREATE TABLE got (LIKE "Events Log");
            """)
        let plan = try planSlices(db, ["--table", "Events Log", "--start-date", "2024-01-01", "--end-date", "2024-02-29",
                                       "--output-duration", "monthly", "--count", "exact"])
        #expect(plan.status == 0, "\(plan.err)")
        #expect(plan.slices.map(\.stem) == ["Events Log-2024-01", "Events Log-2024-02"])
        #expect(plan.slices.map(\.rows) == [744, 49])
        #expect(plan.slices.map { $0.sources.count } == [6, 1])
        #expect(plan.slices[0].sources.last?.relation == "Ev Default")
        #expect(plan.slices[0].sources.last?.column == "Created At")
        #expect(plan.slices[0].dateColumn == "Created At")
        #expect(plan.slices[1].partial == false && plan.slices[1].open == false)
        try extractAll(db, plan.slices, into: "got")
        try db.sql("""
            CREATE VIEW wanted AS SELECT * FROM "Events Log" WHERE "Created At" >= '2024-01-01' AND "Created At" < '2024-03-01'
            """)
        let diff = try db.difference("wanted", "got")
        #expect(diff[0] == 0 && diff[1] == 0 && diff[2] == 793)

        let only = try planSlices(db, ["--table", "Events Log", "--start-date", "2024-01-01", "--end-date", "2024-02-29",
                                       "--output-duration", "monthly", "--only", "Events Log-2024-02"])
        #expect(only.slices.map(\.stem) == ["Events Log-2024-02"])
    }

    @Test("many windows of one plain table are counted in one scan, each equal to its own count(*)", arguments: ["timestamptz", "timestamp", "date"])
    func manyWindowsOneScan(type: String) throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        // Irregular rows: gaps, bursts, NULLs, rows on the windows' bounds and outside the range.
        try db.sql("""
            SET TimeZone = 'UTC';
            CREATE TABLE w (id int, at \(type));
            INSERT INTO w SELECT g, ('2024-01-01'::timestamptz + (g * g % 997) * interval '61 minutes')::\(type)
              FROM generate_series(1, 3000) g;
            INSERT INTO w SELECT g, NULL FROM generate_series(1, 10) g;
            INSERT INTO w SELECT g, ('2024-01-01'::timestamptz + g * interval '1 day')::\(type) FROM generate_series(0, 60) g;
            """)
        let plan = try planSlices(db, ["--table", "w", "--date-column", "at", "--start-date", "2024-01-03", "--end-date", "2024-02-10",
                                       "--output-duration", "daily", "--count", "exact", "--allow-unwindowed"])
        #expect(plan.status == 0, "\(plan.err)")
        #expect(plan.slices.count == 39)
        let expected = try db.sql("""
            SET TimeZone = 'UTC';
            SELECT count(w.at) FROM generate_series('2024-01-03'::timestamptz, '2024-02-10', interval '1 day') d
              LEFT JOIN w ON w.at >= d AND w.at < d + interval '1 day' GROUP BY d ORDER BY d
            """).split(separator: "\n").filter { $0 != "SET" }.map { Int64($0) }
        #expect(plan.slices.map(\.rows) == expected, "\(plan.slices.map(\.rows)) vs \(expected)")
        #expect(plan.slices.allSatisfy { $0.rowsExact == true })
    }

    @Test("monthly partitions split into daily slices filter by the partition key and keep every row in range")
    func monthlySplitDaily() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE m (id int, ts timestamp NOT NULL) PARTITION BY RANGE (ts);
            CREATE TABLE m_2024_01 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
            CREATE TABLE m_2024_02 PARTITION OF m FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
            INSERT INTO m SELECT row_number() OVER (), g FROM generate_series('2024-01-01'::timestamp, '2024-02-29 23:00', interval '3 hours') g;
            CREATE TABLE got (LIKE m);
            """)
        let plan = try planSlices(db, ["--table", "m", "--start-date", "2024-01-15", "--end-date", "2024-02-10", "--count", "exact"])
        #expect(plan.status == 0, "\(plan.err)")
        #expect(plan.slices.count == 27)
        #expect(Set(plan.slices.map(\.stem)).count == 27)
        #expect(plan.slices.first?.stem == "m-2024-01-15")
        #expect(plan.slices.allSatisfy { $0.sources.count == 1 && $0.sources[0].column == "ts" && $0.rows == 8 })
        // disk_bytes: each partition's pg_table_size, shared between the days of its month.
        let sizes = try db.sql("SELECT pg_table_size('m_2024_01') || ' ' || pg_table_size('m_2024_02')")
            .split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(sizes.count == 2 && sizes.allSatisfy { $0 > 0 })
        if sizes.count == 2 {
            #expect(plan.slices.first?.diskBytes == Int64((sizes[0] / 31).rounded()))
            #expect(plan.slices.last?.diskBytes == Int64((sizes[1] / 29).rounded()))
        }
        try extractAll(db, plan.slices, into: "got")
        try db.sql("CREATE VIEW wanted AS SELECT * FROM m WHERE ts >= '2024-01-15' AND ts < '2024-02-11'")
        let diff = try db.difference("wanted", "got")
        #expect(diff[0] == 0 && diff[1] == 0 && diff[2] == 27 * 8)
    }

    @Test("a two-level hierarchy is found at every depth, windows from the ancestors' bounds")
    func twoLevels() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE h (id int, ts timestamptz NOT NULL, region text NOT NULL) PARTITION BY RANGE (ts);
            CREATE TABLE h_2023 PARTITION OF h FOR VALUES FROM ('2023-01-01') TO ('2024-01-01') PARTITION BY LIST (region);
            CREATE TABLE h_2023_eu PARTITION OF h_2023 FOR VALUES IN ('eu');
            CREATE TABLE h_2023_us PARTITION OF h_2023 FOR VALUES IN ('us');
            CREATE TABLE h_2024 PARTITION OF h FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY RANGE (ts);
            CREATE TABLE h_2024_01 PARTITION OF h_2024 FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
            CREATE TABLE h_2024_02 PARTITION OF h_2024 FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
            INSERT INTO h SELECT row_number() OVER (), g, CASE WHEN extract(hour FROM g)::int % 2 = 0 THEN 'eu' ELSE 'us' END
              FROM generate_series('2023-11-20'::timestamptz, '2024-02-29 23:00', interval '5 hours') g;
            CREATE TABLE got (LIKE h);
            """)
        let plan = try planSlices(db, ["--table", "h", "--start-date", "2023-12-01", "--end-date", "2024-02-29",
                                       "--output-duration", "monthly"])
        #expect(plan.status == 0, "\(plan.err)")
        #expect(plan.slices.map(\.stem) == ["h-2023-12", "h-2024-01", "h-2024-02"])
        #expect(plan.slices[0].sources.map(\.relation) == ["h_2023_eu", "h_2023_us"])
        #expect(plan.slices[0].sources.allSatisfy { $0.column == "ts" && $0.from == "2023-12-01T00:00:00Z" })
        #expect(plan.slices[1].sources.map(\.relation) == ["h_2024_01"])
        #expect(plan.slices[1].sources[0].column == nil)
        try extractAll(db, plan.slices, into: "got")
        try db.sql("CREATE VIEW wanted AS SELECT * FROM h WHERE ts >= '2023-12-01' AND ts < '2024-03-01'")
        let diff = try db.difference("wanted", "got")
        #expect(diff[0] == 0 && diff[1] == 0 && diff[2] > 400)
    }

    @Test("inheritance children are placed by every naming pattern, and the parent's own rows are read with ONLY")
    func inheritanceNamePatterns() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE logs (ts timestamptz NOT NULL, v int);
            CREATE TABLE logs_20240101 () INHERITS (logs);
            CREATE TABLE logs_p20240102 () INHERITS (logs);
            CREATE TABLE logs_2024_01_03 () INHERITS (logs);
            CREATE TABLE logs_2024_02 () INHERITS (logs);
            CREATE TABLE logs_202403 () INHERITS (logs);
            INSERT INTO logs_20240101 VALUES ('2024-01-01 05:00', 1), ('2024-01-01 23:59:59.999999', 2);
            INSERT INTO logs_p20240102 VALUES ('2024-01-02 00:00', 3);
            INSERT INTO logs_2024_01_03 VALUES ('2024-01-03 12:00', 4);
            INSERT INTO logs_2024_02 VALUES ('2024-02-01', 5), ('2024-02-29 23:00', 6);
            INSERT INTO logs_202403 VALUES ('2024-03-31 23:00', 7);
            INSERT INTO logs VALUES ('2024-01-20', 8), ('2024-03-02', 9);
            CREATE TABLE got (LIKE logs);
            """)
        let plan = try planSlices(db, ["--table", "logs", "--start-date", "2024-01-01", "--end-date", "2024-03-31",
                                       "--output-duration", "monthly", "--date-column", "ts", "--count", "exact"])
        #expect(plan.status == 0, "\(plan.err)")
        #expect(plan.slices.map(\.stem) == ["logs-2024-01", "logs-2024-02", "logs-2024-03"])
        #expect(plan.slices[0].sources.map(\.relation) == ["logs_20240101", "logs_p20240102", "logs_2024_01_03", "logs"])
        #expect(plan.slices[0].sources[3].only == true)
        #expect(plan.slices.map(\.rows) == [5, 2, 2])
        try extractAll(db, plan.slices, into: "got")
        let diff = try db.difference("logs", "got")
        #expect(diff[0] == 0 && diff[1] == 0 && diff[2] == 9)

        let daily = try planSlices(db, ["--table", "logs", "--start-date", "2024-01-01", "--end-date", "2024-01-31"])
        #expect(daily.status == 1)
        #expect(daily.err.contains("cannot place public.logs"))
        #expect(daily.slices.map(\.stem) == ["logs-2024-01-01", "logs-2024-01-02", "logs-2024-01-03"])
    }

    @Test("a partition without SELECT privilege is an error on stderr and on its slice; the other slices are still printed")
    func unreadablePartition() throws {
        let pg = try Services.requirePostgres()
        let db = try ScratchDatabase(pg, prefix: "x")
        try db.sql("""
            CREATE TABLE priv (id int, d date NOT NULL) PARTITION BY RANGE (d);
            CREATE TABLE priv_20240101 PARTITION OF priv FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
            CREATE TABLE priv_20240102 PARTITION OF priv FOR VALUES FROM ('2024-01-02') TO ('2024-01-03');
            CREATE TABLE priv_20240103 PARTITION OF priv FOR VALUES FROM ('2024-01-03') TO ('2024-01-04');
            INSERT INTO priv SELECT g, '2024-01-01'::date + g % 3 FROM generate_series(1, 30) g;
            GRANT SELECT ON priv, priv_20240101, priv_20240103 TO \(pg.ordinaryUser);
            """)
        var env = db.environment
        env["PGUSER"] = pg.ordinaryUser
        env["PGPASSWORD"] = pg.ordinaryPassword
        let plan = try planSlices(db, ["--table", "priv", "--start-date", "2024-01-01", "--end-date", "2024-01-03", "--count", "exact"],
                                  environment: env)
        #expect(plan.status == 1)
        #expect(plan.err.contains("permission denied for table public.priv_20240102"))
        #expect(plan.slices.map(\.stem) == ["priv-2024-01-01", "priv-2024-01-02", "priv-2024-01-03"])
        #expect(plan.slices.map { $0.error != nil } == [false, true, false])
        #expect(plan.slices.map(\.rows) == [10, nil, 10])
    }

    @Test("partitions keyed by a column that is not a date are placed by their names")
    func nonDateKeyFallsBackToNames() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE ints (day int NOT NULL, v text) PARTITION BY RANGE (day);
            CREATE TABLE ints_20240101 PARTITION OF ints FOR VALUES FROM (20240101) TO (20240102);
            CREATE TABLE ints_20240102 PARTITION OF ints FOR VALUES FROM (20240102) TO (20240103);
            INSERT INTO ints VALUES (20240101, 'a'), (20240102, 'b'), (20240102, 'c');
            """)
        let plan = try planSlices(db, ["--table", "ints", "--start-date", "2024-01-01", "--end-date", "2024-01-31",
                                       "--output-duration", "monthly", "--count", "exact"])
        #expect(plan.status == 0, "\(plan.err)")
        #expect(plan.slices.map(\.stem) == ["ints-2024-01"])
        #expect(plan.slices.first?.sources.map(\.relation) == ["ints_20240101", "ints_20240102"])
        #expect(plan.slices.first?.rows == 3)
        #expect(plan.slices.first?.dateColumn == nil)
    }

    @Test("an open-ended partition (MINVALUE) is placed by its data and filtered in every slice")
    func openEndedPartition() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE oe (id int, d date NOT NULL) PARTITION BY RANGE (d);
            CREATE TABLE oe_old PARTITION OF oe FOR VALUES FROM (MINVALUE) TO ('2024-01-01');
            CREATE TABLE oe_2024 PARTITION OF oe FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            INSERT INTO oe VALUES (1, '2023-11-30'), (2, '2023-12-15'), (3, '2024-01-02'), (4, '1999-01-01');
            CREATE TABLE got (LIKE oe);
            """)
        let plan = try planSlices(db, ["--table", "oe", "--start-date", "2023-11-01", "--end-date", "2024-01-31",
                                       "--output-duration", "monthly", "--count", "exact"])
        #expect(plan.status == 0, "\(plan.err)")
        #expect(plan.slices.map(\.stem) == ["oe-2023-11", "oe-2023-12", "oe-2024-01"])
        #expect(plan.slices.map(\.rows) == [1, 1, 1])
        #expect(plan.slices[0].sources.map(\.column) == ["d"])
        try extractAll(db, plan.slices, into: "got")
        #expect(try db.sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM got") == "1,2,3\n")
    }

    @Test("a plain table needs --date-column and both dates, then gets synthetic windows")
    func plainTable() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE plain (id int, at date);
            INSERT INTO plain SELECT g, '2024-01-01'::date + g % 5 FROM generate_series(1, 50) g;
            CREATE TABLE got (LIKE plain);
            """)
        let refused = try planSlices(db, ["--table", "plain", "--date-column", "at"])
        #expect(refused.status == 1)
        #expect(refused.err.contains("--date-column, --start-date and --end-date"))
        let plan = try planSlices(db, ["--table", "plain", "--date-column", "at", "--start-date", "2024-01-02",
                                       "--end-date", "2024-01-04", "--count", "exact"])
        #expect(plan.status == 0, "\(plan.err)")
        #expect(plan.slices.map(\.label) == ["2024-01-02", "2024-01-03", "2024-01-04"])
        #expect(plan.slices.map(\.rows) == [10, 10, 10])
        try extractAll(db, plan.slices, into: "got")
        #expect(try db.sql("SELECT count(*), min(at), max(at) FROM got").hasPrefix("30|2024-01-02|2024-01-04"))
    }

    @Test("--include-non-partition-tables takes standalone tables named TABLE_<date>")
    func standaloneTables() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE st (id int, at timestamptz);
            CREATE TABLE st_20240101 (LIKE st); CREATE TABLE st_2024_01_02 (LIKE st); CREATE TABLE st_archive (LIKE st);
            INSERT INTO st_20240101 VALUES (1, '2024-01-01 10:00');
            INSERT INTO st_2024_01_02 VALUES (2, '2024-01-02 10:00');
            """)
        let plan = try planSlices(db, ["--table", "st", "--include-non-partition-tables", "--end-date", "2024-01-31", "--count", "exact"])
        #expect(plan.status == 0, "\(plan.err)")
        #expect(plan.slices.map(\.stem) == ["st-2024-01-01", "st-2024-01-02"])
        #expect(plan.slices.map { $0.sources.map(\.relation) } == [["st_20240101"], ["st_2024_01_02"]])
        #expect(plan.slices.map(\.rows) == [1, 1])
    }

    @Test("identifiers that look like SQL are quoted, never executed")
    func hostileNames() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE keep (x int);
            CREATE SCHEMA "we""ird sch";
            CREATE TABLE "we""ird sch"."x; DROP TABLE keep; --" (id int, "t""s" timestamptz NOT NULL) PARTITION BY RANGE ("t""s");
            CREATE TABLE "we""ird sch"."p'1" PARTITION OF "we""ird sch"."x; DROP TABLE keep; --"
              FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
            INSERT INTO "we""ird sch"."x; DROP TABLE keep; --" VALUES (1, '2024-01-05'), (2, '2024-01-06');
            """)
        let plan = try planSlices(db, ["--schema", "we\"ird sch", "--table", "x; DROP TABLE keep; --", "--start-date", "2024-01-01",
                                       "--end-date", "2024-01-31", "--output-duration", "weekly", "--count", "exact"])
        #expect(plan.status == 0, "\(plan.err)")
        #expect(plan.slices.map(\.rows) == [2, 0, 0, 0, 0])
        #expect(plan.slices.allSatisfy { $0.sources[0].column == "t\"s" && $0.sources[0].relation == "p'1" })
        try db.sql("CREATE TABLE got (id int, ts timestamptz)")
        try extractAll(db, plan.slices, into: "got")
        #expect(try db.sql("SELECT count(*) FROM got, keep").hasPrefix("0"))
        #expect(try db.sql("SELECT count(*) FROM got").hasPrefix("2"))
    }

    @Test("the password comes from ARCHIVE_DB_PASSWORD; a refused login is final (exit 6, no retry); an unreachable server is retried, each retry a warning, then one error line")
    func connection() throws {
        let pg = try Services.requirePostgres()
        let db = try ScratchDatabase(pg, prefix: "x")
        try db.sql("CREATE TABLE c (at date) PARTITION BY RANGE (at)")
        var env = db.environment
        env["PGPASSWORD"] = ""
        env["ARCHIVE_DB_PASSWORD"] = pg.password
        let ok = try planSlices(db, ["--table", "c"], environment: env)
        #expect(ok.status == 0, "\(ok.err)")
        env["ARCHIVE_DB_PASSWORD"] = "wrong"
        let refused = try run(Package.tool("pg-partitions"), ["--table", "c", "--db-max-retries", "1", "--db-retry-delay", "0"],
                              environment: env)
        #expect(refused.status == 6)
        #expect(refused.err.hasPrefix("pg-partitions: error: PostgreSQL refused the login (not retried): "))
        #expect(refused.err.contains("password authentication failed"))
        #expect(refused.err.split(separator: "\n").count == 1)
        let down = try run(Package.tool("pg-partitions"), ["--table", "c", "--db-port", "1", "--db-max-retries", "1", "--db-retry-delay", "0"],
                           environment: env)
        #expect(down.status == 1)
        let lines = down.err.split(separator: "\n")
        #expect(lines.count == 2, "\(down.err)")
        #expect(lines.first?.hasPrefix("pg-partitions: warning: retrying the connection (attempt 2 of 2, in 0 s): ") == true, "\(down.err)")
        #expect(lines.last?.hasPrefix("pg-partitions: error: could not connect to PostgreSQL (2 attempts):") == true, "\(down.err)")
    }
}
