import Foundation
import Testing
import TestSupport

/// The formats restore is tested with (Parquet joins when rowfmt reads it).
let restoreFormats = ["jsonl", "csv", "parquet"]
let restoreCodecs = ["zstd", "lz4", "gzip", "none"]

extension ArchiveFixture {
    /// `data-archiver restore` into `database` with the fixture's destination.
    @discardableResult
    func restore(into database: String, _ arguments: [String], table: String = "flights",
                 template: String = "archives/{table}/{YYYY}/{MM}") throws -> ProcessResult {
        let flags = ["restore", "--db-host", pg.host, "--db-port", pg.port, "--db-user", pg.user, "--db-name", database,
                     "--table", table, "--s3-endpoint", s3.endpoint, "--s3-bucket", bucket, "--path-template", template,
                     "--start-date", "2024-01-01", "--end-date", "2024-12-31", "--workers", "2"]
        return try run(Package.tool("data-archiver"), flags + arguments, environment: environment())
    }

    /// SQL in another database of the same server, output trimmed.
    func sql(_ text: String, in database: String) throws -> String {
        try pg.psql(text, database: database).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Copies the source relation into `database` as table `name` (psql's text COPY on both
    /// sides), so the two can be compared there with EXCEPT ALL.
    func copySource(_ relation: String, into database: String, as name: String, like target: String) throws {
        try pg.psql("CREATE TABLE \(name) (LIKE \(target))", database: database)
        let env = pg.environment(database: database)
        let psql = "\(pg.binDirectory)/psql -X -q -v ON_ERROR_STOP=1"
        let result = try shell("PGDATABASE=\(self.database) \(psql) -c 'COPY (SELECT * FROM \(relation)) TO STDOUT' | \(psql) -c 'COPY \(name) FROM STDIN'",
                               environment: env)
        guard result.status == 0 else { throw TestFailure("copying \(relation) failed: \(result.err)") }
    }

    /// A table's columns as `name type, …` (format_type, in column order).
    func columnTypes(_ table: String, in database: String) throws -> String {
        try sql("SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = '\(table)'::regclass AND attnum > 0 AND NOT attisdropped",
                in: database)
    }

    /// Rows of a missing from b, rows of b missing from a (as row text), and both counts.
    func difference(_ a: String, _ b: String, in database: String) throws -> [Int] {
        try pg.rowDifference(a, b, database: database)
    }

    /// The typed test table `typed` (an enum, arrays, NaN, ±infinity, every awkward text) with three rows on 2024-01-01.
    func createTypedTable() throws {
        try pg.psql("""
            CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy ''quoted''');
            CREATE TABLE typed (
              id bigint PRIMARY KEY, at timestamptz NOT NULL, n numeric, n2 numeric(10,2), f8 float8, t text, c char(5),
              b bool, d date, ts timestamp, tmtz timetz, iv interval, u uuid, jb jsonb, by bytea, ip inet, ia int[],
              ta text[], m mood NOT NULL, ma mood[], r int4range);
            INSERT INTO typed VALUES
              (1, '2024-01-01 10:00+00', 'NaN', -99999999.99, 'Infinity', E'quote'' dquote" back\\\\slash\\nline', 'ab',
               false, '-infinity', '0001-01-01 00:00:00', '00:00:00+14', '-178000000 years', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
               '{"b": 1.50, "a": "x"}', '\\x00ff10', '2001:db8::1/64', '{1,NULL,-3}', '{"a",NULL,"b,c"}', 'happy ''quoted''',
               '{sad,NULL,ok}', '[1,5)'),
              (2, '2024-01-01 23:59:59.999999+00', '123456789012345678901234567890.1234567', 0, 1.5e300, '', 'abcde', true,
               '2024-02-29', '2024-02-29 12:34:56.5', '23:59:59.999999-12', '1 year 2 mons 3 days 04:05:06.789', NULL,
               '[]', '', '10.0.0.1', '{}', '{}', 'sad', '{}', 'empty'),
              (3, '2024-01-01 00:00+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, 'ok', NULL, NULL);
            """, database: database)
    }

    /// Puts an object with boto3 (an independent client), with optional metadata.
    func put(_ key: String, file: String, metadata: [String: String] = [:]) throws {
        let script = """
            import boto3, json, sys
            boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1").put_object(
                Bucket=sys.argv[2], Key=sys.argv[3], Body=open(sys.argv[4], "rb").read(), Metadata=json.loads(sys.argv[5]))
            """
        let meta = String(decoding: try JSONSerialization.data(withJSONObject: metadata), as: UTF8.self)
        let result = try run("python3", ["-c", script, s3.endpoint, bucket, key, file, meta], environment: s3.environment)
        guard result.status == 0 else { throw TestFailure("boto3 put of \(key) failed: \(result.err)") }
    }

    /// An object's user metadata, through boto3.
    func metadata(_ key: String) throws -> [String: String] {
        let script = """
            import boto3, json, sys
            print(json.dumps(boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1").head_object(Bucket=sys.argv[2], Key=sys.argv[3])["Metadata"]))
            """
        let result = try run("python3", ["-c", script, s3.endpoint, bucket, key], environment: s3.environment)
        return (try JSONSerialization.jsonObject(with: result.stdout)) as? [String: String] ?? [:]
    }
}

@Suite("data-archiver restore", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct RestoreTests {
    @Test("archive then restore into a fresh database: every row back, exactly, into real partitions", arguments: restoreFormats, restoreCodecs)
    func roundTrip(format: String, codec: String) throws {
        let f = try ArchiveFixture(days: 3, rowsPerDay: 200)
        let archived = try f.archive(["--output-format", format, "--compression", codec])
        #expect(archived.status == 0, "\(archived.err)")
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let restored = try f.restore(into: target, ["--table-partition-range", "daily"])
        #expect(restored.status == 0, "\(restored.err)")
        #expect(restored.err.contains("3 restored, 0 failed"), "\(restored.err)")
        try f.copySource("flights", into: target, as: "source_rows", like: "flights")
        #expect(try f.difference("source_rows", "flights", in: target) == [0, 0, 600, 600])
        #expect(try f.sql("""
            SELECT string_agg(c.relname || ':' || c.relispartition, ' ' ORDER BY c.relname)
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'flights'::regclass
            """, in: target) == "flights_20240101:true flights_20240102:true flights_20240103:true")
        #expect(try f.sql("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'flights'::regclass AND contype = 'p'",
                          in: target) == "PRIMARY KEY (id, departure)")
    }

    @Test("a typed table with an enum, NaN and infinities restores exactly from JSONL, CSV and Parquet (with --special-values-as-text)",
          arguments: ["jsonl", "csv", "parquet"])
    func typedTable(format: String) throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 10)
        try f.createTypedTable()
        let flags = f.flags(table: "typed") + ["--date-column", "at"]
        let archived = try f.archive(["--output-format", format] + (format == "parquet" ? ["--special-values-as-text"] : []), flags: flags)
        #expect(archived.status == 0, "\(archived.err)")
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let restored = try f.restore(into: target, [], table: "typed")
        #expect(restored.status == 0, "\(restored.err)")
        try f.copySource("typed", into: target, as: "source_rows", like: "typed")
        #expect(try f.difference("source_rows", "typed", in: target) == [0, 0, 3, 3])
        #expect(try f.columnTypes("typed", in: target) == (try f.columnTypes("typed", in: f.database)))
    }

    @Test("a weekly archive of daily data restores into the right monthly partitions")
    func weeklyIntoMonthly() throws {
        let f = try ArchiveFixture(days: 35, rowsPerDay: 24)
        var flags = f.flags()
        flags[flags.firstIndex(of: "2024-01-31")!] = "2024-02-04"
        let archived = try f.archive(["--output-duration", "weekly"], flags: flags)
        #expect(archived.status == 0, "\(archived.err)")
        #expect(try f.objects().keys.contains("archives/flights/2024/01/flights-2024-W05.jsonl.zst"))
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let restored = try f.restore(into: target, ["--table-partition-range", "monthly"])
        #expect(restored.status == 0, "\(restored.err)")
        #expect(try f.sql("SELECT (SELECT count(*) FROM flights_202401) || ' ' || (SELECT count(*) FROM flights_202402)", in: target)
                == "744 96")
        #expect(try f.sql("SELECT count(*) FROM flights_202402 WHERE departure < '2024-02-01'", in: target) == "0")
    }

    @Test("--target-table restores beside the live table, in the same database, with an hourly partition template")
    func targetTable() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 48)
        #expect(try f.archive(["--compression", "gzip"]).status == 0)
        let restored = try f.restore(into: f.database, ["--target-table", "flights_back", "--table-partition-range", "hourly",
                                                        "--table-partition-template", "{table}_h{YYYY}{MM}{DD}{HH}"])
        #expect(restored.status == 0, "\(restored.err)")
        #expect(try f.difference("flights", "flights_back", in: f.database) == [0, 0, 96, 96])
        #expect(try f.sql("SELECT count(*), min(c.relname), bool_and(c.relispartition) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'flights_back'::regclass",
                          in: f.database) == "48|flights_back_h2024010100|t")
    }

    @Test("a target schema that does not exist stops the restore before any file, naming it")
    func missingSchema() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 10)
        #expect(try f.archive([]).status == 0)
        let restored = try f.restore(into: f.database, ["--db-schema", "nowhere"])
        #expect(restored.status == 1)
        #expect(restored.err.contains("schema \"nowhere\" does not exist"), "\(restored.err)")
        #expect(!restored.err.contains("restored"), "\(restored.err)")
    }

    @Test("restoring twice adds nothing: the second run skips the files the ledger records; --reload counts every row as a conflict")
    func twice() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 100)
        #expect(try f.archive([]).status == 0)
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let first = try f.restore(into: target, [])
        #expect(first.status == 0, "\(first.err)")
        #expect(first.err.contains("200 rows read, 200 inserted, 0 conflicts"), "\(first.err)")
        let second = try f.restore(into: target, [])
        #expect(second.status == 0, "\(second.err)")
        #expect(second.err.contains("2 skipped (restored before); 0 rows read, 0 inserted, 0 conflicts"), "\(second.err)")
        let third = try f.restore(into: target, ["--reload"])
        #expect(third.status == 0, "\(third.err)")
        #expect(third.err.contains("200 rows read, 0 inserted, 200 conflicts"), "\(third.err)")
        #expect(try f.sql("SELECT count(*), count(DISTINCT (id, departure)) FROM flights", in: target) == "200|200")
    }

    @Test("a corrupt object fails alone, named with its reason; its rows leave nothing behind; the rest restore; exit 1",
          arguments: ["jsonl", "parquet"])
    func corruptObject(format: String) throws {
        let f = try ArchiveFixture(days: 3, rowsPerDay: 100)
        #expect(try f.archive(["--output-format", format]).status == 0)
        let dir = try TemporaryDirectory()
        let damaged = try (format == "parquet" ? damageParquet : damageJSONL)(f, dir)
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let restored = try f.restore(into: target, [])
        #expect(restored.status == 1)
        #expect(restored.err.contains("1 restored, 2 failed"), "\(restored.err)")
        let failures = restored.err.split(separator: "\n").filter { $0.contains("failed: ") }
        for (key, reason) in damaged {
            #expect(failures.contains { $0.contains(key) && $0.contains(reason) }, "\(key): \(reason) in \(failures)")
        }
        #expect(try f.sql("SELECT count(*), min(departure)::date FROM flights", in: target) == "100|2024-01-03")
    }

    /// JSONL + zstd: day 1 cut in half (a truncated zstd frame), day 2 with line 50 not JSON.
    func damageJSONL(_ f: ArchiveFixture, _ dir: TemporaryDirectory) throws -> [(key: String, reason: String)] {
        let truncatedKey = "archives/flights/2024/01/flights-2024-01-01.jsonl.zst"
        let badLineKey = "archives/flights/2024/01/flights-2024-01-02.jsonl.zst"
        let meta = try f.metadata(truncatedKey)
        #expect(meta["pgarchive-schema"] != nil)
        let whole = try Data(contentsOf: URL(fileURLWithPath: try f.download(truncatedKey, into: dir)))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: dir.path("cut.zst")))
        try f.put(truncatedKey, file: dir.path("cut.zst"), metadata: meta)
        let second = try f.download(badLineKey, into: dir)
        let broken = try shell("zstd -dc '\(second)' | sed '50s/.*/{\"id\": 7, not json/' | zstd -q -c > '\(dir.path("bad.zst"))'")
        #expect(broken.status == 0, "\(broken.err)")
        try f.put(badLineKey, file: dir.path("bad.zst"), metadata: meta)
        return [(truncatedKey, "zcompress"), (badLineKey, "line 50")]
    }

    /// Parquet: day 1 with its footer length overwritten; day 2 rewritten as 10 row groups of 10
    /// rows whose last row group has a corrupt page, so 90 rows reach pg-load before rowfmt fails.
    func damageParquet(_ f: ArchiveFixture, _ dir: TemporaryDirectory) throws -> [(key: String, reason: String)] {
        let footerKey = "archives/flights/2024/01/flights-2024-01-01.parquet"
        let pageKey = "archives/flights/2024/01/flights-2024-01-02.parquet"
        let first = try f.download(footerKey, into: dir)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: first))
        bytes.replaceSubrange((bytes.count - 8)..<(bytes.count - 4), with: [0xF0, 0xFF, 0xFF, 0x7F])
        try bytes.write(to: URL(fileURLWithPath: dir.path("footer.parquet")))
        try f.put(footerKey, file: dir.path("footer.parquet"), metadata: try f.metadata(footerKey))
        let second = try f.download(pageKey, into: dir)
        let rowfmt = try Package.tool("rowfmt")
        let regrouped = try shell("'\(rowfmt)' --from parquet --to rowstream '\(second)' | '\(rowfmt)' --from rowstream --to parquet --chunk-size 10 -o '\(dir.path("page.parquet"))'")
        #expect(regrouped.status == 0, "\(regrouped.err)")
        // pyarrow finds the last row group's first column chunk; its last byte is in a page body.
        let flip = """
            import pyarrow.parquet as pq, sys
            m = pq.read_metadata(sys.argv[1])
            c = m.row_group(m.num_row_groups - 1).column(0)
            end = (c.dictionary_page_offset if c.has_dictionary_page else c.data_page_offset) + c.total_compressed_size
            data = bytearray(open(sys.argv[1], "rb").read())
            data[end - 1] ^= 0xFF
            open(sys.argv[1], "wb").write(data)
            print(m.num_row_groups, m.num_rows)
            """
        let flipped = try python(flip, [dir.path("page.parquet")], in: dir, name: "flip.py")
        #expect(flipped.out == "10 100\n", "\(flipped.err)")
        try f.put(pageKey, file: dir.path("page.parquet"), metadata: try f.metadata(pageKey))
        return [(footerKey, "corrupt footer"), (pageKey, "checksum mismatch")]
    }

    @Test("--dry-run changes neither the catalog nor the data, on a fresh database and on a restored one")
    func dryRun() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 50)
        #expect(try f.archive([]).status == 0)
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        func dump() throws -> String {
            let r = try run("\(f.pg.binDirectory)/pg_dump", ["--schema-only", target], environment: f.pg.environment(database: target))
            return r.out.split(separator: "\n").filter { !$0.hasPrefix("\\restrict") && !$0.hasPrefix("\\unrestrict") }.joined(separator: "\n")
        }
        let empty = try dump()
        let fresh = try f.restore(into: target, ["--dry-run", "--table-partition-range", "daily"])
        #expect(fresh.status == 0, "\(fresh.err)")
        #expect(fresh.err.contains("2 dry-run"), "\(fresh.err)")
        #expect(try dump() == empty)
        let real = try f.restore(into: target, ["--table-partition-range", "monthly"])
        #expect(real.status == 0, "\(real.err)")
        _ = try f.sql("DELETE FROM flights WHERE id % 2 = 0", in: target)
        let before = try dump()
        let again = try f.restore(into: target, ["--dry-run", "--table-partition-range", "daily"])
        #expect(again.status == 0, "\(again.err)")
        #expect(try dump() == before)
        #expect(try f.sql("SELECT count(*) FROM flights", in: target) == "50")
    }

    @Test("a pyarrow-written Parquet file (no pgarchive.schema) restores with types from its logical types, exact values and a warning")
    func pyarrowParquet() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 1)
        let dir = try TemporaryDirectory()
        let written = try python(pyarrowEventsScript, [dir.path("events.parquet"), dir.path("events.csv")], in: dir, name: "events.py")
        #expect(written.status == 0, "\(written.err)")
        #expect(written.out == "no pgarchive.schema\n", "\(written.out)")
        try f.put("archives/events/2024/01/events-2024-01-05.parquet", file: dir.path("events.parquet"))
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let restored = try f.restore(into: target, [], table: "events")
        #expect(restored.status == 0, "\(restored.err)")
        #expect(restored.err.contains("no pgarchive.schema footer key: the column types are inferred from its Parquet types"), "\(restored.err)")
        #expect(restored.err.contains("summary: 1 files: 1 restored, 0 failed; 8 rows read, 8 inserted"), "\(restored.err)")
        #expect(try f.columnTypes("events", in: target) == "id bigint, score double precision, name text, at timestamp with time zone, wall timestamp without time zone, "
                + "day date, amount numeric(12,3), big numeric(30,5), ok boolean, small smallint, mid integer, tags text[], blob bytea")
        // The same values, written by Python as CSV, loaded by PostgreSQL's own COPY into a twin table.
        try f.pg.psql("CREATE TABLE expected (LIKE events)", database: target)
        let copied = try shell("'\(f.pg.binDirectory)/psql' -X -q -v ON_ERROR_STOP=1 -c 'COPY expected FROM STDIN (FORMAT csv)' < '\(dir.path("events.csv"))'",
                               environment: f.pg.environment(database: target))
        #expect(copied.status == 0, "\(copied.err)")
        #expect(try f.difference("expected", "events", in: target) == [0, 0, 8, 8])
        #expect(try f.sql("SELECT count(*) FROM events WHERE num_nulls(score, name, at, wall, day, amount, big, ok, small, mid, tags, blob) = 12", in: target) == "1")
        #expect(try f.sql("SELECT at AT TIME ZONE 'UTC', amount, big, score FROM events WHERE id = 1", in: target)
                == "2024-01-05 10:00:00.123456|12345.678|1234567890123456789012345.12345|1.5")
    }

    @Test("a hand-written JSONL object without a sidecar restores with inferred types and a warning")
    func withoutSidecar() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 1)
        let dir = try TemporaryDirectory()
        let lines = """
            {"id": 1, "amount": 12.50, "ok": true, "at": "2024-01-02T10:00:00Z", "day": "2024-01-02", "name": "a"}
            {"id": 2, "amount": 3, "ok": false, "at": "2024-01-02T11:30:00+01:00", "day": "2024-01-03", "name": null}
            """
        try Data((lines + "\n").utf8).write(to: URL(fileURLWithPath: dir.path("notes.jsonl")))
        try f.put("archives/notes/2024/01/notes-2024-01-02.jsonl", file: dir.path("notes.jsonl"))
        // Not ours to restore: another table's file under the same prefix, and a window before --start-date.
        try f.put("archives/notes/2024/01/notes_old-2024-01-02.jsonl", file: dir.path("notes.jsonl"))
        try f.put("archives/notes/2023/12/notes-2023-12.jsonl", file: dir.path("notes.jsonl"))
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let restored = try f.restore(into: target, [], table: "notes")
        #expect(restored.status == 0, "\(restored.err)")
        #expect(restored.err.contains("no schema sidecar"), "\(restored.err)")
        #expect(restored.err.contains("summary: 1 files: 1 restored"), "\(restored.err)")
        #expect(try f.columnTypes("notes", in: target) == "id bigint, amount numeric, ok boolean, at timestamp with time zone, day date, name text")
        let rows = try f.sql("SELECT string_agg(format('%s %s %s %s %s %s', id, amount, ok, at AT TIME ZONE 'UTC', day, coalesce(name, 'NULL')), '; ' ORDER BY id) FROM notes",
                             in: target)
        #expect(rows == "1 12.50 t 2024-01-02 10:00:00 2024-01-02 a; 2 3 f 2024-01-02 10:30:00 2024-01-03 NULL", "\(rows)")
    }
}

/// Writes events.parquet with pyarrow (snappy, dictionaries, row groups of 4 rows: its defaults
/// otherwise) and the same rows as CSV in PostgreSQL's input forms; prints whether the footer
/// carries pgarchive.schema.
let pyarrowEventsScript = #"""
import datetime, decimal, sys
import pyarrow as pa, pyarrow.parquet as pq
utc = datetime.timezone.utc
D = decimal.Decimal
columns = [
    ("id", pa.int64()), ("score", pa.float64()), ("name", pa.string()), ("at", pa.timestamp("us", tz="UTC")),
    ("wall", pa.timestamp("us")), ("day", pa.date32()), ("amount", pa.decimal128(12, 3)), ("big", pa.decimal128(30, 5)),
    ("ok", pa.bool_()), ("small", pa.int16()), ("mid", pa.int32()), ("tags", pa.list_(pa.string())), ("blob", pa.binary()),
]
rows = [
    [1, 1.5, "plain", datetime.datetime(2024, 1, 5, 10, 0, 0, 123456, tzinfo=utc), datetime.datetime(2024, 1, 5, 23, 59, 59, 999999),
     datetime.date(2024, 1, 5), D("12345.678"), D("1234567890123456789012345.12345"), True, -32768, 2147483647, ["a", None, "b,c"], b"\x00\xff"],
    [2, 0.1, 'quote" comma, newline\nback\\slash', datetime.datetime(1970, 1, 1, tzinfo=utc), datetime.datetime(1969, 12, 31, 23, 59, 59, 500000),
     datetime.date(1, 1, 1), D("-999999999.999"), D("-0.00001"), False, 32767, -2147483648, [], b""],
    [3, -0.0, "", datetime.datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=utc), datetime.datetime(1900, 2, 28, 12),
     datetime.date(9999, 12, 31), D("0.000"), D("9999999999999999999999999.99999"), True, 0, 0, ["ünï", "{x}", ""], b"abc"],
    [4, 1e300, "ünïcödé\ttab", datetime.datetime(2024, 2, 29, 12, 34, 56, tzinfo=utc), datetime.datetime(2000, 1, 1),
     datetime.date(2024, 2, 29), D("1.5"), D("0"), False, -1, 1, [None], b"\x01"],
    [5, float("nan"), "nan"] + [None] * 10,
    [6, float("inf")] + [None] * 11,
    [7, float("-inf")] + [None] * 11,
    [8] + [None] * 12,
]
table = pa.table({name: pa.array([r[i] for r in rows], type) for i, (name, type) in enumerate(columns)})
pq.write_table(table, sys.argv[1], row_group_size=4)
meta = pq.read_metadata(sys.argv[1]).metadata or {}
print("has pgarchive.schema" if b"pgarchive.schema" in meta else "no pgarchive.schema")

def element(e):
    return "NULL" if e is None else '"' + e.replace("\\", "\\\\").replace('"', '\\"') + '"'

def field(v):
    if v is None: return ""
    if isinstance(v, bool): return "t" if v else "f"
    if isinstance(v, float): return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(repr(v), repr(v))
    if isinstance(v, (int, D)): return str(v)
    if isinstance(v, (datetime.datetime, datetime.date)): return '"' + v.isoformat() + '"'
    if isinstance(v, bytes): return "\\x" + v.hex()
    if isinstance(v, list): v = "{" + ",".join(element(e) for e in v) + "}"
    return '"' + v.replace('"', '""') + '"'

with open(sys.argv[2], "w", newline="") as out:
    for r in rows:
        out.write(",".join(field(v) for v in r) + "\n")
"""#
