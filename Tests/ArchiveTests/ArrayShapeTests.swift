import Foundation
import Testing
import TestSupport

/// Issue 15: 2-D and 3-D array values in columns whose declared dimensions are 0 (a partitioned
/// table's partitions) archive and restore exactly in every format, Parquet with no flag.
@Suite("array values of any dimensions and bounds through archive and restore", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct ArrayShapeTests {
    func fixture() throws -> ArchiveFixture {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 1)
        try f.pg.psql(arrayShapesSQL("shapes"), database: f.database)
        #expect(try f.sql("""
            SELECT string_agg(DISTINCT attndims::text, ',') FROM pg_attribute
            WHERE attrelid IN ('shapes_20240101'::regclass, 'shapes_20240102'::regclass) AND attnum > 0
            """, in: f.database) == "0")
        return f
    }

    func flags(_ f: ArchiveFixture) -> [String] {
        var flags = f.flags(table: "shapes") + ["--date-column", "at"]
        flags[flags.firstIndex(of: "2024-01-31")!] = "2024-01-02"
        return flags
    }

    @Test("a partitioned table's int4[], text[], numeric[] and numeric(8,2)[] columns holding 1-D to 3-D values, bounds other than 1, NULL elements and empty arrays restore exactly; verify --deep agrees",
          arguments: ["jsonl", "csv", "parquet"])
    func restoreExactly(format: String) throws {
        let f = try fixture()
        let archived = try f.archive(["--output-format", format], flags: flags(f))
        #expect(archived.status == 0, "\(archived.err)")
        #expect(try f.objects().keys.filter { !$0.contains("/_") }.count == 2)
        let verified = try f.archive(["verify", "--deep", "--against-source"], flags: flags(f))
        #expect(verified.status == 0, "\(verified.out)\(verified.err)")
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        // The manifest's row count and digest gate each load (pg-load --expect-digest): equal after the trip.
        let restored = try f.restore(into: target, [], table: "shapes")
        #expect(restored.status == 0, "\(restored.err)")
        #expect(restored.err.contains("2 restored, 0 failed"), "\(restored.err)")
        try f.copySource("shapes", into: target, as: "source_rows", like: "shapes")
        #expect(try f.difference("source_rows", "shapes", in: target) == [0, 0, 8, 8])
    }

    @Test("the Parquet object: flat LISTs with the shapes in <column>.array_dims, as pyarrow and DuckDB read it")
    func parquetAsReadersSeeIt() throws {
        let f = try fixture()
        let archived = try f.archive(["--output-format", "parquet"], flags: flags(f))
        #expect(archived.status == 0, "\(archived.err)")
        let dir = try TemporaryDirectory()
        let path = try f.download("archives/shapes/2024/01/shapes-2024-01-01.parquet", into: dir)
        let arrow = try python("""
            import pyarrow.parquet as pq, sys
            t = pq.read_table(sys.argv[1]).sort_by('id')
            print(t.schema.names)
            print(pq.read_metadata(sys.argv[1]).metadata[b'pgarchive.array_dims'].decode())
            for c in ['ia', 'ia.array_dims', 'ta', 'ta.array_dims', 'nd', 'nd.array_dims']:
                print(c, t.column(c).to_pylist())
            print(t.schema.field('nd').type)
            """, [path], in: dir, name: "arrow.py")
        #expect(arrow.status == 0, "\(arrow.err)")
        #expect(arrow.out == #"""
            ['id', 'at', 'ia', 'ta', 'na', 'nd', 'ia.array_dims', 'ta.array_dims', 'na.array_dims', 'nd.array_dims']
            {"ia":"ia.array_dims","na":"na.array_dims","nd":"nd.array_dims","ta":"ta.array_dims"}
            ia [[1, 2, 3, None], [1, 2, 3, 4], [], [1, 2], None, [1, 2, 3, 4, 5, 6, 7, 8], [None]]
            ia.array_dims ['[1:2][1:2]', '[0:1][-1:0]', None, None, None, '[1:2][1:2][1:2]', None]
            ta [['a b', None, '{}', '\\'], ['x', 'y', 'z'], [], ['a'], None, [None], [None, None]]
            ta.array_dims ['[1:2][1:2]', '[2:2][1:3]', None, None, None, '[1:1][1:1][1:1]', '[1:1][1:2]']
            nd [[Decimal('1.25'), None, Decimal('-3.50'), Decimal('0.00')], [Decimal('7.00')], [], [Decimal('1.00')], None, [None, None], [Decimal('1.00'), Decimal('2.00')]]
            nd.array_dims ['[1:2][1:2]', '[0:0]', None, None, None, '[1:1][1:1][1:2]', '[1:2][1:1]']
            list<element: decimal128(8, 2)>

            """#, "\(arrow.out)")
        let duck = try python(#"""
            import duckdb, sys
            query = 'SELECT id, ia, "ia.array_dims", na::VARCHAR, "na.array_dims" FROM read_parquet(?) ORDER BY id'
            for row in duckdb.connect().execute(query, [sys.argv[1]]).fetchall():
                print(row)
            """#, [path], in: dir, name: "duck.py")
        #expect(duck.status == 0, "\(duck.err)")
        #expect(duck.out == """
            (1, [1, 2, 3, None], '[1:2][1:2]', '[1.5, NaN]', '[1:2][1:1][1:1]')
            (2, [1, 2, 3, 4], '[0:1][-1:0]', '[1.50, NULL]', '[-5:-4]')
            (3, [], None, '[]', None)
            (4, [1, 2], None, '[1]', None)
            (5, None, None, None, None)
            (6, [1, 2, 3, 4, 5, 6, 7, 8], '[1:2][1:2][1:2]', '[0.00000000000000000001]', '[1:1][1:1][1:1]')
            (7, [None], None, '[NULL]', '[3:3]')

            """, "\(duck.out)")
    }
}
