import Foundation
import RowStream
import Testing
import TestSupport

let allTypesDDL = """
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy ''quoted''');
    CREATE TABLE everything (
      i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric, n2 numeric(10,2),
      t text, vc varchar(20), c char(5), nm name, b bool, d date, ts timestamp, tstz timestamptz,
      tm time, tmtz timetz, iv interval, u uuid, j json, jb jsonb, by bytea, ip inet, net cidr, mac macaddr,
      ia int[], ta text[], m mood, ma mood[]);
    INSERT INTO everything VALUES
      (-32768, -2147483648, -9223372036854775808, '-Infinity', 'NaN', 'NaN', -99999999.99,
       E'unicode ✓ €, newline\\n tab\\t quote'' dquote" backslash\\\\', 'varchar', 'ab', 'name', false,
       '-infinity', '0001-01-01 00:00:00', '-infinity', '00:00:00', '00:00:00+14', '-178000000 years',
       '00000000-0000-0000-0000-000000000000', '{"a": [1, 2.50, null]}', '{"b": 1.50, "a": "x"}', '\\x00ff10',
       '::1', '10.0.0.0/8', '08:00:2b:01:02:03', '{1,NULL,-3}', '{"a",NULL,"with \\"quote\\"","b,c"}', 'sad', '{sad,NULL,ok}'),
      (32767, 2147483647, 9223372036854775807, 'Infinity', '-Infinity', '123456789012345678901234567890.123456789012345',
       99999999.99, '', '', 'abcde', '', true, 'infinity', '294276-12-31 23:59:59.999999', 'infinity', '24:00:00',
       '23:59:59.999999-12', '1 year 2 mons 3 days 04:05:06.789', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '[]', '{}', '',
       '2001:db8::1/64', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', '{}', '{}', 'happy ''quoted''', '{}'),
      (0, 0, 0, 1.5e-45, 4.9e-324, -0.000000000000000000000000000000000000000001, 0, 'plain', 'v', 'x', 'n', NULL,
       '2024-02-29', '2024-02-29 12:34:56.5', '2024-02-29 12:34:56.5+05:30', '12:00', '12:00+01', '-1 day -00:00:01',
       'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'null', '"text"', '\\x', '192.168.1.1/24', '192.168.0.0/16',
       '00:00:00:00:00:00', '{1,2,3}', '{"x"}', 'ok', '{happy ''quoted''}'),
      (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    CREATE TABLE copy_of_everything (LIKE everything);
    """

@Suite("pg-extract", .enabled(if: Services.postgresEnabled))
struct PGExtractTests {
    let tool = Package.tool("pg-extract")

    @Test("every natively encoded type, edge values and NULLs survive pg-extract | COPY FROM exactly")
    func allTypesRoundTrip() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql(allTypesDDL)
        let dir = try TemporaryDirectory()
        let stream = dir.path("everything.rowstream")
        let result = try run(tool, ["--relation", "everything"], stdoutFile: stream, environment: db.environment)
        #expect(result.status == 0, "\(result.err)")
        let load = try db.copyIn(stream, table: "copy_of_everything")
        #expect(load.status == 0, "\(load.err)")
        let diff = try db.difference("everything", "copy_of_everything")
        #expect(diff[0] == 0 && diff[1] == 0)
        #expect(diff[2] == 5 && diff[3] == 5)
        let schema = try #require(try RowStreamReader(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: stream)))).schema)
        #expect(schema.columns.allSatisfy { $0.originalType == nil && $0.kind != nil })
        #expect(schema.columns.first { $0.name == "m" }?.enumLabels == ["sad", "ok", "happy 'quoted'"])
        #expect(schema.columns.first { $0.name == "ma" }?.kind == .array(.enumeration))
        #expect(schema.columns.first { $0.name == "n2" }?.type == "numeric(10,2)")
        #expect(schema.columns.first { $0.name == "c" }?.type == "character(5)")
    }

    @Test("types without a binary codec travel as text and the schema names their original type")
    func textCastColumns() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TYPE pair AS (a int, b text);
            CREATE TABLE odd (id int PRIMARY KEY, r int4range, p point, v tsvector, md int[][], c pair);
            INSERT INTO odd VALUES (1, '[1,5)', '(1.5,2)', 'a fat cat', '{{1,2},{3,4}}', '(1,"x y")'),
                                   (2, NULL, NULL, NULL, NULL, NULL),
                                   (3, 'empty', '(0,-0.5)', '''quoted'' word:1A', '{}', '(,)');
            CREATE TABLE odd_text (id int, r text, p text, v text, md text, c text);
            """)
        let describe = try run(tool, ["--relation", "odd", "--describe"], environment: db.environment)
        #expect(describe.status == 0, "\(describe.err)")
        let schema = try JSONDecoder().decode(RowStreamSchema.self, from: describe.stdout)
        #expect(schema.columns.map(\.originalType) == [nil, "int4range", "point", "tsvector", "integer[]", "pair"])
        #expect(schema.columns.dropFirst().allSatisfy { $0.type == "text" && $0.oid == 25 })
        #expect(schema.primaryKey == ["id"])
        let dir = try TemporaryDirectory()
        let stream = dir.path("odd.rowstream")
        #expect(try run(tool, ["--relation", "odd"], stdoutFile: stream, environment: db.environment).status == 0)
        #expect(try db.copyIn(stream, table: "odd_text").status == 0)
        try db.sql("CREATE VIEW odd_as_text AS SELECT id, r::text, p::text, v::text, md::text, c::text FROM odd")
        let diff = try db.difference("odd_as_text", "odd_text")
        #expect(diff[0] == 0 && diff[1] == 0 && diff[3] == 3)
    }

    @Test("a domain column travels in its base type's binary form and loads back into the domain")
    func domains() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE DOMAIN positive AS numeric(8,3) CHECK (VALUE > 0);
            CREATE TABLE dom (id int, amount positive, tags positive[]);
            INSERT INTO dom VALUES (1, 1.5, '{2.25,NULL}'), (2, NULL, NULL);
            CREATE TABLE dom_copy (id int, amount positive, tags text);
            """)
        let describe = try run(tool, ["--relation", "dom", "--describe"], environment: db.environment)
        let schema = try JSONDecoder().decode(RowStreamSchema.self, from: describe.stdout)
        #expect(schema.columns[1].type == "numeric(8,3)" && schema.columns[1].oid == 1700 && schema.columns[1].originalType == nil)
        #expect(schema.columns[2].type == "text" && schema.columns[2].originalType == "positive[]")
        let dir = try TemporaryDirectory()
        let stream = dir.path("dom.rowstream")
        #expect(try run(tool, ["--relation", "dom"], stdoutFile: stream, environment: db.environment).status == 0)
        #expect(try db.copyIn(stream, table: "dom_copy").status == 0)
        #expect(try db.sql("SELECT id, amount, tags FROM dom_copy ORDER BY id") == "1|1.500|{2.250,NULL}\n2||\n")
    }

    @Test("PostgreSQL loads the two-row test vector, skipping the schema in the header extension")
    func vectorLoadsIntoPostgres() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("CREATE TABLE t (id integer NOT NULL, name text)")
        let text = try String(contentsOf: Package.root.appendingPathComponent("Tests/RowStreamTests/Vectors/two-rows.hex"), encoding: .utf8)
        let hex = Array(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined().utf8)
        let bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
        let dir = try TemporaryDirectory()
        try Data(bytes).write(to: URL(fileURLWithPath: dir.path("v")))
        let load = try db.copyIn(dir.path("v"), table: "t")
        #expect(load.status == 0, "\(load.err)")
        #expect(try db.sql("SELECT id, coalesce(name, '<null>') FROM t ORDER BY id") == "1|a\n2|<null>\n")
    }

    @Test("--describe prints the schema JSON alone: table, columns in table order, partition and primary key")
    func describe() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE "Mixed Case" ("Zeta" int NOT NULL, "a b" text, ts timestamptz NOT NULL, PRIMARY KEY ("Zeta", ts))
              PARTITION BY RANGE (ts);
            """)
        let result = try run(tool, ["--relation", "Mixed Case", "--describe"], environment: db.environment)
        #expect(result.status == 0, "\(result.err)")
        let lines = result.out.split(separator: "\n")
        #expect(lines.count == 1)
        let schema = try JSONDecoder().decode(RowStreamSchema.self, from: Data(lines[0].utf8))
        #expect(schema.columns.map(\.name) == ["Zeta", "a b", "ts"])
        #expect(schema.columns.map(\.nullable) == [false, true, false])
        #expect(schema.table == .init(schema: "public", name: "Mixed Case"))
        #expect(schema.partitionKey == ["ts"])
        #expect(schema.primaryKey == ["Zeta", "ts"])
    }

    @Test("--relation with --date-column, --from and --to reads only the rows of that window")
    func filteredRelation() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE ev (id int, at timestamp);
            INSERT INTO ev SELECT g, '2024-01-01'::timestamp + g * interval '1 hour' FROM generate_series(0, 99) g;
            CREATE TABLE got (LIKE ev);
            """)
        let dir = try TemporaryDirectory()
        let stream = dir.path("ev.rowstream")
        let result = try run(tool, ["--relation", "ev", "--date-column", "at", "--from", "2024-01-02", "--to", "2024-01-03T00:00:00Z"],
                             stdoutFile: stream, environment: db.environment)
        #expect(result.status == 0, "\(result.err)")
        #expect(try db.copyIn(stream, table: "got").status == 0)
        #expect(try db.sql("SELECT count(*), min(id), max(id) FROM got").trimmingCharacters(in: .whitespacesAndNewlines) == "24|24|47")
    }

    @Test("a failure after rows were written exits 1 and never writes a valid trailer")
    func failureMidStream() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("""
            CREATE TABLE big (id int, pad text);
            INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g;
            CREATE TABLE got (LIKE big);
            """)
        let plan = """
            {"schema":"public","table":"big","duration":"daily","label":"2024-01-01","stem":"big-2024-01-01",\
            "start":"2024-01-01T00:00:00Z","end":"2024-01-02T00:00:00Z","parts":{"YYYY":"2024","MM":"01","DD":"01","HH":"00"},\
            "sources":[{"schema":"public","relation":"big"},{"schema":"public","relation":"no_such_partition"}],"open":false,"partial":false}
            """
        let dir = try TemporaryDirectory()
        let stream = dir.path("big.rowstream")
        let result = try run(tool, [], stdin: Data(plan.utf8), stdoutFile: stream, environment: db.environment)
        #expect(result.status == 1)
        #expect(result.err.hasPrefix("pg-extract: error: "))
        #expect(result.err.contains("no_such_partition"))
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: stream)))
        #expect(bytes.count > 1_000_000, "rows of the first source were streamed before the failure")
        #expect(try db.copyIn(stream, table: "got").status != 0)
        let reader = try RowStreamReader(bytes: bytes)
        #expect(throws: RowStreamError.self) { while try reader.next() {} }
    }

    @Test("more than one plan line on stdin is a usage error")
    func severalPlanLines() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        let line = #"{"schema":"public","table":"t"}"#
        let result = try run(tool, [], stdin: Data("\(line)\n\(line)\n".utf8), environment: db.environment)
        #expect(result.status == 2)
        #expect(result.err.contains("one plan line"))
        #expect(result.out.isEmpty)
    }

    @Test("a plan line that carries an error is refused")
    func erroneousSlice() throws {
        let plan = """
            {"schema":"public","table":"t","duration":"daily","label":"2024-01-01","stem":"t-2024-01-01",\
            "start":"2024-01-01T00:00:00Z","end":"2024-01-02T00:00:00Z","parts":{"YYYY":"2024","MM":"01","DD":"01","HH":"00"},\
            "sources":[],"open":false,"partial":false,"error":"permission denied for table public.t_20240101"}
            """
        let result = try run(tool, ["--plan", plan])
        #expect(result.status == 1)
        #expect(result.err.contains("permission denied"))
    }

    @Test("--progress-fd reports cumulative rows and bytes and a final done line")
    func progress() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("CREATE TABLE p (id int); INSERT INTO p SELECT generate_series(1, 3000);")
        let dir = try TemporaryDirectory()
        let result = try shell("'\(tool)' --relation p --progress-fd 3 3>'\(dir.path("progress"))' | wc -c", environment: db.environment)
        #expect(result.status == 0, "\(result.err)")
        let lines = try String(contentsOfFile: dir.path("progress"), encoding: .utf8).split(separator: "\n")
        let last = try #require(lines.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect(last["done"] as? Bool == true)
        #expect(last["rows"] as? Int == 3000)
        #expect(last["bytes"] as? Int == Int(result.out.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test("the statement timeout limits catalog queries, never the COPY")
    func statementTimeout() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("CREATE VIEW slow AS SELECT g FROM generate_series(1, 3) g, pg_sleep(1.5)")
        let dir = try TemporaryDirectory()
        let stream = dir.path("slow.rowstream")
        let result = try run(tool, ["--relation", "slow", "--db-statement-timeout", "1"], stdoutFile: stream, environment: db.environment)
        #expect(result.status == 0, "\(result.err)")
        let reader = try RowStreamReader(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: stream))))
        while try reader.next() {}
        #expect(reader.rows == 3)
    }

    @Test("extracting the same rows twice gives identical bytes")
    func deterministic() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        try db.sql("CREATE TABLE d (id int, v text); INSERT INTO d SELECT g, md5(g::text) FROM generate_series(1, 20000) g;")
        let first = try run(tool, ["--relation", "d"], environment: db.environment)
        let second = try run(tool, ["--relation", "d"], environment: db.environment)
        #expect(first.status == 0 && second.status == 0)
        #expect(first.stdout.count > 20000 * 40)
        #expect(first.stdout == second.stdout)
    }

    @Test("a table that does not exist is a one-line error with exit 1")
    func missingTable() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "x")
        let result = try run(tool, ["--relation", "nope"], environment: db.environment)
        #expect(result.status == 1)
        #expect(result.err == "pg-extract: error: table \"public.nope\" not found\n")
    }
}
