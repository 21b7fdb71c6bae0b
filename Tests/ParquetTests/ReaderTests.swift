import Foundation
import Parquet
import TestSupport
import Testing

/// Writes a fixture with pyarrow: every physical type, the logical types we read, nulls, lists,
/// ms/us/ns timestamps, 3000 rows in row groups of 1000 and small pages (with page CRCs for gzip and zstd).
private let fixtureScript = """
import sys, decimal, datetime
import pyarrow as pa, pyarrow.parquet as pq
path, codec, version, dictionary = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "dict"
n = 3000
def nth(i, k, v): return None if i % k == 0 else v
cities = ["Zürich", "東京", "São Paulo", "Oslo", "", "New York"]
table = pa.table({
    "i8": pa.array([nth(i, 7, (i % 200) - 100) for i in range(n)], pa.int8()),
    "i16": pa.array([nth(i, 11, i * 7 - 9000) for i in range(n)], pa.int16()),
    "i32": pa.array([nth(i, 13, i * 100003 - 2**31 + 5) for i in range(n)], pa.int32()),
    "i64": pa.array([nth(i, 5, i * 3_000_000_000_123 - 2**62) for i in range(n)], pa.int64()),
    "u16": pa.array([nth(i, 9, i * 17 % 65536) for i in range(n)], pa.uint16()),
    "f32": pa.array([nth(i, 4, i / 8.0 - 100) for i in range(n)], pa.float32()),
    "f64": pa.array([nth(i, 6, i * 1.1e-3 - 1.5) for i in range(n)], pa.float64()),
    "flag": pa.array([nth(i, 3, i % 2 == 0) for i in range(n)], pa.bool_()),
    "dec9": pa.array([nth(i, 8, decimal.Decimal(i * 1234 - 1_500_000).scaleb(-2)) for i in range(n)], pa.decimal128(9, 2)),
    "dec38": pa.array([nth(i, 10, decimal.Decimal((i - 1500) * 10**30 + i).scaleb(-10)) for i in range(n)], pa.decimal128(38, 10)),
    "city": pa.array([nth(i, 12, cities[i % len(cities)]) for i in range(n)], pa.string()),
    "blob": pa.array([nth(i, 15, bytes([i % 256, (i * 7) % 256]) * (i % 4)) for i in range(n)], pa.binary()),
    "fixed": pa.array([nth(i, 16, i.to_bytes(4, "big")) for i in range(n)], pa.binary(4)),
    "day": pa.array([nth(i, 17, datetime.date(1960, 1, 1) + datetime.timedelta(days=i * 11)) for i in range(n)], pa.date32()),
    "ts_ms": pa.array([nth(i, 18, i * 1_000_003 - 5_000_000) for i in range(n)], pa.timestamp("ms")),
    "ts_us": pa.array([nth(i, 19, i * 1_000_000_007) for i in range(n)], pa.timestamp("us", tz="UTC")),
    "ts_ns": pa.array([nth(i, 20, i * 1_000_000_000_123 + 1) for i in range(n)], pa.timestamp("ns")),
    "t_ms": pa.array([nth(i, 21, i * 28_000) for i in range(n)], pa.time32("ms")),
    "t_us": pa.array([nth(i, 22, i * 28_000_001) for i in range(n)], pa.time64("us")),
    "ints": pa.array([None if i % 23 == 0 else [] if i % 5 == 0 else [None if (i + j) % 4 == 0 else i * j for j in range(i % 4 + 1)] for i in range(n)], pa.list_(pa.int64())),
    "words": pa.array([None if i % 29 == 0 else [cities[(i + j) % len(cities)] for j in range(i % 3)] for i in range(n)], pa.list_(pa.string())),
})
pq.write_table(table, path, compression=codec, data_page_version=version, use_dictionary=dictionary,
               row_group_size=1000, data_page_size=2048, write_page_checksum=codec in ("gzip", "zstd"))
"""

@Suite("Parquet reader")
struct ReaderTests {
    @Test("reads our typed table exactly as pyarrow does", arguments: WriterTests.codecs)
    func readsOwnFiles(codec: CompressionCodec) throws {
        let dir = try TemporaryDirectory()
        let path = try TypedTable.file(codec: codec, in: dir)
        let ours = try ourRawValues(path)
        for (name, values) in try pyarrowRawValues(path) {
            #expect(ours[name] == values, "column \(name)")
        }
        let reader = try ParquetReader(path: path)
        #expect(reader.columns.map(\.type) == TypedTable.columns.map(\.type))
        #expect(reader.columns.map(\.isList) == TypedTable.columns.map(\.isList))
    }

    @Test("reads pyarrow-written files: every physical type, nulls, lists, dictionary and plain, data pages v1 and v2",
          arguments: [("snappy", "1.0", "dict"), ("snappy", "2.0", "dict"), ("snappy", "1.0", "plain"), ("gzip", "1.0", "dict"),
                      ("zstd", "2.0", "plain"), ("lz4", "1.0", "dict"), ("none", "2.0", "dict"), ("brotli", "1.0", "plain")])
    func readsPyarrowFixtures(codec: String, version: String, dictionary: String) throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("fixture.parquet")
        try python(fixtureScript, [path, codec, version, dictionary])
        if codec == "brotli" {
            let error = #expect(throws: ParquetError.self) { try ourRawValues(path) }
            #expect(error?.message.contains("BROTLI compression is not supported") == true)
            return
        }
        let ours = try ourRawValues(path)
        let theirs = try pyarrowRawValues(path)
        #expect(ours.keys.sorted() == theirs.keys.sorted())
        for (name, values) in theirs {
            #expect(ours[name] == values, "column \(name)")
        }
        let reader = try ParquetReader(path: path)
        #expect(reader.rowGroupCount == 3)
        let types = Dictionary(uniqueKeysWithValues: reader.columns.map { ($0.name, $0.type.logical) })
        #expect(types["ts_ms"] == .timestamp(unit: .millis, adjustedToUTC: false))
        #expect(types["ts_us"] == .timestamp(unit: .micros, adjustedToUTC: true))
        #expect(types["ts_ns"] == .timestamp(unit: .nanos, adjustedToUTC: false))
        #expect(types["t_ms"] == .time(unit: .millis, adjustedToUTC: false))
        #expect(types["dec38"] == .decimal(precision: 38, scale: 10))
        #expect(types["u16"] == .integer(bitWidth: 16, signed: false))
        #expect(types["city"] == .string)
    }

    @Test("reads REQUIRED columns, lists with required elements, and lists whose element is named item (pyarrow non-compliant layout)")
    func requiredColumns() throws {
        let dir = try TemporaryDirectory()
        let script = """
        import sys
        import pyarrow as pa, pyarrow.parquet as pq
        schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string(), nullable=False),
                            pa.field("tags", pa.list_(pa.field("element", pa.int32(), nullable=False)), nullable=False),
                            pa.field("maybe", pa.list_(pa.field("element", pa.string(), nullable=False)))])
        rows = 2500
        table = pa.table({"id": list(range(rows)), "name": ["n%d" % (i % 7) for i in range(rows)],
                          "tags": [list(range(i % 4)) for i in range(rows)],
                          "maybe": [None if i % 3 == 0 else ["x"] * (i % 2) for i in range(rows)]}, schema=schema)
        pq.write_table(table, sys.argv[1] + "/required.parquet", row_group_size=1000)
        pq.write_table(table, sys.argv[1] + "/legacy.parquet", row_group_size=1000, use_compliant_nested_type=False,
                       data_page_version="2.0", compression="snappy")
        """
        try python(script, [dir.url.path])
        for name in ["required.parquet", "legacy.parquet"] {
            let path = dir.path(name)
            #expect(try ourRawValues(path) == pyarrowRawValues(path), "\(name)")
            let columns = try ParquetReader(path: path).columns
            #expect(columns.map(\.isNullable) == [false, false, false, true])
            #expect(columns.map(\.maxDefinition) == [0, 0, 1, 2])
        }
    }

    @Test("a file with no rows is valid for pyarrow, DuckDB and our reader")
    func emptyFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("empty.parquet")
        try writeParquet(path, TypedTable.columns) { _ in }
        let view = try pyarrowView(path)
        #expect(view.rowGroups == 0)
        #expect(view.values["tstz"] == [])
        #expect(view.columns.count == 19)
        #expect(try duckdbView(path).values["words"] == [])
        let reader = try ParquetReader(path: path)
        #expect(reader.rowGroupCount == 0)
        #expect(reader.columns.map(\.name) == TypedTable.columns.map(\.name))
    }
}
