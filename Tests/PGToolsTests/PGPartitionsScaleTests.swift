import Foundation
import SlicePlan
import Testing
import TestSupport

@Suite("pg-partitions at scale")
struct PGPartitionsScaleTests {
    /// Transactions committed in the database so far (each autocommit statement is one).
    private func commits(_ db: ScratchDatabase) throws -> Int {
        // A backend's counters reach the shared statistics when it exits, shortly after its client.
        usleep(1_500_000)
        return Int(try db.value("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")) ?? -1
    }

    @Test("2,000 never-analysed partitions are sized and counted in a few dozen statements, not one per partition")
    func fewStatementsForManyPartitions() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "parts")
        try db.sql("CREATE TABLE ev (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at)")
        // Created in transactions of 250 partitions: one transaction of 2,000 would itself need 2,000 locks.
        try db.sql("""
            CREATE PROCEDURE make_parts(n int) LANGUAGE plpgsql AS $$
            BEGIN
              FOR i IN 0 .. n - 1 LOOP
                EXECUTE format('CREATE TABLE ev_%s PARTITION OF ev FOR VALUES FROM (%L) TO (%L)', i,
                               '2024-01-01 00:00:00+00'::timestamptz + i * interval '1 hour',
                               '2024-01-01 00:00:00+00'::timestamptz + (i + 1) * interval '1 hour');
                IF i % 250 = 249 THEN COMMIT; END IF;
              END LOOP;
            END $$
            """)
        try db.sql("CALL make_parts(2000)")
        try db.sql("INSERT INTO ev SELECT g, '2024-01-01 00:30:00+00'::timestamptz + g * interval '1 hour' FROM generate_series(0, 1999, 7) g")
        let arguments = ["--table", "ev", "--output-duration", "hourly", "--start-date", "2024-01-01", "--end-date", "2024-03-31"]
        for mode in ["estimate", "exact"] {
            let before = try commits(db)
            let (status, slices, err, _, _, _) = try planSlices(db, arguments + ["--count", mode])
            let statements = try commits(db) - before
            #expect(status == 0, "\(err)")
            #expect(slices.count == 2000)
            #expect(slices.reduce(0) { $0 + ($1.rows ?? 0) } == 286, "\(mode)")
            #expect(slices.allSatisfy { $0.diskBytes != nil }, "\(mode)")
            // Catalog, sizes in chunks of 1,000, counts in chunks of 200: about 15; one per partition would be 2,000+.
            #expect(statements < 60, "\(mode): \(statements) transactions")
        }
    }
}
