import Foundation
import Testing
import TestSupport

/// A typed table: every encoding family, an enum and its array, a type that travels as text
/// (a range), NOT NULL columns and a primary key.
let typedDDL = """
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy ''quoted''');
    CREATE TABLE typed (
      id bigint NOT NULL, at timestamptz NOT NULL, i2 int2, i4 int4, f4 float4, f8 float8, n numeric, n2 numeric(10,2),
      t text, vc varchar(20), c char(5), b bool, d date, ts timestamp, tm time, tmtz timetz, iv interval, u uuid,
      j json, jb jsonb, by bytea, ip inet, mac macaddr, ia int[], ta text[], m mood NOT NULL, ma mood[], r int4range,
      PRIMARY KEY (id));
    INSERT INTO typed VALUES
      (1, '2024-01-01 10:00+00', -32768, -2147483648, '-Infinity', 'NaN', 'NaN', -99999999.99,
       E'unicode ✓ €, newline\\n tab\\t quote'' dquote" backslash\\\\', 'varchar', 'ab', false, '-infinity',
       '0001-01-01 00:00:00', '00:00:00', '00:00:00+14', '-178000000 years', '00000000-0000-0000-0000-000000000000',
       '{"a": [1, 2.50, null]}', '{"b": 1.50, "a": "x"}', '\\x00ff10', '::1', '08:00:2b:01:02:03', '{1,NULL,-3}',
       '{"a",NULL,"with \\"quote\\"","b,c"}', 'sad', '{sad,NULL,ok}', '[1,5)'),
      (2, '2024-02-15 23:59:59.999999+00', 32767, 2147483647, 'Infinity', 1.5e300, '123456789012345678901234567890.1234567',
       99999999.99, '', '', 'abcde', true, 'infinity', '294276-12-31 23:59:59.999999', '24:00:00', '23:59:59.999999-12',
       '1 year 2 mons 3 days 04:05:06.789', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '[]', '{}', '', '2001:db8::1/64',
       'ff:ff:ff:ff:ff:ff', '{}', '{}', 'happy ''quoted''', '{}', 'empty'),
      (3, '2024-01-31 23:00+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'ok', NULL, NULL);
    """

extension ScratchDatabase {
    /// `pg_dump --schema-only` of the database (without the random `\restrict` key of recent releases).
    func schemaDump() throws -> String {
        let result = try run("\(pg.binDirectory)/pg_dump", ["--schema-only", name], environment: environment)
        guard result.status == 0 else { throw TestFailure("pg_dump failed: \(result.err)") }
        return result.out.split(separator: "\n").filter { !$0.hasPrefix("\\restrict") && !$0.hasPrefix("\\unrestrict") }.joined(separator: "\n")
    }
}

/// pg-extract's stream of a relation, in a file.
func extract(_ db: ScratchDatabase, _ relation: String, into dir: TemporaryDirectory) throws -> String {
    let path = dir.path("\(relation).rowstream")
    let result = try run(Package.tool("pg-extract"), ["--relation", relation], stdoutFile: path, environment: db.environment)
    guard result.status == 0 else { throw TestFailure("pg-extract failed: \(result.err)") }
    return path
}

/// Runs pg-load with a stream file on stdin; returns the result and the decoded JSON line.
func load(_ db: ScratchDatabase, _ stream: String, _ arguments: [String]) throws -> (ProcessResult, [String: Any]) {
    let result = try run(Package.tool("pg-load"), arguments, stdinFile: stream, environment: db.environment)
    let line = result.out.split(separator: "\n").last.map(String.init) ?? "{}"
    let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
    return (result, json)
}

@Suite("pg-load", .enabled(if: Services.postgresEnabled))
struct PGLoadTests {
    @Test("a typed table with an enum loads into a fresh database with the same types, key and rows")
    func typedIntoFreshDatabase() throws {
        let pg = try Services.requirePostgres()
        let source = try ScratchDatabase(pg, prefix: "load"), target = try ScratchDatabase(pg, prefix: "load")
        try source.value(typedDDL)
        let dir = try TemporaryDirectory()
        let stream = try extract(source, "typed", into: dir)
        let (result, json) = try load(target, stream, ["--create"])
        #expect(result.status == 0, "\(result.err)")
        #expect(json["rows_read"] as? Int == 3 && json["inserted"] as? Int == 3 && json["table_created"] as? Bool == true)
        let columns = """
            SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY attnum)
            FROM pg_attribute WHERE attrelid = 'typed'::regclass AND attnum > 0 AND NOT attisdropped
            """
        #expect(try target.value(columns) == (try source.value(columns)))
        let key = "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'typed'::regclass AND contype = 'p'"
        #expect(try target.value(key) == "PRIMARY KEY (id)")
        #expect(try target.value("SELECT enum_range(NULL::mood)::text") == (try source.value("SELECT enum_range(NULL::mood)::text")))
        let rows = "SET extra_float_digits = 3; SELECT x::text FROM typed x ORDER BY id"
        #expect(try target.value(rows) == (try source.value(rows)))
    }

    @Test("a partition range creates a real partitioned table and the partitions the rows need, named as the seed says")
    func realPartitions() throws {
        let pg = try Services.requirePostgres()
        let db = try ScratchDatabase(pg, prefix: "load")
        try db.value(typedDDL)
        let dir = try TemporaryDirectory()
        let stream = try extract(db, "typed", into: dir)
        let (result, json) = try load(db, stream, ["--table", "typed_parts", "--create", "--table-partition-range", "monthly", "--date-column", "at"])
        #expect(result.status == 0, "\(result.err)")
        #expect(json["partitions_created"] as? [String] == ["typed_parts_202401", "typed_parts_202402"])
        #expect(try db.value("SELECT relkind FROM pg_class WHERE relname = 'typed_parts'") == "p")
        #expect(try db.value("""
            SELECT string_agg(c.relname || ':' || c.relispartition || ':' || pg_get_expr(c.relpartbound, c.oid), ' ' ORDER BY c.relname)
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'typed_parts'::regclass
            """) == "typed_parts_202401:true:FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-02-01 00:00:00+00') "
                + "typed_parts_202402:true:FOR VALUES FROM ('2024-02-01 00:00:00+00') TO ('2024-03-01 00:00:00+00')")
        #expect(try db.value("SELECT count(*) FROM typed_parts_202401") == "2")
        #expect(try db.value("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'typed_parts'::regclass AND contype = 'p'")
                == "PRIMARY KEY (id, at)")
        // Daily into the existing monthly table: the monthly partitions cover the days, none is created.
        let again = try load(db, stream, ["--table", "typed_parts", "--table-partition-range", "daily", "--date-column", "at"])
        #expect(again.0.status == 0, "\(again.0.err)")
        #expect(again.1["conflicts"] as? Int == 3 && again.1["partitions_created"] as? [String] == [])
    }

    @Test("loading twice skips every row as a conflict; --on-conflict error fails and inserts nothing")
    func conflicts() throws {
        let pg = try Services.requirePostgres()
        let db = try ScratchDatabase(pg, prefix: "load")
        try db.value(typedDDL)
        let dir = try TemporaryDirectory()
        let stream = try extract(db, "typed", into: dir)
        let second = try load(db, stream, ["--table", "typed"])
        #expect(second.0.status == 0, "\(second.0.err)")
        #expect(second.1["inserted"] as? Int == 0 && second.1["conflicts"] as? Int == 3)
        try db.value("DELETE FROM typed WHERE id = 3")
        let strict = try load(db, stream, ["--table", "typed", "--on-conflict", "error"])
        #expect(strict.0.status == 1)
        #expect(strict.0.err.contains("duplicate key"), "\(strict.0.err)")
        #expect(try db.value("SELECT count(*) FROM typed") == "2")
    }

    @Test("a truncated stream fails and its rows never reach the table")
    func truncatedStream() throws {
        let pg = try Services.requirePostgres()
        let db = try ScratchDatabase(pg, prefix: "load")
        try db.value(typedDDL + "; CREATE TABLE typed_copy (LIKE typed INCLUDING ALL)")
        let dir = try TemporaryDirectory()
        let stream = try extract(db, "typed", into: dir)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: stream))
        let cut = dir.path("cut.rowstream")
        try bytes.prefix(bytes.count - 2).write(to: URL(fileURLWithPath: cut))
        let (result, _) = try load(db, cut, ["--table", "typed_copy"])
        #expect(result.status == 4, "input cut short has the consequence status")
        #expect(result.err.contains("truncated"), "\(result.err)")
        #expect(result.out.isEmpty)
        #expect(try db.value("SELECT count(*) FROM typed_copy") == "0")
    }

    @Test("--dry-run reads everything and leaves the schema and the data exactly as they were")
    func dryRun() throws {
        let pg = try Services.requirePostgres()
        let source = try ScratchDatabase(pg, prefix: "load"), target = try ScratchDatabase(pg, prefix: "load")
        try source.value(typedDDL)
        let dir = try TemporaryDirectory()
        let stream = try extract(source, "typed", into: dir)
        let before = try target.schemaDump()
        let (fresh, json) = try load(target, stream, ["--create", "--table-partition-range", "monthly", "--date-column", "at", "--dry-run"])
        #expect(fresh.status == 0, "\(fresh.err)")
        #expect(json["dry_run"] as? Bool == true && json["rows_read"] as? Int == 3 && json["table_created"] as? Bool == true)
        #expect(try target.schemaDump() == before)
        let existing = try source.schemaDump()
        let (again, againJSON) = try load(source, stream, ["--dry-run"])
        #expect(again.status == 0, "\(again.err)")
        #expect(againJSON["inserted"] as? Int == 0)
        #expect(try source.schemaDump() == existing)
        #expect(try source.value("SELECT count(*) FROM typed") == "3")
    }

    @Test("a missing table without --create exits 3; a table without a unique constraint draws a warning")
    func missingTableAndNoKey() throws {
        let pg = try Services.requirePostgres()
        let db = try ScratchDatabase(pg, prefix: "load")
        try db.value(typedDDL + "; CREATE TABLE loose (LIKE typed)")
        let dir = try TemporaryDirectory()
        let stream = try extract(db, "typed", into: dir)
        let (missing, _) = try load(db, stream, ["--table", "nowhere"])
        #expect(missing.status == 3)
        #expect(missing.err.contains("nowhere") && missing.err.contains("--create"), "\(missing.err)")
        let (loose, json) = try load(db, stream, ["--table", "loose"])
        #expect(loose.status == 0, "\(loose.err)")
        #expect(json["inserted"] as? Int == 3)
        #expect(loose.err.contains("no unique constraint"), "\(loose.err)")
    }
}
