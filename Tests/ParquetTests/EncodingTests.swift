import Foundation
@testable import Parquet
import TestSupport
import Testing

@Suite("Parquet encodings: RLE hybrid, Snappy, Thrift, decimals")
struct EncodingTests {
    @Test("the RLE/bit-packed hybrid matches the spec's example and round-trips mixed runs", arguments: [1, 2, 3, 7, 13, 20])
    func rleHybrid(width: Int) throws {
        // Encodings.md: 0..7 at width 3 bit-pack to 10001000 11000110 11111010.
        if width == 3 {
            let out = ByteBuffer()
            [UInt8](0...7).withUnsafeBufferPointer { encodeRLEHybrid($0, bitWidth: 3, into: out) }
            #expect(out.array == [0x03, 0x88, 0xC6, 0xFA])
        }
        let mask = UInt32((1 << width) - 1)
        var values: [UInt32] = []
        for i in 0..<5000 {
            values.append(i % 300 < 100 ? 5 & mask : UInt32(truncatingIfNeeded: i &* 2_654_435_761) & mask)
        }
        let out = ByteBuffer()
        values.withUnsafeBufferPointer { encodeRLEHybrid($0, bitWidth: width, into: out) }
        var decoded = [UInt32](repeating: 0, count: values.count)
        var decoder = RLEHybridDecoder(out.bytes, bitWidth: width)
        try decoded.withUnsafeMutableBufferPointer { try decoder.decode(values.count, into: $0.baseAddress!) }
        #expect(decoded == values)
    }

    @Test("Snappy blocks made by pyarrow's codec decode exactly, including overlapping copies")
    func snappy() throws {
        let dir = try TemporaryDirectory()
        let script = """
        import sys, random
        import pyarrow as pa
        random.seed(7)
        parts = [b"abcabcabcabcabcabc" * 50, bytes(random.getrandbits(8) for _ in range(70000)), b"x" * 100000,
                 "Zürich 東京 ".encode() * 999, b""]
        data = b"".join(parts)
        open(sys.argv[1] + "/raw", "wb").write(data)
        open(sys.argv[1] + "/snappy", "wb").write(pa.compress(data, codec="snappy", asbytes=True))
        """
        try python(script, [dir.url.path])
        let raw = try Data(contentsOf: URL(fileURLWithPath: dir.path("raw")))
        let compressed = try Data(contentsOf: URL(fileURLWithPath: dir.path("snappy")))
        var out = [UInt8](repeating: 0, count: raw.count)
        try compressed.withUnsafeBytes { input in
            try out.withUnsafeMutableBytes { try snappyDecompress(input, into: $0) }
        }
        #expect(Data(out) == raw)
        // A damaged block is an error, not garbage.
        var damaged = [UInt8](compressed)
        damaged.removeLast(10)
        #expect(throws: EncodingError.self) {
            try damaged.withUnsafeBytes { input in try out.withUnsafeMutableBytes { try snappyDecompress(input, into: $0) } }
        }
    }

    @Test("page headers survive a Thrift compact round trip")
    func thriftRoundTrip() throws {
        let header = PageHeader(type: 3, uncompressedPageSize: 123_456, compressedPageSize: 7890, crc: -5,
                                dataPageV2: DataPageHeaderV2(numValues: 1000, numNulls: 17, numRows: 900, encoding: 8,
                                                             definitionLevelsByteLength: 33, repetitionLevelsByteLength: 44, isCompressed: false))
        let out = ByteBuffer()
        var w = ThriftWriter(out)
        w.write(pageHeader: header)
        var r = ThriftReader(out.bytes)
        let back = try r.readPageHeader()
        #expect(back.type == 3 && back.uncompressedPageSize == 123_456 && back.compressedPageSize == 7890 && back.crc == -5)
        let v2 = try #require(back.dataPageV2)
        #expect(v2.numValues == 1000 && v2.numNulls == 17 && v2.numRows == 900 && v2.encoding == 8)
        #expect(v2.definitionLevelsByteLength == 33 && v2.repetitionLevelsByteLength == 44 && !v2.isCompressed)
        #expect(r.position == out.count)
    }

    @Test("decimal text converts to and from unscaled two's complement as Python's decimal does")
    func decimalText() throws {
        #expect(DecimalText.format(unscaled: 12345, scale: 2) == "123.45")
        #expect(DecimalText.format(unscaled: -5, scale: 3) == "-0.005")
        #expect(DecimalText.format(unscaled: 0, scale: 2) == "0.00")
        #expect(DecimalText.format(unscaled: Int64.min, scale: 0) == "-9223372036854775808")
        #expect(DecimalText.unscaledBigEndian("-0.005", scale: 3, width: 2) == [0xFF, 0xFB])
        #expect(DecimalText.unscaledBigEndian("1.5", scale: 3, width: 2) == [0x05, 0xDC])
        #expect(DecimalText.unscaledBigEndian("1.2345", scale: 3, width: 4) == nil)
        #expect(DecimalText.unscaledBigEndian("NaN", scale: 0, width: 4) == nil)
        #expect(DecimalText.unscaledBigEndian("40000", scale: 0, width: 2) == nil)
        #expect(DecimalText.unscaledBigEndian("-32768", scale: 0, width: 2) == [0x80, 0x00])
        let big = "-99999999999999999999999999999999999999"
        let bytes = try #require(DecimalText.unscaledBigEndian(big, scale: 0, width: 16))
        #expect(DecimalText.format(bigEndian: bytes, scale: 0) == big)
        #expect(DecimalText.format(bigEndian: bytes, scale: 10) == "-9999999999999999999999999999.9999999999")
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let result = try run("python3", ["-c", "import sys; print(int.from_bytes(bytes.fromhex(sys.argv[1]), 'big', signed=True))", hex])
        #expect(result.out.trimmingCharacters(in: .whitespacesAndNewlines) == big)
    }
}

@Suite("Parquet reader: legacy layouts")
struct LegacyLayoutTests {
    @Test("reads a two-level LIST (repeated primitive inside the LIST group) as pyarrow does")
    func twoLevelList() throws {
        // Rows: [1, 2], null, [], [3] in `optional group tags (LIST) { repeated int32 array; }`.
        let repetition: [UInt8] = [0, 1, 0, 0, 0], definition: [UInt8] = [2, 2, 0, 1, 2]
        let body = ByteBuffer()
        for (levels, width) in [(repetition, 1), (definition, 2)] {
            let encoded = ByteBuffer()
            levels.withUnsafeBufferPointer { encodeRLEHybrid($0, bitWidth: width, into: encoded) }
            body.appendLittleEndian(UInt32(encoded.count))
            body.append(encoded)
        }
        for v: Int32 in [1, 2, 3] { body.appendLittleEndian(v) }
        let file = ByteBuffer()
        file.append(Array("PAR1".utf8))
        var header = ThriftWriter(file)
        header.write(pageHeader: PageHeader(type: 0, uncompressedPageSize: Int32(body.count), compressedPageSize: Int32(body.count),
                                            dataPage: DataPageHeader(numValues: 5, encoding: 0, definitionLevelEncoding: 3, repetitionLevelEncoding: 3)))
        file.append(body)
        var group = SchemaElement(name: "tags", numChildren: 1)
        group.repetition = .optional
        group.convertedType = 3
        var element = SchemaElement(name: "array")
        element.type = .int32
        element.repetition = .repeated
        let chunk = ColumnMetaData(type: .int32, encodings: [0, 3], pathInSchema: ["tags", "array"], codec: .uncompressed, numValues: 5,
                                   totalUncompressedSize: Int64(file.count - 4), totalCompressedSize: Int64(file.count - 4), dataPageOffset: 4)
        let meta = FileMetaData(version: 1, schema: [SchemaElement(name: "schema", numChildren: 1), group, element], numRows: 4,
                                rowGroups: [RowGroup(columns: [ColumnChunk(fileOffset: 4, metaData: chunk)], totalByteSize: Int64(file.count - 4), numRows: 4)],
                                keyValueMetadata: [], createdBy: "hand-made", columnOrderCount: 0, encrypted: false)
        let footerStart = file.count
        var footer = ThriftWriter(file)
        footer.write(fileMetaData: meta)
        file.appendLittleEndian(UInt32(file.count - footerStart))
        file.append(Array("PAR1".utf8))
        let dir = try TemporaryDirectory()
        let path = dir.path("two-level.parquet")
        try Data(file.array).write(to: URL(fileURLWithPath: path))

        let reader = try ParquetReader(path: path)
        #expect(reader.columns.first?.isList == true && reader.columns.first?.elementIsNullable == false)
        let data = try reader.read(rowGroup: 0, column: 0)
        #expect(data.cells() == [.list([0, 1]), .null, .list([]), .list([2])])
        #expect(data.values == .int32([1, 2, 3]))
        #expect(try pyarrowRawValues(path) == ["tags": ["[1,2]", nil, "[]", "[3]"]])
    }
}
