import Foundation
import Testing
import TestSupport

/// Values at the edges of their types, each archived in every format and loaded back, judged by
/// PostgreSQL (EXCEPT ALL both ways on the rows' text, and the counts).
@Suite("values that make the trip in every format", .enabled(if: Services.postgresEnabled))
struct ValueTripTests {
    let rowfmt = Package.tool("rowfmt")
    let extract = Package.tool("pg-extract")

    /// A database holding `ddl`, which creates table `t`; `back` is created LIKE it.
    func database(_ ddl: String) throws -> ScratchDatabase {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "vt", sessionOptions: referenceOptions)
        try db.sql(ddl + "; CREATE TABLE back (LIKE t)")
        return db
    }

    /// Archives `t` as `format` into `dir` (pg-extract | rowfmt) and loads the file back into `back`
    /// (rowfmt --from format [--schema] | COPY); returns the file written.
    @discardableResult
    func trip(_ db: ScratchDatabase, _ dir: TemporaryDirectory, format: String, options: [String] = []) throws -> String {
        let file = dir.path("t.\(format)"), schema = dir.path("t.schema")
        let describe = try run(extract, ["--relation", "t", "--describe"], environment: db.environment)
        try describe.stdout.write(to: URL(fileURLWithPath: schema))
        let write = try shell("'\(extract)' --relation t | '\(rowfmt)' --from rowstream --to \(format) \(options.joined(separator: " ")) -o '\(file)'",
                              environment: db.environment)
        #expect(write.status == 0, "\(format): \(write.err)")
        try db.sql("TRUNCATE back")
        // Parquet checks its footer's schema against the same file.
        let load = try shell("'\(rowfmt)' --from \(format) --schema '\(schema)' --to rowstream < '\(file)' | \(db.psql) -c 'COPY back FROM STDIN (FORMAT binary)'",
                             environment: db.environment)
        #expect(load.status == 0, "\(format): \(load.err)")
        return file
    }

    /// Every format's trip leaves `back` equal to `t` (`rows` rows each).
    func expectExactTrips(_ ddl: String, rows: Int, formats: [String] = ["jsonl", "csv", "parquet"]) throws {
        let db = try database(ddl)
        let dir = try TemporaryDirectory()
        for format in formats {
            try trip(db, dir, format: format)
            #expect(try db.difference("t", "back") == [0, 0, rows, rows], "\(format)")
        }
    }

    @Test("interval minima (µs, days, months) and maxima parse back without trapping, exactly")
    func intervalExtremes() throws {
        try expectExactTrips("""
            CREATE TABLE t (iv interval, ia interval[]);
            INSERT INTO t VALUES
              (interval '-9223372036854775808 microseconds', NULL),
              (interval '9223372036854775807 microseconds', NULL),
              (make_interval(days => -2147483648), NULL), (make_interval(days => 2147483647), NULL),
              (make_interval(months => -2147483648), NULL), (make_interval(months => 2147483647), NULL),
              (make_interval(months => -2147483648, days => -2147483648) + interval '-9223372036854775808 microseconds',
               ARRAY[interval '-9223372036854775808 microseconds', make_interval(months => -2147483648)]),
              (make_interval(months => 2147483647, days => 2147483647) + interval '9223372036854775807 microseconds', NULL)
            """, rows: 8)
    }

    @Test("an interval beyond the type's range is an error naming it, not a crash")
    func intervalOverflowRefused() throws {
        let schema = #"{"columns":[{"name":"iv","nullable":true,"oid":1186,"type":"interval","typmod":-1}],"partition_key":[],"primary_key":[],"table":{"name":"t","schema":"public"}}"#
        let dir = try TemporaryDirectory()
        try schema.write(toFile: dir.path("s.json"), atomically: true, encoding: .utf8)
        for text in ["-2562047788:00:54.775809", "2562047788:00:54.775808", "99999999999999999 hours", "-178956971 years"] {
            let result = try run(rowfmt, ["--from", "csv", "--schema", dir.path("s.json"), "--to", "rowstream"],
                                 stdin: Data("iv\n\(text)\n".utf8))
            #expect(result.status == 1, "\(text)")
            #expect(result.err.hasPrefix("rowfmt: error: ") && result.err.contains("not a interval"), "\(text): \(result.err)")
        }
    }

    @Test("numerics of 32,768 and more base-10000 digits make the trip in every format")
    func longNumerics() throws {
        // 131,072 integer digits and 16,383 fraction digits: PostgreSQL's limits, 36,864 base-10000 digits.
        try expectExactTrips("""
            CREATE TABLE t (n numeric, na numeric[]);
            INSERT INTO t VALUES
              (('9' || repeat('8', 131071) || '.' || repeat('7', 16383))::numeric, NULL),
              (('-1' || repeat('0', 131068) || '12')::numeric, ARRAY[('1' || repeat('0', 131071))::numeric, 1.5]),
              (('0.' || repeat('0', 100) || repeat('3', 16283))::numeric, NULL),
              (repeat('9', 131072)::numeric, NULL)
            """, rows: 4)
    }

    @Test("DECIMAL(36…38, s) with a scale that is not a multiple of 4 holds its maxima and minima")
    func wideDecimals() throws {
        try expectExactTrips("""
            CREATE TABLE t (a numeric(38,10), b numeric(36,1), c numeric(37,2), d numeric(38,3), e numeric(38,37), f numeric(38,0));
            INSERT INTO t VALUES
              (9999999999999999999999999999.9999999999, 99999999999999999999999999999999999.9,
               99999999999999999999999999999999999.99, 99999999999999999999999999999999999.999,
               9.9999999999999999999999999999999999999, 99999999999999999999999999999999999999),
              (-9999999999999999999999999999.9999999999, -99999999999999999999999999999999999.9,
               -99999999999999999999999999999999999.99, -99999999999999999999999999999999999.999,
               -9.9999999999999999999999999999999999999, -99999999999999999999999999999999999999),
              (0.0000000001, 0.1, 0.01, 0.001, 0.0000000000000000000000000000000000001, 1),
              (1234567890123456789012345678.1234567890, 12345678901234567890123456789012345.6,
               1.5, 2.25, 0, 0)
            """, rows: 4)
    }

    /// The JSONL of `t` next to row_to_json's: one line per row, and every line that does not use the
    /// escape form byte-identical to PostgreSQL's.
    func expectJSONLLines(_ db: ScratchDatabase, _ dir: TemporaryDirectory, rows: Int, escaped: Int) throws {
        let ours = try String(contentsOfFile: dir.path("t.jsonl"), encoding: .utf8)
        let lines = ours.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == rows && ours.hasSuffix("\n"), "\(ours)")
        // Records separated by U+001E: row_to_json keeps a json value's raw newlines.
        let reference = try db.value("SELECT string_agg(row_to_json(r)::text, chr(30)) FROM t r").split(separator: "\u{1E}", omittingEmptySubsequences: false)
        var escapes = 0
        for (i, line) in lines.enumerated() {
            if line.contains("{\"pgarchive.text\":\"") { escapes += 1; continue }
            #expect(i < reference.count && line == reference[i], "row \(i + 1): \(line)")
        }
        #expect(escapes == escaped, "\(ours)")
    }

    @Test("JSONL: json with raw newlines, surrounding white space, JSON null, \\u0000 or a lone surrogate is one line and exact; the rest equals row_to_json")
    func jsonValuesInJSONL() throws {
        let ddl = #"""
            CREATE TABLE t (id int, j json, jb jsonb);
            INSERT INTO t VALUES
              (1, E'{\n  "a": 1,\n  "b": [1, 2]\n}', '{"a": 1}'),
              (2, '  {"a":1}  ', 'null'),
              (3, E'\t[1]\r\n', '"s"'),
              (4, 'null', '[null]'),
              (5, ' null', NULL),
              (6, '"\u0000"', NULL),
              (7, '{"k": "\ud800", "\u0000": ["\udfff"]}', NULL),
              (8, '"\ud800"', NULL),
              (9, '{"pgarchive.text":"x"}', '{"pgarchive.text": "x"}'),
              (10, '{"pgarchive.text": "x"}', '{"pgarchive.text": {"a": 1}}'),
              (11, '"pgarchive.text"', '"{\"pgarchive.text\":\"x\"}"'),
              (12, '1.50', '1.50'),
              (13, '{"a" : [ 1 , 2 ] ,"b":{}}', '{"a": [1, 2]}'),
              (14, NULL, NULL)
            """#
        let db = try database(ddl)
        let dir = try TemporaryDirectory()
        for format in ["jsonl", "csv", "parquet"] {
            try trip(db, dir, format: format)
            #expect(try db.difference("t", "back") == [0, 0, 14, 14], "\(format)")
        }
        // Rows 1, 2, 3, 5 (json), 2, 4 (JSON null), 9 (the escape's own opening).
        try expectJSONLLines(db, dir, rows: 14, escaped: 6)
    }

    @Test("JSONL keeps json nulls inside json[] and jsonb[] and array lower bounds; every format keeps them")
    func arrayEdgesInJSONL() throws {
        let ddl = #"""
            CREATE TABLE t (ja json[], jba jsonb[], ia int[], ta text[]);
            INSERT INTO t VALUES
              (ARRAY['null'::json, NULL, '1'], ARRAY['null'::jsonb, NULL], '[0:1]={7,8}', '[-3:-2]={a,NULL}'),
              (ARRAY[E'{\n}'::json, ' 2'], ARRAY['{"a": null}'::jsonb], '{1,2}', '{}'),
              ('[2:3]={"[1]","null"}'::json[], '{}'::jsonb[], '{}', '{"pgarchive.text"}'),
              (ARRAY['[1,2]'::json, '[3]'], ARRAY['[1]'::jsonb, '{"pgarchive.text": "x"}'], NULL, NULL)
            """#
        let db = try database(ddl)
        let dir = try TemporaryDirectory()
        for (format, options) in [("jsonl", []), ("csv", []), ("parquet", []), ("parquet", ["--special-values-as-text"])] {
            // Parquet: lower bounds in the companion <column>.array_dims column, or in the array text.
            try trip(db, dir, format: format, options: options)
            #expect(try db.difference("t", "back") == [0, 0, 4, 4], "\(format) \(options)")
        }
        try trip(db, dir, format: "jsonl")
        try expectJSONLLines(db, dir, rows: 4, escaped: 3)
    }

    @Test("2-D to 6-D array values in columns declared with one dimension or none make the trip in every format, Parquet with no flag")
    func multidimensionalArrays() throws {
        let ddl = #"""
            CREATE TABLE p (id int, ia int[], ta text[], na numeric[], ja jsonb[], da date[]) PARTITION BY RANGE (id);
            CREATE TABLE t PARTITION OF p FOR VALUES FROM (0) TO (100);
            INSERT INTO t VALUES
              (1, '{{1,2},{3,NULL}}', '{{"a b",NULL},{"{}","\\"}}', '{{{1.5}},{{NaN}}}', '{{"{\"a\": 1}",null},{"[1]","2"}}', '{{2024-01-01},{infinity}}'),
              (2, '[0:1][-1:0]={{1,2},{3,4}}', '[2:2][1:3]={{x,y,z}}', '{1.50}', '{"null"}', NULL),
              (3, '{{{1},{2}},{{3},{4}}}', '{}', '{}', '{}', '{}'),
              (4, '{{{{{{1}}}}}}', '{{a}}', NULL, '{{"[1]"}}', NULL),
              (5, '{1,2}', '{a}', '{1}', '{"1"}', '{2024-01-01}')
            """#
        let db = try database(ddl)
        #expect(try db.value("SELECT string_agg(attndims::text, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 0") == "0,0,0,0,0,0")
        let dir = try TemporaryDirectory()
        for (format, options) in [("jsonl", []), ("csv", []), ("parquet", []), ("parquet", ["--special-values-as-text"])] {
            try trip(db, dir, format: format, options: options)
            #expect(try db.difference("t", "back") == [0, 0, 5, 5], "\(format) \(options)")
        }
        // row_to_json's nested arrays where they are exact (rows 3 and 5, and row 4 but for its json).
        try trip(db, dir, format: "jsonl")
        try expectJSONLLines(db, dir, rows: 5, escaped: 3)
        try trip(db, dir, format: "csv")
        #expect(try String(contentsOfFile: dir.path("t.csv"), encoding: .utf8) == (try db.sql("COPY t TO STDOUT (FORMAT csv, HEADER)")))
        // Parquet without the option: flat LISTs, and each value's array_dims() beside them.
        let file = try trip(db, dir, format: "parquet")
        let dims = try run(try which("python3"), ["-c", """
            import pyarrow.parquet as pq, sys
            t = pq.read_table(sys.argv[1]).sort_by('id')
            print(t.column('ia').to_pylist(), t.column('ia.array_dims').to_pylist())
            """, file])
        #expect(dims.out == "[[1, 2, 3, None], [1, 2, 3, 4], [1, 2, 3, 4], [1], [1, 2]] "
                + "['[1:2][1:2]', '[0:1][-1:0]', '[1:2][1:2][1:1]', '[1:1][1:1][1:1][1:1][1:1][1:1]', None]\n", "\(dims.err)")
    }

    @Test("Parquet: ±infinity dates and timestamps are DuckDB's sentinels, read back as infinity by rowfmt and DuckDB; pyarrow sees the raw values")
    func parquetInfinities() throws {
        let ddl = """
            CREATE TABLE t (d date, ts timestamp, tstz timestamptz, da date[], tsa timestamptz[]);
            INSERT INTO t VALUES
              ('infinity', 'infinity', 'infinity', '{infinity,-infinity,2024-01-01}', '{infinity,NULL}'),
              ('-infinity', '-infinity', '-infinity', NULL, '{-infinity}'),
              ('2024-01-01', '2024-01-01 12:00', '2024-01-01 12:00+00', '{2024-01-01}', '{"2024-01-01 00:00:00.5+00"}'),
              ('5874897-12-31', '294246-12-31 23:59:59.999999', '4713-11-24 00:00:00+00 BC', '{"4713-11-24 BC"}', NULL)
            """
        let db = try database(ddl)
        let dir = try TemporaryDirectory()
        for format in ["jsonl", "csv", "parquet"] {
            try trip(db, dir, format: format)
            #expect(try db.difference("t", "back") == [0, 0, 4, 4], "\(format)")
        }
        let file = try trip(db, dir, format: "parquet")
        let duck = try run(try which("python3"), ["-c", """
            import duckdb, sys
            for row in duckdb.sql(f"SELECT d::VARCHAR, ts::VARCHAR, tstz::VARCHAR, da::VARCHAR, tsa::VARCHAR FROM read_parquet('{sys.argv[1]}') LIMIT 2").fetchall():
                print(row)
            """, file])
        #expect(duck.out == """
            ('infinity', 'infinity', 'infinity', '[infinity, -infinity, 2024-01-01]', '[infinity, NULL]')
            ('-infinity', '-infinity', '-infinity', None, '[-infinity]')

            """, "\(duck.err)")
        // pyarrow keeps the raw sentinels (its date and datetime conversions refuse them: docs/types.md).
        let arrow = try run(try which("python3"), ["-c", """
            import pyarrow.parquet as pq, sys
            t = pq.read_table(sys.argv[1])
            print(t.column('d').cast('int32').to_pylist()[:2], t.column('ts').cast('int64').to_pylist()[:2])
            try:
                t.column('d').to_pylist()
            except OverflowError:
                print('OverflowError')
            """, file])
        #expect(arrow.out == "[2147483647, -2147483647] [9223372036854775807, -9223372036854775807]\nOverflowError\n", "\(arrow.err)")
    }

    @Test("Parquet from other writers: ±(2^63 − 1) in MILLIS and NANOS timestamps and ±(2^31 − 1) dates are ±infinity, mapped before the unit")
    func foreignInfinities() throws {
        let dir = try TemporaryDirectory()
        let write = try run(try which("python3"), ["-c", """
            import pyarrow as pa, pyarrow.parquet as pq, sys
            m = 2**63 - 1
            pq.write_table(pa.table({
                'ms': pa.array([m, -m, 1704110400000], pa.timestamp('ms')),
                'ns': pa.array([m, -m, 1704110400000000500], pa.timestamp('ns', tz='UTC')),
                'd': pa.array([2**31 - 1, -(2**31 - 1), 19723], pa.date32())}), sys.argv[1])
            """, dir.path("u.parquet")])
        #expect(write.status == 0, "\(write.err)")
        let csv = try run(rowfmt, ["--from", "parquet", "--to", "csv", dir.path("u.parquet")])
        #expect(csv.status == 0, "\(csv.err)")
        #expect(csv.out == "ms,ns,d\ninfinity,infinity,infinity\n-infinity,-infinity,-infinity\n2024-01-01 12:00:00,2024-01-01 12:00:00+00,2024-01-01\n")
    }

    @Test("xml with a declaration: CSV equals COPY, JSONL equals row_to_json, and the trip is exact in every format")
    func xmlDeclarations() throws {
        let ddl = """
            CREATE DOMAIN doc AS xml;
            CREATE TABLE t (doc1 xml, doc2 doc);
            INSERT INTO t VALUES
              ('<?xml version="1.0" encoding="UTF-8"?><a>1</a>', '<?xml version="1.0"?><d/>'),
              (E'<?xml version="1.0" standalone="yes"?>\\n<b/>', '<?xml version="1.0" encoding="utf-8" standalone="no"?><f/>'),
              ('<c/>', 'text node'),
              (NULL, NULL)
            """
        let db = try database(ddl)
        // xml travels as text (pg-load casts it back): plain COPY loads it into text columns.
        try db.sql("DROP TABLE back; CREATE TABLE back (doc1 text, doc2 text)")
        let dir = try TemporaryDirectory()
        for format in ["jsonl", "csv", "parquet"] {
            try trip(db, dir, format: format)
            #expect(try db.difference("t", "back") == [0, 0, 4, 4], "\(format)")
        }
        try trip(db, dir, format: "csv")
        #expect(try String(contentsOfFile: dir.path("t.csv"), encoding: .utf8) == (try db.sql("COPY t TO STDOUT (FORMAT csv, HEADER)")))
        try trip(db, dir, format: "jsonl")
        try expectJSONLLines(db, dir, rows: 4, escaped: 0)
    }

    @Test("Parquet with --schema: a footer schema that differs from it, or no footer schema, refuses the file before any row")
    func parquetFooterAgainstSchema() throws {
        let db = try database("CREATE TABLE t (id int NOT NULL, fare numeric(10,2), label text); INSERT INTO t VALUES (1, 1.50, 'a')")
        let dir = try TemporaryDirectory()
        let file = try trip(db, dir, format: "parquet")
        #expect(try db.difference("t", "back") == [0, 0, 1, 1])
        let good = try String(contentsOfFile: dir.path("t.schema"), encoding: .utf8)
        for (edited, difference) in [
            (good.replacingOccurrences(of: "numeric(10,2)", with: "numeric(10,3)").replacingOccurrences(of: "655366", with: "655367"),
             "column \"fare\" as numeric(10,2) where the schema file has numeric(10,3)"),
            (good.replacingOccurrences(of: "\"name\":\"label\"", with: "\"name\":\"note\""), "column 3 \"label\" where the schema file has \"note\""),
            (good.replacingOccurrences(of: "\"nullable\":false", with: "\"nullable\":true"),
             "column \"id\" as integer where the schema file has integer (nullability, OID, typmod or labels differ)"),
            (good.replacingOccurrences(of: "\"name\":\"t\"", with: "\"name\":\"u\""), "table public.t where the schema file has public.u"),
        ] {
            #expect(edited != good)
            try edited.write(toFile: dir.path("other.schema"), atomically: true, encoding: .utf8)
            let result = try run(rowfmt, ["--from", "parquet", "--schema", dir.path("other.schema"), "--to", "csv", file])
            #expect(result.status == 1)
            #expect(result.out.isEmpty)
            #expect(result.err == "rowfmt: error: \"\(file)\": the pgarchive.schema footer key differs from the schema file \"\(dir.path("other.schema"))\": \(difference)\n")
        }
        let plain = try run(try which("python3"), ["-c", "import pyarrow as pa, pyarrow.parquet as pq, sys; pq.write_table(pa.table({'id': pa.array([1], pa.int32())}), sys.argv[1])",
                                                   dir.path("plain.parquet")])
        #expect(plain.status == 0, "\(plain.err)")
        let unchecked = try run(rowfmt, ["--from", "parquet", "--schema", dir.path("t.schema"), "--to", "csv", dir.path("plain.parquet")])
        #expect(unchecked.status == 1)
        #expect(unchecked.err == "rowfmt: error: \"\(dir.path("plain.parquet"))\" has no pgarchive.schema footer key to check against the schema file \"\(dir.path("t.schema"))\"\n")
    }

    @Test("Parquet: an array_dims value that does not fit its list, or a footer naming a missing companion, refuses the file by name")
    func arrayDimsChecked() throws {
        let db = try database("CREATE TABLE t (id int, ia int[]); INSERT INTO t VALUES (1, '{{1,2},{3,4}}'), (2, '{5}')")
        let dir = try TemporaryDirectory()
        let file = try trip(db, dir, format: "parquet")
        #expect(try db.difference("t", "back") == [0, 0, 2, 2])
        // pyarrow rewrites the file with one changed companion value, or without the companion column,
        // keeping our footer keys (pyarrow carries them in the schema's metadata).
        for (name, edit, message) in [
            ("shape", "t = t.set_column(2, 'ia.array_dims', pa.array(['[1:3][1:2]', None]))",
             "row group 0, row 1, column \"ia\": array dimensions \"[1:3][1:2]\" do not hold the 4 elements of the list"),
            ("text", "t = t.set_column(2, 'ia.array_dims', pa.array([None, '[1:1]x']))",
             "row group 0, row 2, column \"ia\": not array dimensions: \"[1:1]x\""),
            ("missing", "t = t.drop_columns(['ia.array_dims'])",
             "the pgarchive.array_dims footer key names the dimensions column \"ia.array_dims\", which the file lacks or which is not a STRING column"),
        ] {
            let edited = dir.path("\(name).parquet")
            let write = try run(try which("python3"), ["-c", """
                import pyarrow as pa, pyarrow.parquet as pq, sys
                t = pq.read_table(sys.argv[1])
                \(edit)
                pq.write_table(t.replace_schema_metadata(pq.read_schema(sys.argv[1]).metadata), sys.argv[2])
                """, file, edited])
            #expect(write.status == 0, "\(write.err)")
            let result = try run(rowfmt, ["--from", "parquet", "--to", "csv", edited])
            #expect(result.status == 1, "\(name)")
            #expect(result.err == "rowfmt: error: \"\(edited)\": \(message)\n", "\(name)")
        }
    }

    @Test("Parquet: a table column already named <array>.array_dims pushes the companion to <array>.array_dims_, exactly")
    func arrayDimsNameTaken() throws {
        let db = try database(#"CREATE TABLE t (ia int[], "ia.array_dims" text); INSERT INTO t VALUES ('[0:1]={1,2}', 'mine'), ('{3}', NULL)"#)
        let dir = try TemporaryDirectory()
        let file = try trip(db, dir, format: "parquet")
        #expect(try db.difference("t", "back") == [0, 0, 2, 2])
        let names = try run(try which("python3"), ["-c", """
            import pyarrow.parquet as pq, sys
            t = pq.read_table(sys.argv[1])
            print(t.schema.names, t.column('ia.array_dims').to_pylist(), t.column('ia.array_dims_').to_pylist())
            print(pq.read_metadata(sys.argv[1]).metadata[b'pgarchive.array_dims'].decode())
            """, file])
        #expect(names.out == "['ia', 'ia.array_dims', 'ia.array_dims_'] ['mine', None] ['[0:1]', None]\n{\"ia\":\"ia.array_dims_\"}\n", "\(names.err)")
    }

    @Test("inference (no --schema) reads the escape form as the column's text form, never as a jsonb object")
    func inferenceReadsEscapes() throws {
        let jsonl = """
            {"j":{"a":1},"a":{"pgarchive.text":"[0:1]={7,8}"}}
            {"j":{"pgarchive.text":"null"},"a":null}
            {"j":null,"a":{"pgarchive.text":"{{1,2}}"}}

            """
        let result = try run(rowfmt, ["--from", "jsonl", "--to", "csv"], stdin: Data(jsonl.utf8))
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out == "j,a\n\"{\"\"a\"\":1}\",\"[0:1]={7,8}\"\nnull,\n,\"{{1,2}}\"\n")
    }
}
