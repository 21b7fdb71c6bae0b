import Foundation
import Parquet
import TestSupport
import Testing

@Suite("Parquet reader: corrupt files and unsupported features fail with what and where")
struct RefusalTests {
    /// A zstd file of 5000 rows, one int64 column "n" and one string column "s".
    private func sample(_ dir: TemporaryDirectory) throws -> (path: String, bytes: [UInt8]) {
        let path = dir.path("sample.parquet")
        try writeParquet(path, [ColumnSpec("n", .int64), ColumnSpec("s", .string)]) { w in
            for i in 0..<5000 {
                w.append(0, Int64(i * 7919 % 100_003))
                w.append(1, string: "value \(i % 17)")
                try w.endRow()
            }
        }
        return (path, Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    private func damaged(_ dir: TemporaryDirectory, _ bytes: [UInt8]) throws -> String {
        let path = dir.path("damaged-\(UUID().uuidString).parquet")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Every column chunk's values and levels, by position.
    private func physicalValues(_ path: String) throws -> [[[ColumnValues]]] {
        let reader = try ParquetReader(path: path)
        return try (0..<reader.rowGroupCount).map { g in
            try reader.columns.indices.map { c in
                let data = try reader.read(rowGroup: g, column: c)
                return [data.values, .int32(data.definitionLevels.map { Int32($0) })]
            }
        }
    }

    /// The message of the error reading every column of `path` throws.
    private func failure(_ path: String) -> String {
        do {
            let reader = try ParquetReader(path: path)
            for g in 0..<reader.rowGroupCount {
                for c in reader.columns.indices { _ = try reader.read(rowGroup: g, column: c) }
            }
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test("bad magic at the start names byte 0")
    func badMagic() throws {
        let dir = try TemporaryDirectory()
        var (_, bytes) = try sample(dir)
        bytes[0] = UInt8(ascii: "X")
        let path = try damaged(dir, bytes)
        #expect(failure(path) == "\"\(path)\" is not a Parquet file: bad magic at byte 0 (expected PAR1)")
    }

    @Test("a truncated file is reported as truncated at its last bytes")
    func truncated() throws {
        let dir = try TemporaryDirectory()
        let (_, bytes) = try sample(dir)
        let path = try damaged(dir, Array(bytes[0..<(bytes.count / 2)]))
        #expect(failure(path) == "\"\(path)\": bad magic at byte \(bytes.count / 2 - 4) (expected PAR1): the file is truncated or not Parquet")
        let tiny = try damaged(dir, Array("PAR1".utf8))
        #expect(failure(tiny) == "\"\(tiny)\" is not a Parquet file: 4 bytes is too short (truncated?)")
    }

    @Test("a corrupt footer names the byte where decoding failed")
    func corruptFooter() throws {
        let dir = try TemporaryDirectory()
        var (_, bytes) = try sample(dir)
        let length = Int(bytes[bytes.count - 8]) | Int(bytes[bytes.count - 7]) << 8 | Int(bytes[bytes.count - 6]) << 16
        let start = bytes.count - 8 - length
        for i in start..<(bytes.count - 8) { bytes[i] = 0xFF }
        let path = try damaged(dir, bytes)
        #expect(failure(path) == "\"\(path)\": corrupt footer at byte \(start + 1): unknown field type 15")
        var wrongLength = try sample(dir).bytes
        wrongLength[wrongLength.count - 5] = 0x7F
        let path2 = try damaged(dir, wrongLength)
        #expect(failure(path2).hasPrefix("\"\(path2)\": corrupt footer: length "))
    }

    @Test("a corrupt page names the column, row group and byte offset")
    func corruptPage() throws {
        let dir = try TemporaryDirectory()
        let (path, original) = try sample(dir)
        let meta = try #require(try ParquetReader(path: path).metadata.rowGroups.first?.columns.first?.metaData)
        let pageAt = Int(meta.dictionaryPageOffset ?? meta.dataPageOffset)
        // Damage the compressed body after the page header.
        var bytes = original
        for i in (pageAt + 40)..<(pageAt + 80) { bytes[i] ^= 0x5A }
        let path1 = try damaged(dir, bytes)
        let message = failure(path1)
        #expect(message == "\"\(path1)\": column \"n\", row group 0: corrupt page at byte \(pageAt): checksum mismatch")
        // Damage the page header itself.
        bytes = original
        for i in pageAt..<(pageAt + 4) { bytes[i] = 0xFF }
        let path2 = try damaged(dir, bytes)
        #expect(failure(path2).hasPrefix("\"\(path2)\": column \"n\", row group 0: corrupt page header at byte \(pageAt + 1): "), "\(failure(path2))")
    }

    @Test("DELTA encodings, INT96, nested structs and maps are refused by name")
    func unsupportedFeatures() throws {
        let dir = try TemporaryDirectory()
        let script = """
        import sys, datetime
        import pyarrow as pa, pyarrow.parquet as pq
        d = sys.argv[1]
        pq.write_table(pa.table({"n": pa.array([1, 2, 3], pa.int64())}), d + "/delta.parquet",
                       use_dictionary=False, column_encoding={"n": "DELTA_BINARY_PACKED"})
        pq.write_table(pa.table({"s": pa.array(["a", "b"], pa.string())}), d + "/delta_s.parquet",
                       use_dictionary=False, column_encoding={"s": "DELTA_BYTE_ARRAY"})
        pq.write_table(pa.table({"t": pa.array([datetime.datetime(2024, 1, 1)], pa.timestamp("us"))}), d + "/int96.parquet",
                       use_deprecated_int96_timestamps=True)
        pq.write_table(pa.table({"p": pa.array([{"x": 1, "y": "a"}])}), d + "/struct.parquet")
        pq.write_table(pa.table({"m": pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64()))}), d + "/map.parquet")
        """
        try python(script, [dir.url.path])
        let delta = dir.path("delta.parquet")
        #expect(failure(delta) == "\"\(delta)\": column \"n\", row group 0: values use DELTA_BINARY_PACKED encoding, which is not supported")
        let deltaString = dir.path("delta_s.parquet")
        #expect(failure(deltaString) == "\"\(deltaString)\": column \"s\", row group 0: values use DELTA_BYTE_ARRAY encoding, which is not supported")
        let int96 = dir.path("int96.parquet")
        #expect(failure(int96) == "\"\(int96)\": column \"t\" is INT96 (legacy timestamps), which is not supported")
        let nested = dir.path("struct.parquet")
        #expect(failure(nested) == "\"\(nested)\": column \"p\" is a nested struct, which is not supported")
        let map = dir.path("map.parquet")
        #expect(failure(map) == "\"\(map)\": column \"m\" is a nested MAP, which is not supported")
    }

    @Test("damaged bytes anywhere give a clean error or the right values, never a crash")
    func randomDamage() throws {
        let dir = try TemporaryDirectory()
        let (path, original) = try sample(dir)
        let good = try physicalValues(path)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for round in 0..<500 {
            var bytes = original
            // Half the rounds hit the footer region, where no checksum protects the bytes.
            let footerStart = original.count - 8 - (Int(original[original.count - 8]) | Int(original[original.count - 7]) << 8)
            let at = round % 2 == 0 ? footerStart + next() % (original.count - footerStart) : next() % original.count
            bytes[at] = UInt8(truncatingIfNeeded: next())
            if round % 3 == 0 { bytes.removeLast(next() % 64) }
            let damagedPath = try damaged(dir, bytes)
            let message = failure(damagedPath)
            if message == "no error" {
                // The damage hit bytes that do not matter, or only an annotation (Parquet has no footer checksum):
                // the stored values must still be the same.
                #expect(try physicalValues(damagedPath) == good, "round \(round), byte \(at)")
            } else {
                #expect(message.hasPrefix("\"\(damagedPath)\""), "round \(round): \(message)")
            }
            try FileManager.default.removeItem(atPath: damagedPath)
        }
    }
}
