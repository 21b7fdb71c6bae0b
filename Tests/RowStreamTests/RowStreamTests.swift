import Foundation
import RowStream
import Testing

/// The test vectors under Tests/RowStreamTests/Vectors (hex with `#` comment lines), as bytes.
func vector(_ name: String) throws -> [UInt8] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors/\(name).hex")
    let text = try String(contentsOf: url, encoding: .utf8)
    let hex = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined()
    var bytes: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        bytes.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

let twoRowSchema = RowStreamSchema(
    table: .init(schema: "public", name: "t"),
    columns: [.init(name: "id", type: "integer", oid: 23, nullable: false), .init(name: "name", type: "text", oid: 25)],
    primaryKey: ["id"])

func bigEndian(_ v: Int32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }

/// Reads every row of a stream as arrays of optional byte arrays.
func readAll(_ reader: RowStreamReader) throws -> [[[UInt8]?]] {
    var rows: [[[UInt8]?]] = []
    while try reader.next() {
        rows.append((0..<(reader.fieldCount ?? 0)).map { reader.field($0).map { Array($0) } })
    }
    return rows
}

@Suite("rowstream format")
struct RowStreamTests {
    @Test("the writer produces the documented bytes of the two-row vector")
    func writerMatchesVector() throws {
        var out: [UInt8] = []
        let writer = try RowStreamWriter(schema: twoRowSchema) { out += $0 }
        try writer.beginRow()
        try writer.field(bigEndian(1))
        try writer.field(Array("a".utf8))
        try writer.beginRow()
        try writer.field(bigEndian(2))
        try writer.field(nil as [UInt8]?)
        try writer.finish()
        #expect(out == (try vector("two-rows")))
        #expect(writer.rows == 2)
        #expect(writer.bytes == UInt64(out.count))
    }

    @Test("the reader decodes the two-row vector: schema, field slices and NULL")
    func readerDecodesVector() throws {
        let reader = try RowStreamReader(bytes: try vector("two-rows"))
        #expect(reader.schema == twoRowSchema)
        let rows = try readAll(reader)
        #expect(rows == [[bigEndian(1), Array("a".utf8)], [bigEndian(2), nil]])
        #expect(reader.rows == 2)
        #expect(try reader.next() == false)
    }

    @Test("a stream without its trailer is an error, not a short success")
    func missingTrailer() throws {
        let reader = try RowStreamReader(bytes: try vector("truncated-no-trailer"))
        #expect(try reader.next())
        #expect(try reader.next())
        #expect(throws: RowStreamError.self) { try reader.next() }
    }

    @Test("a stream cut inside a tuple is an error")
    func cutMidTuple() throws {
        let reader = try RowStreamReader(bytes: try vector("truncated-mid-tuple"))
        #expect(try reader.next())
        let error = #expect(throws: RowStreamError.self) { try reader.next() }
        #expect(error?.message.contains("truncated") == true)
    }

    @Test("bytes after the trailer are an error")
    func trailingGarbage() throws {
        let reader = try RowStreamReader(bytes: try vector("trailing-garbage"))
        #expect(throws: RowStreamError.self) { _ = try readAll(reader) }
    }

    @Test("a plain COPY BINARY stream reads without a schema")
    func plainCopy() throws {
        let reader = try RowStreamReader(bytes: try vector("plain-copy"))
        #expect(reader.schema == nil)
        #expect(try readAll(reader).count == 2)
        #expect(reader.fieldCount == 2)
    }

    @Test("a cut header, a wrong signature and an unknown version are rejected")
    func badHeaders() throws {
        let good = try vector("two-rows")
        #expect(throws: RowStreamError.self) { _ = try RowStreamReader(bytes: []) }
        #expect(throws: RowStreamError.self) { _ = try RowStreamReader(bytes: Array(good[0..<30])) }
        var wrong = good
        wrong[0] = 0x51
        #expect(throws: RowStreamError.self) { _ = try RowStreamReader(bytes: wrong) }
        var version = good
        version[24] = 2
        let error = #expect(throws: RowStreamError.self) { _ = try RowStreamReader(bytes: version) }
        #expect(error?.message.contains("version") == true)
    }

    @Test("a schema without a required field is rejected, naming the field")
    func schemaMissingField() throws {
        let json = Array(#"{"columns":[{"name":"id","oid":23}],"partition_key":[],"primary_key":[],"table":{"name":"t","schema":"s"}}"#.utf8)
        var bytes = Array(RowStreamFormat.signature) + [0, 0, 0, 0]
        RowStreamFormat.appendBigEndian(UInt32(6 + json.count), to: &bytes)
        bytes += RowStreamFormat.extensionMagic + [0, 1] + json + RowStreamFormat.trailer
        let error = #expect(throws: RowStreamError.self) { _ = try RowStreamReader(bytes: bytes) }
        #expect(error?.message == "rowstream schema lacks \"columns[0].type\"")
    }

    @Test("a tuple with the wrong field count is rejected")
    func wrongFieldCount() throws {
        var bytes = try vector("two-rows")
        let firstTuple = bytes.count - 2 - (2 + 8 + 5) - (2 + 8 + 4)
        bytes[firstTuple + 1] = 3
        let reader = try RowStreamReader(bytes: bytes)
        #expect(throws: RowStreamError.self) { try reader.next() }
    }

    @Test("rows round-trip through refills and rows larger than the read buffer")
    func roundTripLarge() throws {
        var out: [UInt8] = []
        let writer = try RowStreamWriter(schema: twoRowSchema, flushSize: 1000) { out += $0 }
        var expected: [[[UInt8]?]] = []
        for i in 0..<5000 {
            let text: [UInt8]? = i % 7 == 0 ? nil : Array(String(repeating: "x", count: i % 300 == 1 ? 200_000 : i % 50).utf8)
            try writer.beginRow()
            try writer.field(bigEndian(Int32(i)))
            try writer.field(text)
            expected.append([bigEndian(Int32(i)), text])
        }
        try writer.finish()
        var offset = 0
        let reader = try RowStreamReader(bufferSize: 64) { buffer in
            let n = min(buffer.count, out.count - offset, 777)
            out.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + n)])) }
            offset += n
            return n
        }
        #expect(try readAll(reader) == expected)
    }

    @Test("the same schema always encodes to the same bytes")
    func deterministicHeader() throws {
        #expect(try RowStreamFormat.header(for: twoRowSchema) == (try RowStreamFormat.header(for: twoRowSchema)))
        let header = try RowStreamFormat.header(for: twoRowSchema)
        #expect(Array(header[19..<23]) == Array("PGRS".utf8))
    }
}

@Suite("type table")
struct TypeTableTests {
    @Test("built-in OIDs map to their kinds, arrays to their element kinds")
    func builtins() {
        #expect(TypeTable.kind(of: .init(name: "a", type: "bigint", oid: 20)) == .scalar(.int8))
        #expect(TypeTable.kind(of: .init(name: "a", type: "numeric(10,2)", oid: 1700, typmod: 655366)) == .scalar(.numeric))
        #expect(TypeTable.kind(of: .init(name: "a", type: "integer[]", oid: 1007, elementOID: 23)) == .array(.int4))
        #expect(TypeTable.kind(of: .init(name: "a", type: "jsonb", oid: 3802)) == .scalar(.jsonb))
    }

    @Test("enums are known by their labels, other unknown OIDs have no kind")
    func enumsAndUnknown() {
        #expect(TypeTable.kind(of: .init(name: "a", type: "mood", oid: 16_500, enumLabels: ["sad", "ok"])) == .scalar(.enumeration))
        #expect(TypeTable.kind(of: .init(name: "a", type: "mood[]", oid: 16_499, elementOID: 16_500, enumLabels: ["sad"])) == .array(.enumeration))
        #expect(TypeTable.kind(of: .init(name: "a", type: "point", oid: 600)) == nil)
        #expect(TypeTable.isNative(oid: 600, isEnum: false) == false)
    }
}
