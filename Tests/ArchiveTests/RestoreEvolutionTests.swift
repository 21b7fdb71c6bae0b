import Foundation
import Testing
import TestSupport

extension ArchiveFixture {
    /// The fixture's flags with another date range.
    func flags(table: String, from: String, to: String) -> [String] {
        var flags = self.flags(table: table)
        flags[flags.firstIndex(of: "2024-01-01")!] = from
        flags[flags.firstIndex(of: "2024-01-31")!] = to
        return flags
    }

    /// Rows of `query` (as text) in `database` loaded into a new text-only table `name` there.
    func copyRows(_ query: String, from source: String, into database: String, as name: String, columns: String) throws {
        try pg.psql("CREATE TABLE \(name) (\(columns))", database: database)
        let psql = "\(pg.binDirectory)/psql -X -q -v ON_ERROR_STOP=1"
        let result = try shell("PGDATABASE=\(source) \(psql) -c \"COPY (\(query)) TO STDOUT\" | \(psql) -c 'COPY \(name) FROM STDIN'",
                               environment: pg.environment(database: database))
        guard result.status == 0 else { throw TestFailure("copying rows failed: \(result.err)") }
    }
}

@Suite("data-archiver restore: schema evolution, existing targets, the load ledger", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct RestoreEvolutionTests {
    @Test("archives before and after ALTER COLUMN TYPE numeric(10,1) → numeric(10,3) and ADD COLUMN restore exactly into one table, with 1 or 4 workers",
          arguments: ["jsonl", "csv", "parquet"])
    func evolution(format: String) throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 1)
        try f.pg.psql("""
            CREATE TABLE ev (id bigint NOT NULL, at timestamptz NOT NULL, v numeric(10,1), note varchar(10), PRIMARY KEY (id));
            INSERT INTO ev SELECT g, '2024-01-01 00:00+00'::timestamptz + g * interval '1 minute', g * 1.1 + 0.5, 'n' || g FROM generate_series(1, 40) g;
            CREATE TABLE snap AS SELECT id::text, at::text, v::text, note::text, NULL::text AS added FROM ev;
            """, database: f.database)
        let extra = format == "parquet" ? ["--special-values-as-text"] : []
        let first = try f.archive(["--output-format", format, "--date-column", "at"] + extra, flags: f.flags(table: "ev", from: "2024-01-01", to: "2024-01-01"))
        #expect(first.status == 0, "\(first.err)")
        try f.pg.psql("""
            ALTER TABLE ev ALTER COLUMN v TYPE numeric(10,3), ALTER COLUMN note TYPE varchar(30);
            ALTER TABLE ev ADD COLUMN added text;
            INSERT INTO ev SELECT g, '2024-01-02 00:00+00'::timestamptz + g * interval '1 minute', g * 1.001 + 0.234, 'a longer note ' || g, 'x' || g
              FROM generate_series(41, 90) g;
            INSERT INTO snap SELECT id::text, at::text, v::text, note::text, added FROM ev WHERE at >= '2024-01-02';
            """, database: f.database)
        let second = try f.archive(["--output-format", format, "--date-column", "at"] + extra, flags: f.flags(table: "ev", from: "2024-01-02", to: "2024-01-02"))
        #expect(second.status == 0, "\(second.err)")
        #expect(try f.objects().keys.filter { $0.contains("/_schema/") }.count == 2)
        for workers in ["1", "4"] {
            let target = try f.pg.createDatabase(prefix: "rest")
            defer { f.pg.dropDatabase(target) }
            let restored = try f.restore(into: target, ["--workers", workers], table: "ev")
            #expect(restored.status == 0, "\(restored.err)")
            #expect(restored.err.contains("2 restored, 0 failed"), "\(restored.err)")
            #expect(restored.err.contains("type decision: column \"v\": numeric(10,1), numeric(10,3) → numeric"), "\(restored.err)")
            #expect(try f.columnTypes("ev", in: target) == "id bigint, at timestamp with time zone, v numeric, note character varying(30), added text")
            try f.copyRows("SELECT * FROM snap", from: f.database, into: target, as: "expected", columns: "id text, at text, v text, note text, added text")
            let restoredText = "SELECT id::text, at::text, v::text, note::text, added FROM ev"
            #expect(try f.sql("SELECT count(*) FROM (\(restoredText) EXCEPT ALL SELECT * FROM expected) d", in: target) == "0")
            #expect(try f.sql("SELECT count(*) FROM (SELECT * FROM expected EXCEPT ALL \(restoredText)) d", in: target) == "0")
            #expect(try f.sql("SELECT count(*) FROM ev", in: target) == "90")
            #expect(try f.sql("SELECT v::text FROM ev WHERE id IN (1, 41) ORDER BY id", in: target) == "1.6\n41.275")
        }
    }

    @Test("versions that cannot be joined (a RENAME) stop the restore before any file, listing the versions")
    func renameRefused() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 1)
        try f.pg.psql("""
            CREATE TABLE rn (id bigint NOT NULL, at timestamptz NOT NULL, v text);
            INSERT INTO rn VALUES (1, '2024-01-01 10:00+00', 'a'), (2, '2024-01-02 10:00+00', 'b');
            """, database: f.database)
        #expect(try f.archive(["--date-column", "at"], flags: f.flags(table: "rn", from: "2024-01-01", to: "2024-01-01")).status == 0)
        try f.pg.psql("ALTER TABLE rn RENAME COLUMN v TO value", database: f.database)
        #expect(try f.archive(["--date-column", "at"], flags: f.flags(table: "rn", from: "2024-01-02", to: "2024-01-02")).status == 0)
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let restored = try f.restore(into: target, [], table: "rn")
        #expect(restored.status == 1)
        #expect(restored.err.contains("cannot be restored into one table: attribute 3 is"), "\(restored.err)")
        #expect(restored.err.contains("rn-2024-01-01.jsonl.zst") && restored.err.contains("rn-2024-01-02.jsonl.zst"), "\(restored.err)")
        #expect(try f.sql("SELECT to_regclass('rn') IS NULL", in: target) == "t")
    }

    @Test("into an existing narrower --target-table the files are refused naming column and types; --allow-lossy-cast loads them; a wider table takes them exactly",
          arguments: ["jsonl", "csv", "parquet"])
    func narrowerTarget(format: String) throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 20)
        #expect(try f.archive(["--output-format", format, "--compression", "none"]).status == 0)
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        try f.pg.psql("""
            CREATE TABLE narrow (id bigint NOT NULL, callsign text NOT NULL, departure timestamptz NOT NULL, lat double precision,
              altitude integer, on_ground boolean NOT NULL, extra jsonb, fare numeric(10,1), note text);
            CREATE TABLE wide (id numeric, callsign text, departure timestamptz, lat double precision,
              altitude bigint, on_ground boolean, extra json, fare numeric, note text, added text DEFAULT 'new');
            """, database: target)
        let refused = try f.restore(into: target, ["--target-table", "narrow"])
        #expect(refused.status == 1)
        #expect(refused.err.contains("0 restored, 2 failed"), "\(refused.err)")
        #expect(refused.err.contains("column \"fare\" of public.narrow is numeric(10,1) but object archives/flights/2024/01/flights-2024-01-01.\(format) holds numeric(10,2) values"),
                "\(refused.err)")
        #expect(try f.sql("SELECT count(*) FROM narrow", in: target) == "0")
        let allowed = try f.restore(into: target, ["--target-table", "narrow", "--allow-lossy-cast"])
        #expect(allowed.status == 0, "\(allowed.err)")
        #expect(try f.sql("SELECT count(*) FROM narrow", in: target) == "40")
        let wide = try f.restore(into: target, ["--target-table", "wide"])
        #expect(wide.status == 0, "\(wide.err)")
        try f.copyRows("SELECT * FROM flights", from: f.database, into: target, as: "source_rows",
                       columns: "id bigint, callsign text, departure timestamptz, lat double precision, altitude integer, on_ground boolean, extra jsonb, fare numeric(10,2), note text")
        let columns = "id::text, callsign, departure::text, lat::text, altitude::text, on_ground::text, extra::text, fare::text, note"
        #expect(try f.sql("SELECT count(*) FROM (SELECT \(columns) FROM source_rows EXCEPT ALL SELECT \(columns) FROM wide) d", in: target) == "0")
        #expect(try f.sql("SELECT count(*) FROM (SELECT \(columns) FROM wide EXCEPT ALL SELECT \(columns) FROM source_rows) d", in: target) == "0")
        #expect(try f.sql("SELECT count(*) FROM wide WHERE added = 'new'", in: target) == "40")
    }

    @Test("a repeated restore into a keyless table adds nothing; --reload loads again, doubling the rows, with a warning")
    func keylessTwice() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 1)
        try f.pg.psql("""
            CREATE TABLE logs (at timestamptz NOT NULL, msg text);
            INSERT INTO logs SELECT '2024-01-01 00:00+00'::timestamptz + g * interval '1 hour', 'm' || g FROM generate_series(0, 71) g;
            """, database: f.database)
        #expect(try f.archive(["--date-column", "at"], flags: f.flags(table: "logs")).status == 0)
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let first = try f.restore(into: target, [], table: "logs")
        #expect(first.status == 0, "\(first.err)")
        #expect(first.err.contains("3 restored, 0 failed; 72 rows read, 72 inserted"), "\(first.err)")
        let second = try f.restore(into: target, [], table: "logs")
        #expect(second.status == 0, "\(second.err)")
        #expect(second.err.contains("0 restored, 0 failed, 3 skipped (restored before); 0 rows read"), "\(second.err)")
        #expect(try f.sql("SELECT count(*) FROM logs", in: target) == "72")
        #expect(try f.sql("SELECT count(*) || ' ' || sum(rows_loaded) FROM pgarchive_restore_ledger WHERE target_table = 'public.logs'", in: target) == "3 72")
        let reloaded = try f.restore(into: target, ["--reload"], table: "logs")
        #expect(reloaded.status == 0, "\(reloaded.err)")
        #expect(reloaded.err.contains("may duplicate its rows"), "\(reloaded.err)")
        #expect(try f.sql("SELECT count(*) FROM logs", in: target) == "144")
    }
}

@Suite("data-archiver restore: the load ledger's edges", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct RestoreLedgerTests {
    @Test("an object rewritten since it was restored (another ETag) is reported and skipped; --reload loads it")
    func changedObject() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 10)
        #expect(try f.archive([]).status == 0)
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        #expect(try f.restore(into: target, []).status == 0)
        // The same rows, compressed at another level: other bytes, another ETag.
        let key = "archives/flights/2024/01/flights-2024-01-02.jsonl.zst"
        let dir = try TemporaryDirectory()
        let path = try f.download(key, into: dir)
        #expect(try shell("zstd -dc '\(path)' | zstd -q -19 -c > '\(dir.path("again.zst"))'").status == 0)
        try f.put(key, file: dir.path("again.zst"), metadata: try f.metadata(key))
        let second = try f.restore(into: target, [])
        #expect(second.status == 0, "\(second.err)")
        #expect(second.err.contains("1 skipped (restored before), 1 skipped (changed since restored)"), "\(second.err)")
        #expect(second.err.contains("skipped: the object changed since it was restored (give --reload to load it again)"), "\(second.err)")
        let reloaded = try f.restore(into: target, ["--reload"])
        #expect(reloaded.status == 0, "\(reloaded.err)")
        #expect(reloaded.err.contains("2 restored, 0 failed; 20 rows read, 0 inserted, 20 conflicts"), "\(reloaded.err)")
        #expect(try f.sql("SELECT etag = '\(try f.objects()[key]!.etag)' FROM pgarchive_restore_ledger WHERE object_key = '\(key)'", in: target) == "t")
    }

    @Test("a role that may not create the ledger stops before any file, saying how to create it; with the ledger granted it restores")
    func ledgerPrivilege() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 10)
        #expect(try f.archive([]).status == 0)
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        try f.pg.psql("""
            CREATE TABLE back (id bigint NOT NULL, callsign text NOT NULL, departure timestamptz NOT NULL, lat double precision,
              altitude integer, on_ground boolean NOT NULL, extra jsonb, fare numeric(10,2), note text, PRIMARY KEY (id, departure));
            GRANT SELECT, INSERT ON back TO \(f.pg.ordinaryUser);
            """, database: target)
        func restoreAsOrdinaryUser() throws -> ProcessResult {
            let flags = ["restore", "--db-host", f.pg.host, "--db-port", f.pg.port, "--db-user", f.pg.ordinaryUser, "--db-name", target,
                         "--table", "flights", "--target-table", "back", "--s3-endpoint", f.s3.endpoint, "--s3-bucket", f.bucket,
                         "--path-template", "archives/{table}/{YYYY}/{MM}", "--start-date", "2024-01-01", "--end-date", "2024-12-31"]
            return try run(Package.tool("data-archiver"), flags, environment: f.environment(["PGPASSWORD": f.pg.ordinaryPassword]))
        }
        let refused = try restoreAsOrdinaryUser()
        #expect(refused.status == 1)
        #expect(refused.err.contains("the load ledger public.pgarchive_restore_ledger does not exist and the role may not CREATE in schema \"public\""),
                "\(refused.err)")
        #expect(try f.sql("SELECT count(*) FROM back", in: target) == "0")
        try f.pg.psql("""
            CREATE TABLE public.pgarchive_restore_ledger (
              target_table text NOT NULL, object_key text NOT NULL, etag text NOT NULL, digest text,
              rows_loaded bigint NOT NULL, loads integer NOT NULL DEFAULT 1,
              loaded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (target_table, object_key));
            GRANT SELECT, INSERT, UPDATE ON public.pgarchive_restore_ledger TO \(f.pg.ordinaryUser);
            """, database: target)
        let restored = try restoreAsOrdinaryUser()
        #expect(restored.status == 0, "\(restored.err)")
        #expect(try f.sql("SELECT count(*) FROM back", in: target) == "10")
        #expect(try f.sql("SELECT count(*) FROM pgarchive_restore_ledger", in: target) == "1")
    }
}

@Suite("data-archiver restore: faithful tables", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct RestoreDefinitionTests {
    /// The catalog facts restore must keep: columns (type, NOT NULL, identity, generated, default,
    /// collation), constraints, the domain's CHECKs, the composite's attributes, the range's subtype.
    static let catalog = """
        SELECT string_agg(format('%s %s %s %s %s %s %s', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
                                 a.attgenerated, coalesce(pg_get_expr(d.adbin, d.adrelid), '-'), coalesce(co.collname, '-')), E'\\n' ORDER BY a.attnum)
          || E'\\n' || (SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), E'\\n' ORDER BY conname) FROM pg_constraint WHERE conrelid = 'shapes'::regclass)
          || E'\\n' || (SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), E'\\n' ORDER BY conname) FROM pg_constraint WHERE contypid = 'posint'::regtype)
          || E'\\n' || (SELECT string_agg(format('%s %s', attname, format_type(atttypid, atttypmod)), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'pair'::regclass)
          || E'\\n' || (SELECT rngsubtype::regtype || ' ' || rngsubdiff::text FROM pg_range WHERE rngtypid = 'floatrange'::regtype)
        FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100
        WHERE a.attrelid = 'shapes'::regclass AND a.attnum > 0 AND NOT a.attisdropped
        """

    @Test("a table of domains, composites and ranges (with arrays), collations, defaults, identity and generated columns restores into a new database as it was",
          arguments: ["jsonl", "csv", "parquet"])
    func faithful(format: String) throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 1)
        try f.pg.psql("""
            CREATE DOMAIN posint AS integer CONSTRAINT posint_positive CHECK (VALUE > 0);
            CREATE TYPE pair AS (x integer, label text COLLATE "C");
            CREATE TYPE floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
            CREATE TABLE shapes (
              id bigint GENERATED ALWAYS AS IDENTITY, at timestamptz NOT NULL,
              code text COLLATE "C" NOT NULL DEFAULT 'x', qty posint DEFAULT 1, p pair, ps pair[], r floatrange, q posint[],
              total integer GENERATED ALWAYS AS (qty * 2) STORED,
              CONSTRAINT shapes_pk PRIMARY KEY (id), CONSTRAINT shapes_code_key UNIQUE (code), CONSTRAINT shapes_code_short CHECK (length(code) < 10));
            INSERT INTO shapes (at, code, qty, p, ps, r, q) VALUES
              ('2024-01-01 10:00+00', 'a', 3, '(1,"x y")', ARRAY['(2,b)'::pair, NULL], '[1.5,2.5)', '{1,2}'),
              ('2024-01-01 11:00+00', 'b', DEFAULT, NULL, '{}', 'empty', NULL);
            """, database: f.database)
        let extra = format == "parquet" ? ["--special-values-as-text"] : []
        let archived = try f.archive(["--output-format", format, "--date-column", "at"] + extra, flags: f.flags(table: "shapes"))
        #expect(archived.status == 0, "\(archived.err)")
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let dry = try f.restore(into: target, ["--dry-run"], table: "shapes")
        #expect(dry.status == 0, "\(dry.err)")
        #expect(dry.err.contains("CREATE DOMAIN public.posint AS integer CONSTRAINT posint_positive CHECK ((VALUE > 0))"), "\(dry.err)")
        #expect(try f.sql("SELECT to_regtype('posint') IS NULL AND to_regclass('shapes') IS NULL", in: target) == "t")
        let restored = try f.restore(into: target, [], table: "shapes")
        #expect(restored.status == 0, "\(restored.err)")
        #expect(try f.sql(Self.catalog, in: target) == (try f.sql(Self.catalog, in: f.database)))
        let rows = "SELECT x::text FROM shapes x ORDER BY id"
        #expect(try f.sql(rows, in: target) == (try f.sql(rows, in: f.database)))
        #expect(try f.sql("INSERT INTO shapes (at, code) VALUES (now(), 'c') RETURNING id", in: target) == "3")
    }
}
