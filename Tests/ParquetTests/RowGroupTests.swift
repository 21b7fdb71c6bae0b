import Foundation
import Parquet
import TestSupport
import Testing

@Suite("Parquet writer: row groups, dictionaries and statistics")
struct RowGroupTests {
    /// Facts pyarrow reports about a file's layout, per row group and column.
    private struct Layout: Decodable {
        var rowGroups: [[String: Int]]
        var encodings: [String: [String]]
        var statistics: [String: [String?]]
        var rows: Int
        var sum: Int?
    }

    private func layout(_ path: String, sumColumn: String? = nil) throws -> Layout {
        let script = """
        import sys, json
        import pyarrow.parquet as pq, pyarrow.compute as pc
        f = pq.ParquetFile(sys.argv[1], page_checksum_verification=True)
        m = f.metadata
        groups = [{"rows": m.row_group(i).num_rows, "bytes": m.row_group(i).total_byte_size} for i in range(m.num_row_groups)]
        enc, stats = {}, {}
        for c in range(m.num_columns):
            col = m.row_group(0).column(c)
            enc[col.path_in_schema] = sorted(set(e for g in range(m.num_row_groups) for e in m.row_group(g).column(c).encodings))
            s = col.statistics
            stats[col.path_in_schema] = [repr(s.min) if s.has_min_max else None, repr(s.max) if s.has_min_max else None, str(s.null_count)]
        t = f.read()
        out = {"rowGroups": groups, "encodings": enc, "statistics": stats, "rows": t.num_rows}
        if len(sys.argv) > 2: out["sum"] = pc.sum(t.column(sys.argv[2])).as_py()
        print(json.dumps(out))
        """
        let result = try run("python3", ["-c", script, path] + (sumColumn.map { [$0] } ?? []))
        guard result.status == 0 else { throw TestFailure("python failed: \(result.err)") }
        return try JSONDecoder().decode(Layout.self, from: result.stdout)
    }

    @Test("a small byte bound gives at least 3 row groups, each near the bound, with every row intact")
    func byteBoundedRowGroups() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("groups.parquet")
        var options = ParquetWriterOptions()
        options.rowGroupBytes = 256 << 10
        options.pageBytes = 16 << 10
        var expectedSum = 0
        try writeParquet(path, [ColumnSpec("n", .int64), ColumnSpec("s", .string)], options) { w in
            for i in 0..<60_000 {
                w.append(0, Int64(i))
                expectedSum += i
                w.append(1, string: "row \(i) " + String(repeating: "x", count: i % 11))
                try w.endRow()
            }
        }
        let l = try layout(path, sumColumn: "n")
        #expect(l.rowGroups.count >= 3)
        #expect(l.rows == 60_000)
        #expect(l.sum == expectedSum)
        for g in l.rowGroups.dropLast() {
            // Uncompressed size stays within the bound plus one page per column and the dictionary.
            #expect(g["bytes"]! <= (256 << 10) + 2 * (16 << 10) + 64 << 10, "\(g)")
        }
    }

    @Test("a row cap closes row groups at exactly that many rows")
    func rowCappedRowGroups() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("capped.parquet")
        var options = ParquetWriterOptions()
        options.rowGroupRows = 1000
        try writeParquet(path, [ColumnSpec("n", .int32)], options) { w in
            for i in 0..<2500 {
                w.append(0, Int32(i))
                try w.endRow()
            }
        }
        #expect(try layout(path).rowGroups.map { $0["rows"]! } == [1000, 1000, 500])
    }

    @Test("repetitive text is dictionary-encoded; a dictionary that grows too large falls back to PLAIN")
    func dictionaryFallback() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("dict.parquet")
        var options = ParquetWriterOptions()
        options.dictionaryBytes = 32 << 10
        var expected: [String] = []
        try writeParquet(path, [ColumnSpec("few", .string), ColumnSpec("many", .string)], options) { w in
            for i in 0..<20_000 {
                w.append(0, string: ["red", "green", "blue"][i % 3])
                let unique = "unique value number \(i) with some padding to make it long"
                expected.append(unique)
                w.append(1, string: unique)
                try w.endRow()
            }
        }
        let l = try layout(path)
        #expect(l.encodings["few"] == ["PLAIN", "RLE", "RLE_DICTIONARY"])
        #expect(l.encodings["many"] == ["PLAIN", "RLE", "RLE_DICTIONARY"])
        let values = try pyarrowRawValues(path)
        #expect(values["many"] == expected)
        #expect(values["few"]?.prefix(4) == ["red", "green", "blue", "red"])
        #expect(try ourRawValues(path) == values)
    }

    @Test("min/max statistics follow each logical type's order and null counts are exact")
    func statistics() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path("typed.parquet")
        try TypedTable.write(path)
        let s = try layout(path).statistics
        #expect(s["small"] == ["-32768", "32767", "1"])
        #expect(s["big"] == ["-9223372036854775808", "9223372036854775807", "1"])
        #expect(s["real"] == ["-0.0", "inf", "1"])
        #expect(s["dbl"] == ["-1e+300", "2.5", "1"])
        #expect(s["flag"] == ["False", "True", "1"])
        #expect(s["d5"] == ["Decimal('-999.99')", "Decimal('123.45')", "1"])
        #expect(s["d30"] == ["Decimal('-12345678901234567890123456.7890')", "Decimal('12345678901234567890123456.7890')", "1"])
        #expect(s["text"] == ["''", "'日本語 🎉'", "1"])
        #expect(s["id"]?[2] == "1")
        #expect(s["ts"] == ["datetime.datetime(1969, 12, 31, 23, 59, 59, 999999)", "datetime.datetime(2024, 1, 1, 12, 34, 56, 123456)", "1"])
        // List leaves: null lists, empty lists and null elements all count as nulls at the leaf.
        #expect(s["ints.list.element"] == ["1", "7", "3"])
    }

    @Test("the writer refuses levels out of range, codecs it cannot write and columns it cannot declare")
    func refusedOptions() throws {
        var options = ParquetWriterOptions()
        options.level = 23
        #expect(throws: ParquetError("ZSTD level 23 is out of range (1-22)")) {
            try ParquetWriter(columns: [ColumnSpec("n", .int64)], options: options) { _ in }
        }
        options.codec = .snappy
        options.level = 1
        #expect(throws: ParquetError("the writer does not support SNAPPY compression")) {
            try ParquetWriter(columns: [ColumnSpec("n", .int64)], options: options) { _ in }
        }
        #expect(throws: ParquetError("a Parquet file needs at least one column")) {
            try ParquetWriter(columns: []) { _ in }
        }
    }

    @Test("a row missing a column's value is refused at the end of the row, naming the column")
    func incompleteRow() throws {
        let w = try ParquetWriter(columns: [ColumnSpec("a", .int64), ColumnSpec("b", .string)]) { _ in }
        w.append(0, Int64(1))
        #expect(throws: ParquetError("column \"b\" has 0 values in a row group of 1 rows (row 1)")) { try w.endRow() }
    }
}
