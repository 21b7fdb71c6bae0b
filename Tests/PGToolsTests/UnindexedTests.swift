import Foundation
import SlicePlan
import Testing
import TestSupport

@Suite("pg-partitions: slices that scan a whole relation", .enabled(if: Services.postgresEnabled))
struct UnindexedTests {
    /// Daily windows of January 2024 up to `lastDay`, with `--report-unindexed`.
    func plan(_ db: ScratchDatabase, _ table: String, lastDay: Int = 31, extra: [String] = []) throws
        -> (status: Int32, slices: [Slice], err: String, unwindowed: [UnwindowedRows], unplanned: [UnplannedRelation], unindexed: [UnindexedScan]) {
        try planSlices(db, ["--table", table, "--start-date", "2024-01-01", "--end-date", "2024-01-\(lastDay)",
                            "--output-duration", "daily", "--report-unindexed"] + extra)
    }

    @Test("a plain table cut into 31 days without an index on the column: one unindexed line and a warning, exit 0; an index whose first key is the column silences it")
    func plainTable() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE ticks (id bigint PRIMARY KEY, at timestamptz NOT NULL, v integer);
            INSERT INTO ticks SELECT g, '2024-01-01 00:00+00'::timestamptz + g * interval '20 minutes', g FROM generate_series(0, 2231) g;
            ANALYZE ticks;
            """)
        let unindexed = try plan(db, "ticks", extra: ["--date-column", "at"])
        #expect(unindexed.status == 0, "\(unindexed.err)")
        #expect(unindexed.slices.count == 31)
        #expect(unindexed.unindexed.count == 1)
        let scan = try #require(unindexed.unindexed.first)
        #expect(scan.source == Slice.Source(schema: "public", relation: "ticks") && scan.column == "at" && scan.windows == 31)
        #expect(scan.schema == "public" && scan.table == "ticks")
        #expect(scan.estimatedRows == 2232 && (scan.diskBytes ?? 0) > 8192)
        #expect(unindexed.err.contains("pg-partitions: warning: public.ticks has no index on at: each of the 31 slices reading it "
            + "scans all of it (about 2232 rows); CREATE INDEX ON public.ticks (at) (or USING brin) lets each read only its window"),
            "\(unindexed.err)")
        // The line survives its own round trip, and pg-extract refuses it as a plan, naming what it is.
        let line = try PlanLine.unindexed(scan).jsonLine()
        #expect(try PlanLine.parse(line) == .unindexed(scan))
        let extract = try run(Package.tool("pg-extract"), [], stdin: Data((line + "\n").utf8), environment: db.environment)
        #expect(extract.status != 0 && extract.err.contains("a relation its slices scan whole"), "\(extract.err)")

        // Without --report-unindexed, standard output holds the slices alone (hand-made `while read` loops); the warning stays.
        let plain = try planSlices(db, ["--table", "ticks", "--date-column", "at", "--start-date", "2024-01-01", "--end-date", "2024-01-31"])
        #expect(plain.status == 0 && plain.slices.count == 31 && plain.unindexed.isEmpty, "\(plain.err)")
        #expect(plain.err.contains("pg-partitions: warning: public.ticks has no index on at"), "\(plain.err)")

        // 24 windows are not enough to warn about.
        let few = try plan(db, "ticks", lastDay: 24, extra: ["--date-column", "at"])
        #expect(few.status == 0 && few.slices.count == 24 && few.unindexed.isEmpty, "\(few.err)")

        // Indexes that cannot serve a range of `at`: an expression, `at` as second key, a hash index.
        try db.sql("""
            CREATE INDEX ON ticks ((at AT TIME ZONE 'UTC'));
            CREATE INDEX ON ticks (v, at);
            CREATE INDEX ON ticks USING hash (at);
            """)
        #expect(try plan(db, "ticks", extra: ["--date-column", "at"]).unindexed.count == 1)
        // A BRIN index on `at` serves it.
        try db.sql("CREATE INDEX ticks_brin ON ticks USING brin (at)")
        let brin = try plan(db, "ticks", extra: ["--date-column", "at"])
        #expect(brin.status == 0 && brin.unindexed.isEmpty && !brin.err.contains("warning"), "\(brin.err)")
        // An index not yet valid (a failed CREATE INDEX CONCURRENTLY) does not.
        try db.sql("DROP INDEX ticks_brin; CREATE INDEX ticks_btree ON ticks (at); "
                   + "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'ticks_btree'::regclass")
        #expect(try plan(db, "ticks", extra: ["--date-column", "at"]).unindexed.count == 1)
        try db.sql("UPDATE pg_index SET indisvalid = true WHERE indexrelid = 'ticks_btree'::regclass")
        #expect(try plan(db, "ticks", extra: ["--date-column", "at"]).unindexed.isEmpty)
    }

    @Test("an indexed plain table prints nothing; a table of one page is not worth a warning")
    func indexedAndTinyPlainTables() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE indexed (id bigint, at timestamp NOT NULL);
            CREATE INDEX ON indexed (at);
            INSERT INTO indexed SELECT g, '2024-01-01'::timestamp + g * interval '20 minutes' FROM generate_series(0, 2231) g;
            CREATE TABLE tiny (id bigint, at timestamp NOT NULL) WITH (autovacuum_enabled = false);
            INSERT INTO tiny SELECT g, '2024-01-01'::timestamp + g * interval '1 day' FROM generate_series(0, 30) g;
            """)
        for table in ["indexed", "tiny"] {
            let result = try plan(db, table, extra: ["--date-column", "at"])
            #expect(result.status == 0 && result.slices.count == 31, "\(table): \(result.err)")
            #expect(result.unindexed.isEmpty && !result.err.contains("warning"), "\(table): \(result.err)")
        }
    }

    @Test("monthly partitions cut into days: indexed partitions print nothing; without an index each partition split into more than 24 windows is named, never-analysed ones by their size")
    func partitionedTable() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE ev (id bigint, "When" timestamptz NOT NULL) PARTITION BY RANGE ("When");
            CREATE TABLE "Ev_2024_01" PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2024-02-01') WITH (autovacuum_enabled = false);
            CREATE TABLE ev_2024_02 PARTITION OF ev FOR VALUES FROM ('2024-02-01') TO ('2024-03-01') WITH (autovacuum_enabled = false);
            INSERT INTO ev SELECT g, '2024-01-01 00:00+00'::timestamptz + g * interval '20 minutes' FROM generate_series(0, 4319) g;
            CREATE TABLE iv (LIKE ev) PARTITION BY RANGE ("When");
            CREATE INDEX ON iv ("When");
            CREATE TABLE iv_2024_01 PARTITION OF iv FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
            CREATE TABLE iv_2024_02 PARTITION OF iv FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
            INSERT INTO iv SELECT * FROM ev;
            """)
        let range = ["--start-date", "2024-01-01", "--end-date", "2024-02-29", "--output-duration", "daily", "--report-unindexed"]
        let indexed = try planSlices(db, ["--table", "iv"] + range)
        #expect(indexed.status == 0 && indexed.slices.count == 60, "\(indexed.err)")
        #expect(indexed.unindexed.isEmpty && !indexed.err.contains("warning"), "\(indexed.err)")

        let bare = try planSlices(db, ["--table", "ev"] + range)
        #expect(bare.status == 0 && bare.slices.count == 60, "\(bare.err)")
        #expect(bare.unindexed.map(\.source.relation) == ["Ev_2024_01", "ev_2024_02"])
        #expect(bare.unindexed.map(\.windows) == [31, 29])
        #expect(bare.unindexed.allSatisfy { $0.column == "When" && $0.table == "ev" && $0.estimatedRows == nil && ($0.diskBytes ?? 0) > 8192 })
        #expect(bare.err.contains("""
            pg-partitions: warning: public.Ev_2024_01 has no index on When: each of the 31 slices reading it scans all of it \
            (\(bare.unindexed[0].diskBytes ?? 0) bytes on disk, never analysed); CREATE INDEX ON public."Ev_2024_01" ("When") \
            (or USING brin) lets each read only its window
            """), "\(bare.err)")
        // Read whole by monthly slices: no filter, no warning.
        let monthly = try planSlices(db, ["--table", "ev", "--start-date", "2024-01-01", "--end-date", "2024-02-29",
                                          "--output-duration", "monthly", "--report-unindexed"])
        #expect(monthly.status == 0 && monthly.unindexed.isEmpty, "\(monthly.err)")
    }
}
