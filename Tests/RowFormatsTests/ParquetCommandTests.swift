import Foundation
import Testing
import TestSupport

/// Writes pyarrow fixtures of one table into argv[1]: snappy with dictionaries and v1 pages (pyarrow's
/// defaults), zstd with v2 pages, gzip without dictionaries.
let pyarrowFixtureScript = #"""
import datetime, decimal, sys
import pyarrow as pa, pyarrow.parquet as pq
out = sys.argv[1]
t = pa.table({
    "id": pa.array([1, 2, 3], pa.int64()),
    "s": pa.array(["a", None, "a"], pa.string()),
    "l": pa.array([[1, None, 3], None, []], pa.list_(pa.int32())),
    "ts": pa.array([1704067200123456789, None, 1704067200000001500], pa.timestamp("ns")),
    "tms": pa.array([1704096000500, None, -1], pa.timestamp("ms", tz="UTC")),
    "d": pa.array([datetime.date(2024, 2, 29), None, datetime.date(1, 1, 1)], pa.date32()),
    "dec": pa.array([decimal.Decimal("123.45"), None, decimal.Decimal("-0.01")], pa.decimal128(5, 2)),
    "b": pa.array([True, None, False]),
    "f": pa.array([1.5, None, float("nan")], pa.float32()),
    "g": pa.array([0.1, None, -1e300], pa.float64()),
    "bin": pa.array([b"\x00\xff", None, b""], pa.binary()),
    "i16": pa.array([-32768, None, 7], pa.int16()),
    "u32": pa.array([4294967295, None, 0], pa.uint32()),
})
pq.write_table(t, out + "/snappy-v1.parquet")
pq.write_table(t, out + "/zstd-v2.parquet", compression="zstd", data_page_version="2.0")
pq.write_table(t, out + "/gzip-plain.parquet", compression="gzip", use_dictionary=False)
"""#

/// What rowfmt must print for the fixture table as JSON Lines (row_to_json's forms of the inferred types).
let pyarrowFixtureJSONL = """
    {"id":1,"s":"a","l":[1,null,3],"ts":"2024-01-01T00:00:00.123457","tms":"2024-01-01T08:00:00.5+00:00","d":"2024-02-29",\
    "dec":123.45,"b":true,"f":1.5,"g":0.1,"bin":"\\\\x00ff","i16":-32768,"u32":4294967295}
    {"id":2,"s":null,"l":null,"ts":null,"tms":null,"d":null,"dec":null,"b":null,"f":null,"g":null,"bin":null,"i16":null,"u32":null}
    {"id":3,"s":"a","l":[],"ts":"2024-01-01T00:00:00.000002","tms":"1969-12-31T23:59:59.999+00:00","d":"0001-01-01",\
    "dec":-0.01,"b":false,"f":"NaN","g":-1e+300,"bin":"\\\\x","i16":7,"u32":0}

    """

@Suite("rowfmt Parquet command")
struct ParquetCommandTests {
    let rowfmt = Package.tool("rowfmt")

    /// A small Parquet file of ours in `dir`, from a JSONL input with inferred types.
    func ourFile(_ dir: TemporaryDirectory) throws -> String {
        let path = dir.path("ours.parquet")
        let jsonl = (1...3000).map { "{\"id\": \($0), \"label\": \"row \($0)\"}" }.joined(separator: "\n") + "\n"
        let result = try run(rowfmt, ["--from", "jsonl", "--to", "parquet", "-o", path], stdin: Data(jsonl.utf8))
        #expect(result.status == 0, "\(result.err)")
        return path
    }

    @Test("pyarrow-written files (snappy, dictionaries, v1 and v2 pages, nulls, lists, ns timestamps) read back with inferred types",
          arguments: ["snappy-v1", "zstd-v2", "gzip-plain"])
    func pyarrowFixtures(name: String) throws {
        let dir = try TemporaryDirectory()
        let fixtures = try python(pyarrowFixtureScript, [dir.url.path], in: dir, name: "fixtures.py")
        #expect(fixtures.status == 0, "\(fixtures.err)")
        let file = dir.path("\(name).parquet")
        let jsonl = try run(rowfmt, ["--from", "parquet", "--to", "jsonl", file])
        #expect(jsonl.status == 0, "\(jsonl.err)")
        #expect(jsonl.out == pyarrowFixtureJSONL)
        // Piped input is spooled; the rowstream carries the inferred types.
        let stream = try shell("cat '\(file)' | '\(rowfmt)' --from parquet --to rowstream | '\(rowfmt)' --from rowstream --to csv")
        #expect(stream.status == 0, "\(stream.err)")
        #expect(stream.out.hasPrefix("id,s,l,ts,tms,d,dec,b,f,g,bin,i16,u32\n1,a,\"{1,NULL,3}\",2024-01-01 00:00:00.123457,2024-01-01 08:00:00.5+00,2024-02-29,123.45,t,1.5,0.1,\\x00ff,-32768,4294967295\n"))
        let schema = try shell("'\(rowfmt)' --from parquet --to rowstream '\(file)' | head -c 4000 | strings | grep -o '\"type\":\"[^\"]*\"' | tr '\\n' ' '")
        #expect(schema.out == "\"type\":\"bigint\" \"type\":\"text\" \"type\":\"integer[]\" \"type\":\"timestamp without time zone\" "
            + "\"type\":\"timestamp with time zone\" \"type\":\"date\" \"type\":\"numeric(5,2)\" \"type\":\"boolean\" \"type\":\"real\" "
            + "\"type\":\"double precision\" \"type\":\"bytea\" \"type\":\"smallint\" \"type\":\"bigint\" ")
    }

    @Test("truncated, non-Parquet, empty and corrupt inputs exit 1 naming what and where, with no output file")
    func damagedFiles() throws {
        let dir = try TemporaryDirectory()
        let good = try ourFile(dir)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: dir.path("cut.parquet")))
        try Data("id,label\n1,x\n".utf8).write(to: URL(fileURLWithPath: dir.path("text.parquet")))
        var flipped = bytes
        flipped[200] ^= 0xFF
        try flipped.write(to: URL(fileURLWithPath: dir.path("flipped.parquet")))
        let cases: [(String, String)] = [
            ("'\(rowfmt)' --from parquet --to csv -o '\(dir.path("out"))' '\(dir.path("cut.parquet"))'",
             "rowfmt: error: \"\(dir.path("cut.parquet"))\": bad magic at byte \(bytes.count - 14) (expected PAR1): the file is truncated or not Parquet\n"),
            ("head -c \(bytes.count - 10) '\(good)' | '\(rowfmt)' --from parquet --to csv -o '\(dir.path("out"))'",
             "rowfmt: error: \"stdin\": bad magic at byte \(bytes.count - 14) (expected PAR1): the file is truncated or not Parquet\n"),
            ("'\(rowfmt)' --from parquet --to csv -o '\(dir.path("out"))' '\(dir.path("text.parquet"))'",
             "rowfmt: error: \"\(dir.path("text.parquet"))\" is not a Parquet file: bad magic at byte 0 (expected PAR1)\n"),
            ("'\(rowfmt)' --from parquet --to csv -o '\(dir.path("out"))' < /dev/null",
             "rowfmt: error: \"stdin\" is not a Parquet file: 0 bytes is too short (truncated?)\n"),
        ]
        for (command, message) in cases {
            let result = try shell(command)
            #expect(result.status == 1, "\(command)")
            #expect(result.err == message)
            #expect(!FileManager.default.fileExists(atPath: dir.path("out")))
        }
        let corrupt = try run(rowfmt, ["--from", "parquet", "--to", "csv", "-o", dir.path("out"), dir.path("flipped.parquet")])
        #expect(corrupt.status == 1)
        #expect(corrupt.err.hasPrefix("rowfmt: error: \"\(dir.path("flipped.parquet"))\": column \"id\", row group 0: corrupt page"), "\(corrupt.err)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("out")))
    }

    @Test("Parquet options are checked: codec names, levels, sizes, and only with --to parquet")
    func optionChecks() throws {
        for (arguments, message) in [
            (["--to", "parquet", "--compression", "brotli"], "--compression must be zstd, lz4, gzip or none, not \"brotli\""),
            (["--to", "parquet", "--compression", "gzip", "--compression-level", "12"], "--compression-level for gzip must be 1-9"),
            (["--to", "parquet", "--row-group-size", "lots"], "--row-group-size must be a positive byte count such as 1048576, 512K or 32M, not \"lots\""),
            (["--to", "csv", "--row-group-size", "1M"], "--row-group-size applies only to --to parquet"),
        ] {
            let result = try run(rowfmt, ["--from", "rowstream"] + arguments, stdin: Data())
            #expect(result.status == 2)
            #expect(result.err.hasPrefix("rowfmt: error: \(message)\n"), "\(result.err)")
            #expect(result.stdout.isEmpty)
        }
    }

    @Test("refuses to write Parquet to a terminal unless forced")
    func refusesTerminal() throws {
        let script = """
            import os, pty, sys, subprocess
            master, slave = pty.openpty()
            p = subprocess.run(sys.argv[1:], input=b'{"id": 1}\\n', stdout=slave, stderr=subprocess.PIPE)
            sys.stderr.write(p.stderr.decode())
            sys.exit(p.returncode)
            """
        let refused = try run("python3", ["-c", script, rowfmt, "--from", "jsonl", "--to", "parquet"])
        #expect(refused.status == 2)
        #expect(refused.err == "rowfmt: error: refusing to write Parquet to a terminal (use -f to force, or redirect the output)\n")
        let forced = try run("python3", ["-c", script, rowfmt, "--from", "jsonl", "--to", "parquet", "-f"])
        #expect(forced.status == 0, "\(forced.err)")
    }

    @Test("a file of ours reads back through a pipe to the same rows")
    func ownFileThroughPipe() throws {
        let dir = try TemporaryDirectory()
        let good = try ourFile(dir)
        let result = try shell("cat '\(good)' | '\(rowfmt)' --from parquet --to jsonl | tail -n 1")
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out == "{\"id\":3000,\"label\":\"row 3000\"}\n")
    }
}
