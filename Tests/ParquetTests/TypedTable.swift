import Foundation
import Parquet
import TestSupport

/// The typed test table: one column per supported type, four rows with edge values and nulls,
/// and the canonical text independent readers must show for each value.
enum TypedTable {
    static let columns: [ColumnSpec] = [
        ColumnSpec("small", .int16),
        ColumnSpec("int", .int32),
        ColumnSpec("big", .int64),
        ColumnSpec("real", .float),
        ColumnSpec("dbl", .double),
        ColumnSpec("flag", .boolean),
        ColumnSpec("d5", .decimal(precision: 5, scale: 2)),
        ColumnSpec("d12", .decimal(precision: 12, scale: 3)),
        ColumnSpec("d30", .decimal(precision: 30, scale: 4)),
        ColumnSpec("text", .string),
        ColumnSpec("doc", .json),
        ColumnSpec("id", .uuid),
        ColumnSpec("day", .date),
        ColumnSpec("ts", .timestampMicros(adjustedToUTC: false)),
        ColumnSpec("tstz", .timestampMicros(adjustedToUTC: true)),
        ColumnSpec("t", .timeMicros),
        ColumnSpec("blob", .bytes),
        .list("ints", of: .int32),
        .list("words", of: .string),
    ]

    static let uuid: [UInt8] = [0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00]
    static let bigPositive: [UInt8] = [1, 142, 233, 15, 246, 195, 115, 224, 238, 78, 63, 10, 210]
    static let bigNegative: [UInt8] = [254, 113, 22, 240, 9, 60, 140, 31, 17, 177, 192, 245, 46]

    /// Canonical text per column (see Judges.swift), row by row.
    static let expected: [String: [String?]] = [
        "small": ["1", "-32768", "32767", nil],
        "int": ["0", "-2147483648", "2147483647", nil],
        "big": ["1", "-9223372036854775808", "9223372036854775807", nil],
        "real": ["1.5", "-0.0", "inf", nil],
        "dbl": ["0.1", "-1e+300", "2.5", nil],
        "flag": ["true", "false", "true", nil],
        "d5": ["123.45", "-999.99", "0.00", nil],
        "d12": ["123456789.012", "-1.500", "0.001", nil],
        "d30": ["12345678901234567890123456.7890", "-12345678901234567890123456.7890", "-0.0001", nil],
        "text": ["héllo", "日本語 🎉", "", nil],
        "doc": ["{\"a\": [1, 2]}", "[]", "\"ünï\"", nil],
        "id": ["123e4567e89b12d3a456426614174000", "00000000000000000000000000000000", "ffffffffffffffffffffffffffffffff", nil],
        "day": ["1970-01-01", "2024-01-01", "1969-12-31", nil],
        "ts": ["2024-01-01T12:34:56.123456", "1969-12-31T23:59:59.999999", "1970-01-01T00:00:00", nil],
        "tstz": ["2024-01-01T12:34:56.123456+00:00", "1969-12-31T23:59:59.999999+00:00", "1970-01-01T00:00:00+00:00", nil],
        "t": ["00:00:00", "23:59:59.999999", "01:02:03.000001", nil],
        "blob": ["00ff10", "", "deadbeef", nil],
        "ints": ["[1,null,3]", "[]", "[7]", nil],
        "words": ["[a,héllo]", "[null]", "[]", nil],
    ]

    /// Writes the table with `codec` into `dir`; returns the file's path.
    static func file(codec: CompressionCodec, in dir: TemporaryDirectory, metadata: [KeyValue] = []) throws -> String {
        var options = ParquetWriterOptions()
        options.codec = codec
        options.level = codec == .gzip ? 6 : 3
        options.keyValueMetadata = metadata
        let path = dir.path("typed-\(codec).parquet")
        try write(path, options: options)
        return path
    }

    /// Writes the table to `path` with `options`.
    static func write(_ path: String, options: ParquetWriterOptions = ParquetWriterOptions()) throws {
        let file = try FileHandleSink(path: path)
        let w = try ParquetWriter(columns: columns, options: options, output: file.write)
        func bytes(_ column: Int, _ b: [UInt8]) { b.withUnsafeBytes { w.append(column, bytes: $0) } }
        // Row 1.
        w.append(0, Int32(1)); w.append(1, Int32(0)); w.append(2, Int64(1)); w.append(3, Float(1.5)); w.append(4, 0.1)
        w.append(5, true); w.append(6, Int32(12345)); w.append(7, Int64(123_456_789_012)); bytes(8, bigPositive)
        w.append(9, string: "héllo"); w.append(10, string: "{\"a\": [1, 2]}"); bytes(11, uuid); w.append(12, Int32(0))
        w.append(13, Int64(1_704_112_496_123_456)); w.append(14, Int64(1_704_112_496_123_456)); w.append(15, Int64(0))
        bytes(16, [0x00, 0xff, 0x10])
        w.beginList(17); w.append(17, Int32(1)); w.appendNull(17); w.append(17, Int32(3)); w.endList(17)
        w.beginList(18); w.append(18, string: "a"); w.append(18, string: "héllo"); w.endList(18)
        try w.endRow()
        // Row 2: minimum values.
        w.append(0, Int32(Int16.min)); w.append(1, Int32.min); w.append(2, Int64.min); w.append(3, Float(-0.0)); w.append(4, -1e300)
        w.append(5, false); w.append(6, Int32(-99999)); w.append(7, Int64(-1500)); bytes(8, bigNegative)
        w.append(9, string: "日本語 🎉"); w.append(10, string: "[]"); bytes(11, [UInt8](repeating: 0, count: 16)); w.append(12, Int32(19723))
        w.append(13, Int64(-1)); w.append(14, Int64(-1)); w.append(15, Int64(86_399_999_999))
        bytes(16, [])
        w.beginList(17); w.endList(17)
        w.beginList(18); w.appendNull(18); w.endList(18)
        try w.endRow()
        // Row 3: maximum values.
        w.append(0, Int32(Int16.max)); w.append(1, Int32.max); w.append(2, Int64.max); w.append(3, Float.infinity); w.append(4, 2.5)
        w.append(5, true); w.append(6, Int32(0)); w.append(7, Int64(1)); w.appendDecimal(8, unscaled: -1)
        w.append(9, string: ""); w.append(10, string: "\"ünï\""); bytes(11, [UInt8](repeating: 0xff, count: 16)); w.append(12, Int32(-1))
        w.append(13, Int64(0)); w.append(14, Int64(0)); w.append(15, Int64(3_723_000_001))
        bytes(16, [0xde, 0xad, 0xbe, 0xef])
        w.beginList(17); w.append(17, Int32(7)); w.endList(17)
        w.beginList(18); w.endList(18)
        try w.endRow()
        // Row 4: nulls everywhere.
        for c in columns.indices { w.appendNull(c) }
        try w.endRow()
        try w.finish()
        try file.close()
    }
}

/// Writes a Parquet file at `path`: `rows` appends the rows, then the footer is written.
func writeParquet(_ path: String, _ columns: [ColumnSpec], _ options: ParquetWriterOptions = ParquetWriterOptions(),
                  rows: (ParquetWriter) throws -> Void) throws {
    let file = try FileHandleSink(path: path)
    let writer = try ParquetWriter(columns: columns, options: options, output: file.write)
    try rows(writer)
    try writer.finish()
    try file.close()
}

/// A file output for tests: appends bytes through FileHandle.
final class FileHandleSink {
    private let handle: FileHandle

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw TestFailure("cannot create \(path)") }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try handle.write(contentsOf: Data(bytes))
    }

    func close() throws { try handle.close() }
}
