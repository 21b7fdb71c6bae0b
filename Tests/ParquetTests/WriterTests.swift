import Foundation
import Parquet
import TestSupport
import Testing

@Suite("Parquet writer, judged by pyarrow and DuckDB")
struct WriterTests {
    static let codecs: [CompressionCodec] = [.zstd, .gzip, .lz4Raw, .uncompressed]

    @Test("pyarrow reads every type with the declared logical type and the right values", arguments: codecs)
    func pyarrowReadsEveryType(codec: CompressionCodec) throws {
        let dir = try TemporaryDirectory()
        let path = try TypedTable.file(codec: codec, in: dir, metadata: [KeyValue(key: "pgarchive.schema", value: "{\"columns\":[]}")])
        let view = try pyarrowView(path)
        #expect(view.values == TypedTable.expected)
        #expect(view.metadata?["pgarchive.schema"] == "{\"columns\":[]}")
        let logical = Dictionary(uniqueKeysWithValues: view.columns.map { ($0.path, $0.logical) })
        let physical = Dictionary(uniqueKeysWithValues: view.columns.map { ($0.path, $0.physical) })
        #expect(logical["small"]?.contains("\"bitWidth\":16") == true)
        #expect(physical["small"] == "INT32")
        #expect(logical["big"]?.contains("\"bitWidth\":64") == true)
        #expect(logical["d5"]?.contains("\"precision\":5,\"scale\":2") == true)
        #expect(physical["d5"] == "INT32")
        #expect(physical["d12"] == "INT64")
        #expect(physical["d30"] == "FIXED_LEN_BYTE_ARRAY")
        #expect(logical["text"]?.contains("String") == true)
        #expect(logical["doc"]?.contains("JSON") == true)
        #expect(logical["id"]?.contains("UUID") == true)
        #expect(logical["day"]?.contains("Date") == true)
        #expect(logical["ts"]?.contains("\"isAdjustedToUTC\":false,\"timeUnit\":\"microseconds\"") == true)
        #expect(logical["tstz"]?.contains("\"isAdjustedToUTC\":true,\"timeUnit\":\"microseconds\"") == true)
        #expect(logical["t"]?.contains("\"Type\":\"Time\"") == true)
        #expect(physical["blob"] == "BYTE_ARRAY")
        #expect(logical["blob"] == "{\"Type\":\"None\"}")
        #expect(physical["ints.list.element"] == "INT32")
        #expect(logical["words.list.element"]?.contains("String") == true)
    }

    @Test("DuckDB reads every type with the matching SQL type and the right values", arguments: codecs)
    func duckdbReadsEveryType(codec: CompressionCodec) throws {
        let dir = try TemporaryDirectory()
        let path = try TypedTable.file(codec: codec, in: dir)
        let view = try duckdbView(path)
        #expect(view.values == TypedTable.expected)
        let types = Dictionary(uniqueKeysWithValues: view.columns.map { ($0.path, $0.logical) })
        #expect(types == [
            "small": "SMALLINT", "int": "INTEGER", "big": "BIGINT", "real": "FLOAT", "dbl": "DOUBLE", "flag": "BOOLEAN",
            "d5": "DECIMAL(5,2)", "d12": "DECIMAL(12,3)", "d30": "DECIMAL(30,4)", "text": "VARCHAR", "doc": "JSON", "id": "UUID",
            "day": "DATE", "ts": "TIMESTAMP", "tstz": "TIMESTAMP WITH TIME ZONE", "t": "TIME", "blob": "BLOB",
            "ints": "INTEGER[]", "words": "VARCHAR[]",
        ])
    }
}
