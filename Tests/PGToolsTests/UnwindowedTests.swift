import Foundation
import SlicePlan
import Testing
import TestSupport

@Suite("pg-partitions: rows in no window", .enabled(if: Services.postgresEnabled))
struct UnwindowedTests {
    @Test("a DEFAULT partition holding -infinity: its finite rows are planned, the -infinity row is an unwindowed line and exit 1")
    func defaultPartitionWithMinusInfinity() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE ev (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
            CREATE TABLE ev_20240101 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
            CREATE TABLE ev_default PARTITION OF ev DEFAULT;
            INSERT INTO ev VALUES (1, '2024-01-01 10:00'), (2, '2024-01-02 10:00'), (3, '2024-01-03 10:00'), (4, '-infinity');
            CREATE TABLE got (LIKE ev);
            """)
        let plan = try planSlices(db, ["--table", "ev", "--end-date", "2024-01-31", "--count", "exact"])
        #expect(plan.status == 1)
        #expect(plan.err.contains("pg-partitions: error: 1 row of public.ev_default has at = -infinity, which no window can hold"), "\(plan.err)")
        #expect(plan.slices.map(\.stem) == ["ev-2024-01-01", "ev-2024-01-02", "ev-2024-01-03"])
        #expect(plan.slices.allSatisfy { $0.error == nil })
        #expect(plan.unwindowed == [UnwindowedRows(schema: "public", table: "ev", source: .init(schema: "public", relation: "ev_default"),
                                                   column: "at", rows: 1, reason: .minusInfinity)])
        try extractAll(db, plan.slices, into: "got")
        #expect(try db.sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM got") == "1,2,3\n")

        let allowed = try planSlices(db, ["--table", "ev", "--end-date", "2024-01-31", "--allow-unwindowed"])
        #expect(allowed.status == 0, "\(allowed.err)")
        #expect(allowed.err.contains("pg-partitions: warning: 1 row of public.ev_default has at = -infinity"))
        #expect(allowed.unwindowed.count == 1 && allowed.slices.count == 3)
        // pg-extract refuses an unwindowed line with a clear message rather than a missing field.
        let line = try PlanLine.unwindowed(allowed.unwindowed[0]).jsonLine()
        let extract = try run(Package.tool("pg-extract"), [], stdin: Data((line + "\n").utf8), environment: db.environment)
        #expect(extract.status != 0 && extract.err.contains("rows that belong to no window"), "\(extract.err)")
    }

    @Test("NULL and ±infinity in --date-column of a plain table are counted per reason")
    func plainTableNulls() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE plain (id int, at date);
            INSERT INTO plain SELECT g, '2024-01-01'::date + g % 3 FROM generate_series(1, 30) g;
            INSERT INTO plain VALUES (31, NULL), (32, NULL), (33, 'infinity');
            """)
        let plan = try planSlices(db, ["--table", "plain", "--date-column", "at", "--start-date", "2024-01-01",
                                       "--end-date", "2024-01-03", "--count", "exact"])
        #expect(plan.status == 1)
        #expect(plan.slices.map(\.rows) == [10, 10, 10])
        #expect(plan.unwindowed.map(\.reason) == [.null, .infinity])
        #expect(plan.unwindowed.map(\.rows) == [2, 1])
        #expect(plan.err.contains("2 rows of public.plain have at = NULL, which no window can hold"), "\(plan.err)")
    }

    @Test("a partition FROM (x) TO (MAXVALUE): its finite rows are planned, its infinity row is reported")
    func maxvaluePartition() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE mv (id int, d date NOT NULL) PARTITION BY RANGE (d);
            CREATE TABLE mv_2024 PARTITION OF mv FOR VALUES FROM ('2024-01-01') TO ('2024-01-03');
            CREATE TABLE mv_rest PARTITION OF mv FOR VALUES FROM ('2024-01-03') TO (MAXVALUE);
            INSERT INTO mv VALUES (1, '2024-01-01'), (2, '2024-01-02'), (3, '2024-01-03'), (4, '2024-01-04'), (5, 'infinity');
            """)
        let plan = try planSlices(db, ["--table", "mv", "--start-date", "2024-01-01", "--end-date", "2024-01-31",
                                       "--output-duration", "monthly", "--count", "exact"])
        #expect(plan.status == 1)
        #expect(plan.slices.map(\.rows) == [4])
        #expect(plan.unwindowed.map(\.source.relation) == ["mv_rest"])
        #expect(plan.unwindowed.map(\.reason) == [.infinity])
    }

    @Test("an inheritance child split by a finer duration: rows outside its name's window and NULLs are reported")
    func inheritanceChildOutsideItsWindow() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE lg (ts timestamptz, v int);
            CREATE TABLE lg_20240101 () INHERITS (lg);
            INSERT INTO lg_20240101 VALUES ('2024-01-01 05:00', 1), ('2024-01-01 06:00', 2), ('2024-01-05 00:00', 3), (NULL, 4);
            """)
        // Read whole (daily): nothing is lost, nothing reported.
        let daily = try planSlices(db, ["--table", "lg", "--start-date", "2024-01-01", "--end-date", "2024-01-31", "--date-column", "ts"])
        #expect(daily.status == 0, "\(daily.err)")
        #expect(daily.unwindowed.isEmpty)
        // Split hourly: the filters miss the row of 2024-01-05 and the NULL.
        let hourly = try planSlices(db, ["--table", "lg", "--start-date", "2024-01-01", "--end-date", "2024-01-31", "--date-column", "ts",
                                         "--output-duration", "hourly"])
        #expect(hourly.status == 1)
        #expect(hourly.slices.count == 24)
        #expect(hourly.unwindowed.map(\.reason) == [.null, .outsideWindow])
        #expect(hourly.unwindowed.last?.start == "2024-01-01T00:00:00Z" && hourly.unwindowed.last?.end == "2024-01-02T00:00:00Z")
        #expect(hourly.err.contains("1 row of public.lg_20240101 has ts outside [2024-01-01T00:00:00Z, 2024-01-02T00:00:00Z)"), "\(hourly.err)")
    }

    @Test("a DEFAULT partition the role may not read: an unplanned line, and every slice carries its error")
    func unreadableDefault() throws {
        let pg = try Services.requirePostgres()
        let db = try ScratchDatabase(pg, prefix: "x")
        try db.sql("""
            CREATE TABLE pd (id int, d date NOT NULL) PARTITION BY RANGE (d);
            CREATE TABLE pd_20240101 PARTITION OF pd FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
            CREATE TABLE pd_default PARTITION OF pd DEFAULT;
            INSERT INTO pd VALUES (1, '2024-01-01'), (2, '2024-01-05');
            GRANT SELECT ON pd, pd_20240101 TO \(pg.ordinaryUser);
            """)
        var env = db.environment
        env["PGUSER"] = pg.ordinaryUser
        env["PGPASSWORD"] = pg.ordinaryPassword
        let plan = try planSlices(db, ["--table", "pd", "--start-date", "2024-01-01", "--end-date", "2024-01-03"], environment: env)
        #expect(plan.status == 1)
        #expect(plan.slices.map(\.stem) == ["pd-2024-01-01"])
        #expect(plan.slices[0].error?.contains("permission denied for table public.pd_default") == true)
        #expect(plan.unplanned.map(\.source.relation) == ["pd_default"])
        #expect(plan.unplanned.first?.slices == ["pd-2024-01-01"])
    }
}
