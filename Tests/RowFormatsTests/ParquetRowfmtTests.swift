import Foundation
import RowStream
import Testing
import TestSupport

/// Makes the typed table hold only values Parquet's native types can carry (no ±infinity, no
/// timestamps beyond year 294247, no NaN in numeric(10,2)), as a table `finite` with a `copy_of_finite`.
let finiteTableSQL = """
    UPDATE everything SET d = NULL WHERE d IN ('infinity', '-infinity');
    UPDATE everything SET ts = NULL WHERE ts IN ('infinity', '-infinity') OR ts > '200000-01-01';
    UPDATE everything SET tstz = NULL WHERE tstz IN ('infinity', '-infinity');
    UPDATE everything SET tsa = '{"2024-01-01 00:00:00.25+00",NULL,"0044-03-15 12:00:00+00 BC"}' WHERE tsa IS NOT NULL AND cardinality(tsa) > 0;
    UPDATE everything SET da = '{2024-01-01,NULL,"0044-03-15 BC"}' WHERE da IS NOT NULL AND cardinality(da) > 0;
    CREATE TABLE finite AS SELECT * FROM everything;
    CREATE TABLE copy_of_finite (LIKE finite);
    """

/// pyarrow's type of each column of the typed table written with the default options.
let expectedArrowTypes = [
    "i2: int16", "i4: int32", "i8: int64", "f4: float", "f8: double", "n: string", "n2: decimal128(10, 2)",
    "t: string", "vc: string", "c: string", "nm: string", "b: bool", "d: date32[day]", "ts: timestamp[us]",
    "tstz: timestamp[us, tz=UTC]", "tm: time64[us]", "tmtz: string", "iv: string", "u: extension<arrow.uuid>",
    "j: extension<arrow.json>", "jb: extension<arrow.json>", "by: binary", "ip: string", "net: string", "mac: string",
    "ia: list<element: int32>", "ta: list<element: string>", "m: string", "ma: list<element: string>",
    "odd, \"name\": string", "tsa: list<element: timestamp[us, tz=UTC]>", "na: list<element: string>",
    "ba: list<element: bool>", "ja: list<element: extension<arrow.json>>", "fa: list<element: double>",
    "da: list<element: date32[day]>", "ua: list<element: extension<arrow.uuid>>", "bya: list<element: binary>",
] + arrayDimsColumns.map { "\($0).array_dims: string" }

/// DuckDB's type of each column of the same file.
let expectedDuckDBTypes = [
    "i2: SMALLINT", "i4: INTEGER", "i8: BIGINT", "f4: FLOAT", "f8: DOUBLE", "n: VARCHAR", "n2: DECIMAL(10,2)",
    "t: VARCHAR", "vc: VARCHAR", "c: VARCHAR", "nm: VARCHAR", "b: BOOLEAN", "d: DATE", "ts: TIMESTAMP",
    "tstz: TIMESTAMP WITH TIME ZONE", "tm: TIME", "tmtz: VARCHAR", "iv: VARCHAR", "u: UUID", "j: JSON", "jb: JSON",
    "by: BLOB", "ip: VARCHAR", "net: VARCHAR", "mac: VARCHAR", "ia: INTEGER[]", "ta: VARCHAR[]", "m: VARCHAR",
    "ma: VARCHAR[]", "odd, \"name\": VARCHAR", "tsa: TIMESTAMP WITH TIME ZONE[]", "na: VARCHAR[]", "ba: BOOLEAN[]",
    "ja: JSON[]", "fa: DOUBLE[]", "da: DATE[]", "ua: UUID[]", "bya: BLOB[]",
] + arrayDimsColumns.map { "\($0).array_dims: VARCHAR" } + ["rows: 6"]

/// The typed table's array columns: each has a companion `<name>.array_dims` STRING column, after the table's columns.
let arrayDimsColumns = ["ia", "ta", "ma", "tsa", "na", "ba", "ja", "fa", "da", "ua", "bya"]

extension RowfmtPostgresTests {
    /// The typed table reduced to `finite`, its rowstream in `dir/f.rowstream`.
    func finiteTable(_ dir: TemporaryDirectory) throws -> ScratchDatabase {
        let db = try typedTable(dir)
        try db.sql(finiteTableSQL)
        let stream = try run(extract, ["--relation", "finite"], stdoutFile: dir.path("f.rowstream"), environment: db.environment)
        #expect(stream.status == 0, "\(stream.err)")
        return db
    }

    /// Loads `parquet` back through `rowfmt --from parquet --to rowstream` into `table`.
    func load(_ db: ScratchDatabase, parquet: String, into table: String) throws {
        let result = try shell("'\(rowfmt)' --from parquet --to rowstream < '\(parquet)' | \(db.psql) -c 'COPY \(table) FROM STDIN (FORMAT binary)'",
                               environment: db.environment)
        #expect(result.status == 0, "\(result.err)")
    }

    @Test("pyarrow and DuckDB read the typed table with the documented logical types and PostgreSQL's values")
    func parquetJudgedByPyarrowAndDuckDB() throws {
        let dir = try TemporaryDirectory()
        let db = try finiteTable(dir)
        let write = try run(rowfmt, ["--from", "rowstream", "--to", "parquet", dir.path("f.rowstream"), "-o", dir.path("f.parquet")])
        #expect(write.status == 0, "\(write.err)")
        let reference = try shell("\(db.psql) -A -t -c 'SELECT row_to_json(r) FROM finite r' > '\(dir.path("pg.jsonl"))'", environment: db.environment)
        #expect(reference.status == 0, "\(reference.err)")
        let judged = try python(pyarrowJudgeScript, [dir.path("f.parquet"), dir.path("pg.jsonl")], in: dir, name: "judge.py")
        #expect(judged.status == 0, "\(judged.out.suffix(3000))\(judged.err)")
        let lines = judged.out.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(expectedArrowTypes.count)) == expectedArrowTypes, "\(lines.prefix(expectedArrowTypes.count))")
        let duck = try python(duckdbDescribeScript, [dir.path("f.parquet")], in: dir, name: "duck.py")
        #expect(duck.status == 0, "\(duck.err)")
        #expect(duck.out.split(separator: "\n").map(String.init) == expectedDuckDBTypes)
        let footer = try python("import pyarrow.parquet as pq, sys; print(pq.read_metadata(sys.argv[1]).metadata[b'pgarchive.schema'].decode())",
                                [dir.path("f.parquet")], in: dir, name: "footer.py")
        let describe = try run(extract, ["--relation", "finite", "--describe"], environment: db.environment)
        #expect(footer.out.trimmingCharacters(in: .whitespacesAndNewlines) == describe.out.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test("PostgreSQL → parquet → rowstream → PostgreSQL is exact for every codec (EXCEPT ALL both ways)",
          arguments: ["zstd", "lz4", "gzip", "none"])
    func parquetRoundTrip(codec: String) throws {
        let dir = try TemporaryDirectory()
        let db = try finiteTable(dir)
        let write = try run(rowfmt, ["--from", "rowstream", "--to", "parquet", "--compression", codec, dir.path("f.rowstream"), "-o", dir.path("f.parquet")])
        #expect(write.status == 0, "\(write.err)")
        // DuckDB names the codec as the file does (pyarrow calls LZ4_RAW "LZ4").
        let codecs = try python("import duckdb, sys; print(duckdb.sql(f\"SELECT DISTINCT compression FROM parquet_metadata('{sys.argv[1]}')\").fetchall())",
                                [dir.path("f.parquet")], in: dir, name: "codec.py")
        #expect(codecs.out == "[('\(["zstd": "ZSTD", "lz4": "LZ4_RAW", "gzip": "GZIP", "none": "UNCOMPRESSED"][codec]!)',)]\n", "\(codecs.err)")
        try load(db, parquet: dir.path("f.parquet"), into: "copy_of_finite")
        #expect(try db.difference("finite", "copy_of_finite") == [0, 0, 6, 6])
    }

    @Test("NaN numerics in DECIMAL and timestamps past the year 294247 fail by default, naming column, row and the option")
    func specialValuesFail() throws {
        let dir = try TemporaryDirectory()
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "rf", sessionOptions: referenceOptions)
        try db.sql("""
            CREATE TABLE sn (id int, n numeric(10,2)); INSERT INTO sn VALUES (1, 1.5), (2, 'NaN');
            CREATE TABLE sd (id int, d timestamp); INSERT INTO sd VALUES (1, '2024-01-01'), (2, '294270-01-01');
            """)
        let option = "; use --special-values-as-text to write numeric(p,s), date, timestamp and array columns as text\n"
        for (table, message) in [
            ("sn", "rowfmt: error: column \"n\", row 2: numeric NaN cannot be stored in a Parquet DECIMAL(10,2)" + option),
            ("sd", "rowfmt: error: column \"d\", row 2: timestamp beyond year 294247 cannot be stored in a Parquet TIMESTAMP (µs since 1970 in 64 bits)" + option),
        ] {
            let result = try shell("'\(extract)' --relation \(table) | '\(rowfmt)' --from rowstream --to parquet -o '\(dir.path("s.parquet"))'",
                                   environment: db.environment)
            #expect(result.status == 1)
            #expect(result.err == message)
            #expect(!FileManager.default.fileExists(atPath: dir.path("s.parquet")))
        }
    }

    @Test("--special-values-as-text keeps NaN, infinity and every value of the typed table, as STRING columns, for every codec",
          arguments: ["zstd", "lz4", "gzip", "none"])
    func specialValuesAsText(codec: String) throws {
        let dir = try TemporaryDirectory()
        let db = try typedTable(dir)
        let write = try run(rowfmt, ["--from", "rowstream", "--to", "parquet", "--special-values-as-text", "--compression", codec,
                                     dir.path("t.rowstream"), "-o", dir.path("t.parquet")])
        #expect(write.status == 0, "\(write.err)")
        let types = try python("import pyarrow.parquet as pq, sys; s = pq.read_schema(sys.argv[1]); print([str(s.field(c).type) for c in ['n2', 'd', 'ts', 'tstz', 'ia', 'i4']])",
                               [dir.path("t.parquet")], in: dir, name: "types.py")
        #expect(types.out == "['string', 'string', 'string', 'string', 'string', 'int32']\n", "\(types.err)")
        try load(db, parquet: dir.path("t.parquet"), into: "copy_of_everything")
        #expect(try db.difference("everything", "copy_of_everything") == [0, 0, 6, 6])
    }

    @Test("a small --row-group-size gives at least 3 row groups that pyarrow sees, with peak RSS near one row group")
    func rowGroupsBoundMemory() throws {
        let dir = try TemporaryDirectory()
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "rf", sessionOptions: referenceOptions)
        try db.sql("""
            CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS label, g * 1.5 AS amount
            FROM generate_series(1, 600000) g;
            """)
        let stream = try run(extract, ["--relation", "big"], stdoutFile: dir.path("big.rowstream"), environment: db.environment)
        #expect(stream.status == 0, "\(stream.err)")
        let size = try FileManager.default.attributesOfItem(atPath: dir.path("big.rowstream"))[.size] as! Int
        #expect(size > 50_000_000)
        let write = try shell("/usr/bin/time -f 'rss %M' '\(rowfmt)' --from rowstream --to parquet --row-group-size 4M"
                              + " < '\(dir.path("big.rowstream"))' > '\(dir.path("big.parquet"))'")
        #expect(write.status == 0, "\(write.err)")
        let rssKiB = Int(write.err.split(separator: "\n").last { $0.hasPrefix("rss ") }?.dropFirst(4) ?? "") ?? .max
        // One 4 MiB row group, its compressed copy and the binary's own ~20 MiB, against a 50+ MB input.
        #expect(rssKiB < 45_000, "peak RSS \(rssKiB) KiB")
        let groups = try python("import pyarrow.parquet as pq, sys; m = pq.read_metadata(sys.argv[1]); print(m.num_row_groups, m.num_rows)",
                                [dir.path("big.parquet")], in: dir, name: "groups.py")
        let parts = groups.out.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(parts.count == 2 && parts[0] >= 3 && parts[1] == 600_000, "\(groups.out)\(groups.err)")
        try db.sql("CREATE TABLE copy_of_big (LIKE big)")
        try load(db, parquet: dir.path("big.parquet"), into: "copy_of_big")
        #expect(try db.difference("big", "copy_of_big") == [0, 0, 600_000, 600_000])
    }

    @Test("--chunk-size caps the rows of a row group")
    func chunkSizeCapsRowGroups() throws {
        let dir = try TemporaryDirectory()
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "rf", sessionOptions: referenceOptions)
        try db.sql("CREATE TABLE few AS SELECT g AS id FROM generate_series(1, 2500) g")
        let result = try shell("'\(extract)' --relation few | '\(rowfmt)' --from rowstream --to parquet --chunk-size 1000 -o '\(dir.path("few.parquet"))'",
                               environment: db.environment)
        #expect(result.status == 0, "\(result.err)")
        let groups = try python("import pyarrow.parquet as pq, sys; m = pq.read_metadata(sys.argv[1]); print([m.row_group(i).num_rows for i in range(m.num_row_groups)])",
                                [dir.path("few.parquet")], in: dir, name: "groups.py")
        #expect(groups.out == "[1000, 1000, 500]\n", "\(groups.err)")
    }

    @Test("a 0-row stream gives a valid 0-row file with the schema, which reads back as 0 rows")
    func emptyStream() throws {
        let dir = try TemporaryDirectory()
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "rf", sessionOptions: referenceOptions)
        try db.sql("CREATE TABLE e (id bigint, label text, at timestamptz)")
        let write = try shell("'\(extract)' --relation e | '\(rowfmt)' --from rowstream --to parquet -o '\(dir.path("e.parquet"))'",
                              environment: db.environment)
        #expect(write.status == 0, "\(write.err)")
        let judged = try python("import pyarrow.parquet as pq, sys; t = pq.read_table(sys.argv[1]); print(t.num_rows, t.schema.names, str(t.schema.field('at').type))",
                                [dir.path("e.parquet")], in: dir, name: "e.py")
        #expect(judged.out == "0 ['id', 'label', 'at'] timestamp[us, tz=UTC]\n", "\(judged.err)")
        let back = try run(rowfmt, ["--from", "parquet", "--to", "csv", dir.path("e.parquet")])
        #expect(back.status == 0 && back.out == "id,label,at\n", "\(back.err)")
    }
}
