import Foundation
import RowStream
import Testing
import TestSupport

/// Runs rowfmt with `arguments` on `input` (stdin).
func rowfmt(_ arguments: [String], _ input: String) throws -> ProcessResult {
    try run(Package.tool("rowfmt"), arguments, stdin: Data(input.utf8))
}

/// The schema of a small table with an id, a price and a label.
let smallSchema = """
    {"table":{"schema":"public","name":"items"},"columns":[{"name":"id","type":"integer","oid":23,"typmod":-1,"nullable":false},\
    {"name":"price","type":"numeric(10,2)","oid":1700,"typmod":655366,"nullable":true},\
    {"name":"label","type":"text","oid":25,"typmod":-1,"nullable":true}],"partition_key":[],"primary_key":["id"]}
    """

@Suite("rowfmt command")
struct RowfmtCommandTests {
    /// Writes the small schema into `dir` and returns its path.
    func schemaFile(_ dir: TemporaryDirectory) throws -> String {
        let path = dir.path("items.schema")
        try smallSchema.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("--chunk-size N hands every N rendered rows to the output at once; by default rows wait for a full buffer")
    func chunkSizeBatches() throws {
        let dir = try TemporaryDirectory()
        // Three rows go in and stdin stays open: how many lines come out within the timeout?
        let script = """
            import os, select, subprocess, sys
            p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            p.stdin.write(b'{"id": 1, "price": 1.25, "label": "a"}\\n' * 3)
            p.stdin.flush()
            ready, _, _ = select.select([p.stdout], [], [], 15 if "--chunk-size" in sys.argv else 1)
            early = os.read(p.stdout.fileno(), 65536) if ready else b""
            p.stdin.close()
            rest = p.stdout.read()
            print(len(early.splitlines()), len((early + rest).splitlines()), p.wait())
            """
        try script.write(toFile: dir.path("batch.py"), atomically: true, encoding: .utf8)
        let base = [Package.tool("rowfmt"), "--from", "jsonl", "--schema", try schemaFile(dir), "--to", "csv"]
        let batched = try run("python3", [dir.path("batch.py")] + base + ["--chunk-size", "3"])
        #expect(batched.out == "4 4 0\n", "\(batched.err)")
        let buffered = try run("python3", [dir.path("batch.py")] + base)
        #expect(buffered.out == "0 4 0\n", "\(buffered.err)")
    }

    @Test("inference: integers, exact decimals, booleans, RFC 3339 with and without offset, dates, JSON, text; mixes and all-NULL are text")
    func inference() throws {
        let jsonl = """
            {"i": 1, "n": 1, "b": true, "tz": "2024-01-01T00:00:00Z", "ts": "2024-01-01 00:00:00.123456", "d": "2024-01-01", "j": {"a": 1}, "mix": 1, "nul": null, "s": "1"}
            {"i": -5, "n": 2.50, "b": false, "tz": "2024-01-01T00:00:00+05:30", "ts": null, "d": "2024-12-31", "j": [1], "mix": "x", "nul": null, "s": "y"}
            {"i": 9223372036854775807, "n": 1e3, "tz": null}

            """
        let result = try rowfmt(["--from", "jsonl", "--to", "rowstream"], jsonl)
        #expect(result.status == 0, "\(result.err)")
        let schema = try #require(try RowStreamReader(bytes: Array(result.stdout)).schema)
        #expect(schema.columns.map(\.name) == ["i", "n", "b", "tz", "ts", "d", "j", "mix", "nul", "s"])
        #expect(schema.columns.map(\.type) == ["bigint", "numeric", "boolean", "timestamp with time zone", "timestamp without time zone",
                                              "date", "jsonb", "text", "text", "text"])
        let back = try run(Package.tool("rowfmt"), ["--from", "rowstream", "--to", "csv"], stdin: result.stdout)
        #expect(back.out == """
            i,n,b,tz,ts,d,j,mix,nul,s
            1,1,t,2024-01-01 00:00:00+00,2024-01-01 00:00:00.123456,2024-01-01,"{""a"": 1}",1,,1
            -5,2.50,f,2023-12-31 18:30:00+00,,2024-12-31,[1],x,,y
            9223372036854775807,1000,,,,,,,,

            """)
    }

    @Test("CSV inference: t/f booleans, big integers widen to numeric, leading zeros and long fractions stay text")
    func csvInference() throws {
        let csv = "a,b,c,d,e\n1,t,007,99999999999999999999,2024-01-01T00:00:00.1234567Z\n2,f,008,1,\n"
        let result = try rowfmt(["--from", "csv", "--to", "rowstream"], csv)
        #expect(result.status == 0, "\(result.err)")
        let schema = try #require(try RowStreamReader(bytes: Array(result.stdout)).schema)
        #expect(schema.columns.map(\.type) == ["bigint", "boolean", "text", "numeric", "text"])
    }

    @Test("malformed input exits 1 naming line, column and reason", arguments: [
        ("jsonl", "{\"id\": 1}\n{\"id\": 2, \"price\": \"abc\"}\n", "rowfmt: error: line 2, column \"price\": not a numeric: \"abc\"\n"),
        ("jsonl", "{\"id\": 1}\n\n{\"id\": 3,\n", "rowfmt: error: line 3: invalid JSON at byte 10: line ends early, expected a key\n"),
        ("jsonl", "{\"id\": 1, \"colour\": \"red\"}\n", "rowfmt: error: line 1, column \"colour\": not a column of the schema\n"),
        ("jsonl", "{\"id\": 99999999999}\n", "rowfmt: error: line 1, column \"id\": out of range for int4: \"99999999999\"\n"),
        ("csv", "id,price\n1,2.50\n2\n", "rowfmt: error: line 3: expected 2 fields, found 1\n"),
        ("csv", "id,weight\n1,2\n", "rowfmt: error: line 1, column \"weight\": not a column of the schema\n"),
        ("csv", "id,label\n1,\"open\n", "rowfmt: error: line 2: unterminated quoted field at end of input\n"),
        ("csv", "label\nx\n", "rowfmt: error: line 1, column \"id\": not in the header, and the column is NOT NULL\n"),
        ("csv", "id,label\n1,a\n,b\n", "rowfmt: error: line 3, column \"id\": NULL or missing in a NOT NULL column\n"),
        ("jsonl", "{\"id\": 1}\n{\"label\": \"no id\"}\n", "rowfmt: error: line 2, column \"id\": NULL or missing in a NOT NULL column\n"),
    ])
    func malformed(format: String, input: String, message: String) throws {
        let dir = try TemporaryDirectory()
        let result = try rowfmt(["--from", format, "--schema", try schemaFile(dir), "--to", "rowstream"], input)
        #expect(result.status == 1)
        #expect(result.err == message)
        #expect(throws: RowStreamError.self) {
            let reader = try RowStreamReader(bytes: Array(result.stdout))
            while try reader.next() {}
        }
    }

    @Test("a schema file that is not a rowstream schema is named with the field it lacks")
    func badSchema() throws {
        let dir = try TemporaryDirectory()
        try #"{"table":{"schema":"public","name":"x"}}"#.write(toFile: dir.path("bad.schema"), atomically: true, encoding: .utf8)
        let result = try rowfmt(["--from", "csv", "--schema", dir.path("bad.schema"), "--to", "jsonl"], "id\n1\n")
        #expect(result.status == 1)
        #expect(result.err == "rowfmt: error: schema file \"\(dir.path("bad.schema"))\": rowstream schema lacks \"columns\"\n")
        #expect(result.out.isEmpty)
    }

    @Test("a failure after rows were written leaves the rowstream without a trailer, ending inside a tuple")
    func noTrailerAfterFailure() throws {
        let dir = try TemporaryDirectory()
        var input = ""
        for i in 1...20000 { input += "{\"id\": \(i), \"price\": 1.25, \"label\": \"row \(i)\"}\n" }
        input += "{\"id\": \"x\"}\n"
        let result = try rowfmt(["--from", "jsonl", "--schema", try schemaFile(dir), "--to", "rowstream"], input)
        #expect(result.status == 1)
        #expect(result.err == "rowfmt: error: line 20001, column \"id\": not an integer: \"x\"\n")
        let reader = try RowStreamReader(bytes: Array(result.stdout))
        var rows = 0
        #expect(throws: RowStreamError.self) { while try reader.next() { rows += 1 } }
        #expect(rows == 20000)
    }

    @Test("with -o a failed conversion leaves no file; a good one appears complete")
    func atomicOutput() throws {
        let dir = try TemporaryDirectory()
        let schema = try schemaFile(dir)
        let bad = try rowfmt(["--from", "csv", "--schema", schema, "--to", "jsonl", "-o", dir.path("out.jsonl")], "id\nx\n")
        #expect(bad.status == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.path("out.jsonl")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path) == ["items.schema"])
        let good = try rowfmt(["--from", "csv", "--schema", schema, "--to", "jsonl", "-o", dir.path("out.jsonl")], "label,id\n\"a,b\",7\n")
        #expect(good.status == 0, "\(good.err)")
        #expect(try String(contentsOfFile: dir.path("out.jsonl"), encoding: .utf8) == "{\"id\":7,\"price\":null,\"label\":\"a,b\"}\n")
    }

    @Test("--progress-fd reports rows and output bytes and a final done line")
    func progress() throws {
        let dir = try TemporaryDirectory()
        var input = "id\n"
        for i in 1...3000 { input += "\(i)\n" }
        try input.write(toFile: dir.path("in.csv"), atomically: true, encoding: .utf8)
        let result = try shell("'\(Package.tool("rowfmt"))' --from csv --to jsonl --schema '\(try schemaFile(dir))' --progress-fd 3 '\(dir.path("in.csv"))' 3>'\(dir.path("progress"))' | wc -c")
        #expect(result.status == 0, "\(result.err)")
        let lines = try String(contentsOfFile: dir.path("progress"), encoding: .utf8).split(separator: "\n")
        let last = try #require(lines.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect(last["done"] as? Bool == true)
        #expect(last["rows"] as? Int == 3000)
        #expect(last["bytes"] as? Int == Int(result.out.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test("refuses to write a rowstream to a terminal without -f")
    func terminal() throws {
        let script = """
            import os, pty, subprocess, sys
            master, slave = pty.openpty()
            p = subprocess.run([sys.argv[1], "--from", "csv", "--to", "rowstream"], input=b"a\\n1\\n", stdout=slave, stderr=subprocess.PIPE)
            print(p.returncode, p.stderr.decode().strip())
            """
        let result = try run(try which("python3"), ["-c", script, Package.tool("rowfmt")])
        #expect(result.out == "2 rowfmt: error: refusing to write a rowstream to a terminal (use -f to force, or redirect the output)\n")
    }

    @Test("a 100 MB single-row JSONL converts, with and without a schema")
    func hugeRow() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("big.jsonl")
        let payload = String(repeating: "abcdefghij", count: 10_000_000)
        try "{\"id\": 1, \"label\": \"\(payload)\"}\n".write(toFile: path, atomically: false, encoding: .utf8)
        let withSchema = try shell("'\(Package.tool("rowfmt"))' --from jsonl --schema '\(try schemaFile(dir))' --to csv '\(path)' | wc -c")
        #expect(withSchema.status == 0, "\(withSchema.err)")
        #expect(withSchema.out.trimmingCharacters(in: .whitespaces) == "\(15 + 100_000_000 + 4)\n")
        let inferred = try shell("'\(Package.tool("rowfmt"))' --from jsonl --to rowstream '\(path)' | '\(Package.tool("rowfmt"))' --from rowstream --to jsonl | cmp - <(tr -d ' ' < '\(path)')")
        #expect(inferred.status == 0, "\(inferred.err)\(inferred.out)")
    }
}

@Suite("rowfmt man page")
struct RowfmtManPageTests {
    @Test("man/rowfmt.1 documents every long option of --help")
    func everyOption() throws {
        let help = try run(Package.tool("rowfmt"), ["--help"])
        let page = try String(contentsOf: Package.root.appendingPathComponent("man/rowfmt.1"), encoding: .utf8)
        let options = Set(help.out.matches(of: /--([a-z][a-z-]+)/).map { String($0.1) })
        #expect(options.isSuperset(of: ["from", "to", "schema", "output", "progress-fd", "force"]))
        for option in options {
            #expect(page.contains("Fl -\(option)"), "man/rowfmt.1 does not document --\(option)")
        }
    }
}
