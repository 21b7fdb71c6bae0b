import RowDigest
import RowStream
import Testing

/// xxHash's sanity-test buffer: byte i is the top byte of PRIME32 · PRIME64^i (mod 2^64).
func sanityBuffer(_ count: Int) -> [UInt8] {
    var generator: UInt64 = 2_654_435_761
    return (0..<count).map { _ in
        defer { generator = generator &* 11_400_714_785_074_694_797 }
        return UInt8(generator >> 56)
    }
}

let prime32: UInt64 = 2_654_435_761
let prime64: UInt64 = 11_400_714_785_074_694_797

/// XXH3-128 known answers from xxHash's sanity check (length, seed, low 64 bits, high 64 bits):
/// every size class of the specification — empty, 1–3, 4–8, 9–16, 17–128, 129–240, one block,
/// several blocks, overlapping last stripe — with and without a seed.
let xxh3Vectors: [(Int, UInt64, UInt64, UInt64)] = [
    (0, 0, 0x6001_C324_468D_497F, 0x99AA_06D3_0147_98D8),
    (0, prime32, 0x5444_F786_9C67_1AB0, 0x9222_0AE5_5E14_AB50),
    (1, 0, 0xC44B_DFF4_074E_ECDB, 0xA6CD_5E93_9200_0F6A),
    (1, prime32, 0xB53D_5557_E7F7_6F8D, 0x89B9_9554_BA22_467C),
    (6, 0, 0x3E70_39BD_DA43_CFC6, 0x082A_FE0B_8162_D12A),
    (6, prime32, 0x269D_8F70_BE98_856E, 0x5A86_5B53_89AB_D2B1),
    (12, 0, 0x061A_1927_13F6_9AD9, 0x6E3E_FD8F_C780_2B18),
    (12, prime32, 0x9BE9_F9A6_7F3C_7DFB, 0xD7E0_9D51_8A34_05D3),
    (24, 0, 0x1E70_44D2_8B1B_901D, 0x0CE9_66E4_678D_3761),
    (24, prime32, 0xD730_4C54_EBAD_40A9, 0x3162_0267_14A6_A243),
    (48, 0, 0xF942_219A_ED80_F67B, 0xA002_AC4E_5478_227E),
    (48, prime32, 0x7BA3_C3E4_53A1_934E, 0x163A_DDE3_6C07_2295),
    (81, 0, 0x5E8B_AFB9_F95F_B803, 0x4952_F581_81AB_0042),
    (81, prime32, 0x703F_BB3D_7A5F_755C, 0x2724_EC7A_DC75_0FB6),
    (222, 0, 0xF1AE_BD59_7CEC_6B3A, 0x337E_0964_1B94_8717),
    (222, prime32, 0xAE99_5BB8_AF91_7A8D, 0x9182_0016_621E_97F1),
    (403, 0, 0xCDEB_804D_65C6_DEA4, 0x1B6D_E21E_332D_D73D),
    (403, prime64, 0x6259_F6EC_FD64_43FD, 0xBED3_1197_1E0B_E8F2),
    (512, 0, 0x617E_4959_9013_CB6B, 0x18D2_D110_DCC9_BCA1),
    (512, prime64, 0x3CE4_57DE_14C2_7708, 0x925D_06B8_EC5B_8040),
    (2048, 0, 0xDD59_E2C3_A5F0_38E0, 0xF736_557F_D470_73A5),
    (2048, prime32, 0x230D_43F3_0206_260B, 0x7FB0_3F7E_7186_C3EA),
    (2240, 0, 0x6E73_A905_39CF_2948, 0xCCB1_34FB_FA7C_E49D),
    (2240, prime32, 0xED38_5111_126F_BA6F, 0x50A1_FE17_B338_995F),
    (2367, 0, 0xCB37_AEB9_E5D3_61ED, 0xE89C_0F6F_F369_B427),
    (2367, prime32, 0x6F53_60AE_69C2_F406, 0xD23A_AE4B_76C3_1ECB),
]

func be32(_ v: Int32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
func be16(_ v: Int16) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
func be64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }

/// A tuple: field count, then each field as length and bytes (nil = NULL).
func tuple(_ fields: [[UInt8]?]) -> [UInt8] {
    var out = be16(Int16(fields.count))
    for field in fields {
        if let field { out += be32(Int32(field.count)) + field } else { out += be32(-1) }
    }
    return out
}

func column(_ name: String, _ type: String, _ oid: UInt32, element: UInt32? = nil, labels: [String]? = nil) -> RowStreamSchema.Column {
    var c = RowStreamSchema.Column(name: name, type: type, oid: oid)
    c.elementOID = element
    c.enumLabels = labels
    return c
}

/// numeric binary form: ndigits, weight, sign, dscale, digits.
func numeric(weight: Int16, sign: UInt16 = 0, dscale: Int16, _ digits: [Int16]) -> [UInt8] {
    be16(Int16(digits.count)) + be16(weight) + be16(Int16(bitPattern: sign)) + be16(dscale) + digits.flatMap(be16)
}

/// int4[] binary form with one dimension.
func intArray(_ values: [Int32?], hasNulls: Bool? = nil, lowerBound: Int32 = 1, elementOID: Int32 = 23) -> [UInt8] {
    var out = be32(1) + be32((hasNulls ?? values.contains { $0 == nil }) ? 1 : 0) + be32(elementOID)
    out += be32(Int32(values.count)) + be32(lowerBound)
    for v in values { out += v.map { be32(4) + be32($0) } ?? be32(-1) }
    return out
}

func digest(_ schema: RowStreamSchema, _ tuples: [[UInt8]]) -> RowDigest {
    let digester = RowDigester(schema: schema)
    for t in tuples { t.withUnsafeBytes { digester.add(tuple: $0) } }
    return digester.digest
}

let typedSchema = RowStreamSchema(table: .init(schema: "public", name: "v"), columns: [
    column("f", "double precision", 701), column("r", "real", 700), column("n", "numeric", 1700),
    column("b", "boolean", 16), column("a", "integer[]", 1007, element: 23),
])

@Suite("row digest")
struct RowDigestTests {
    @Test("XXH3-128 gives xxHash's known answers in every size class, with and without a seed")
    func xxh3KnownAnswers() {
        let buffer = sanityBuffer(2367)
        for (length, seed, low, high) in xxh3Vectors {
            let hash = XXH3.hash128(Array(buffer[0..<length]), seed: seed)
            #expect(hash == XXH3.Hash128(low: low, high: high), "length \(length), seed \(seed)")
        }
    }

    @Test("XXH3-128's canonical text is big-endian, high half first")
    func xxh3Text() {
        #expect(XXH3.hash128([]).description == "99aa06d3014798d86001c324468d497f")
    }

    @Test("the two-row rowstream vector has the documented digest")
    func twoRowVector() {
        let schema = RowStreamSchema(table: .init(schema: "public", name: "t"), columns: [
            column("id", "integer", 23), column("name", "text", 25),
        ])
        let first = tuple([be32(1), Array("a".utf8)])
        let second = tuple([be32(2), nil])
        #expect(first == [0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0x61])
        #expect(XXH3.hash128(first).description == "511082c48381d78a7937cc827902abf3")
        #expect(XXH3.hash128(second).description == "063b0adb19adb9304faeb129ec4cc221")
        let d = digest(schema, [first, second])
        #expect(d.rows == 2)
        #expect(d.hex == "574b8d9f9d2f90bac8e67dac654f6e14")
        #expect(digest(schema, []).hex == String(repeating: "0", count: 32))
    }

    @Test("order does not matter; duplicates and missing rows do")
    func orderIndependence() {
        let schema = RowStreamSchema(table: .init(schema: "public", name: "t"), columns: [column("id", "bigint", 20)])
        let rows = (1...50).map { tuple([be64(UInt64($0))]) }
        let forward = digest(schema, rows)
        #expect(digest(schema, rows.reversed()) == forward)
        #expect(digest(schema, rows + [rows[3]]) != forward)
        #expect(digest(schema, Array(rows.dropLast())) != forward)
        var merged = digest(schema, Array(rows[0..<20]))
        merged.merge(digest(schema, Array(rows[20...])))
        #expect(merged == forward)
    }

    @Test("every NaN bit pattern is one value; -0.0 and 0.0 are two")
    func floats() {
        let quietNaN = tuple([be64(0x7FF8_0000_0000_0000), be32(0x7FC0_0000), nil, nil, nil])
        let otherNaN = tuple([be64(0xFFF8_0000_0000_0001), be32(Int32(bitPattern: 0xFFC0_0001)), nil, nil, nil])
        #expect(digest(typedSchema, [quietNaN]) == digest(typedSchema, [otherNaN]))
        let digester = RowDigester(schema: typedSchema)
        #expect(digester.canonicalEncoding(of: otherNaN) == quietNaN)
        let zero = tuple([be64(0), nil, nil, nil, nil])
        let negativeZero = tuple([be64(0x8000_0000_0000_0000), nil, nil, nil, nil])
        #expect(digest(typedSchema, [zero]) != digest(typedSchema, [negativeZero]))
    }

    @Test("numeric keeps its display scale but not redundant zero digit groups")
    func numerics() {
        let digester = RowDigester(schema: typedSchema)
        // 1.50 (dscale 2) and 1.5 (dscale 1) differ.
        let scale2 = tuple([nil, nil, numeric(weight: 0, dscale: 2, [1, 5000]), nil, nil])
        let scale1 = tuple([nil, nil, numeric(weight: 0, dscale: 1, [1, 5000]), nil, nil])
        #expect(digest(typedSchema, [scale2]) != digest(typedSchema, [scale1]))
        // 10000 as [1] weight 1 (PostgreSQL's form) and as [0, 1, 0] weight 2 are one value.
        let stripped = tuple([nil, nil, numeric(weight: 1, dscale: 0, [1]), nil, nil])
        let padded = tuple([nil, nil, numeric(weight: 2, dscale: 0, [0, 1, 0]), nil, nil])
        #expect(digester.canonicalEncoding(of: padded) == stripped)
        // Zero: no digits, weight 0, positive, whatever the input said.
        let zero = tuple([nil, nil, numeric(weight: 0, dscale: 3, []), nil, nil])
        let oddZero = tuple([nil, nil, numeric(weight: 5, sign: 0x4000, dscale: 3, [0, 0]), nil, nil])
        #expect(digester.canonicalEncoding(of: oddZero) == zero)
        // NaN: sign 0xC000 and nothing else.
        let nan = tuple([nil, nil, numeric(weight: 0, sign: 0xC000, dscale: 0, []), nil, nil])
        let oddNaN = tuple([nil, nil, numeric(weight: 3, sign: 0xC000, dscale: 2, []), nil, nil])
        #expect(digester.canonicalEncoding(of: oddNaN) == nan)
    }

    @Test("booleans are 0 or 1")
    func booleans() {
        let digester = RowDigester(schema: typedSchema)
        #expect(digester.canonicalEncoding(of: tuple([nil, nil, nil, [7], nil])) == tuple([nil, nil, nil, [1], nil]))
    }

    @Test("arrays: has-nulls flag recomputed, element OID 0, lower bound kept, elements canonical")
    func arrays() {
        let digester = RowDigester(schema: typedSchema)
        // (ARRAY[1,NULL,3])[1:1] keeps the has-nulls flag although it holds no NULL.
        let sliced = tuple([nil, nil, nil, nil, intArray([1], hasNulls: true)])
        let plain = tuple([nil, nil, nil, nil, intArray([1], hasNulls: false)])
        #expect(digest(typedSchema, [sliced]) == digest(typedSchema, [plain]))
        #expect(digester.canonicalEncoding(of: plain) == tuple([nil, nil, nil, nil, intArray([1], hasNulls: false, elementOID: 0)]))
        let withNull = tuple([nil, nil, nil, nil, intArray([1, nil])])
        #expect(digester.canonicalEncoding(of: withNull) == tuple([nil, nil, nil, nil, intArray([1, nil], elementOID: 0)]))
        let shifted = tuple([nil, nil, nil, nil, intArray([1], lowerBound: 0)])
        #expect(digest(typedSchema, [shifted]) != digest(typedSchema, [plain]))
        // Empty array: ndim 0, flags 0, element OID 0.
        let empty = tuple([nil, nil, nil, nil, be32(0) + be32(0) + be32(23)])
        #expect(digester.canonicalEncoding(of: empty) == tuple([nil, nil, nil, nil, be32(0) + be32(0) + be32(0)]))
        // Elements are canonical too: two NaN spellings in a float8[].
        let floats = RowStreamSchema(table: .init(schema: "public", name: "fa"), columns: [column("fa", "double precision[]", 1022, element: 701)])
        func floatArray(_ bits: UInt64) -> [UInt8] { tuple([be32(1) + be32(0) + be32(701) + be32(1) + be32(1) + be32(8) + be64(bits)]) }
        #expect(digest(floats, [floatArray(0x7FF8_0000_0000_0000)]) == digest(floats, [floatArray(0x7FF0_0000_0000_0001)]))
    }

    @Test("a value that does not parse as its type is hashed as it is")
    func malformed() {
        let digester = RowDigester(schema: typedSchema)
        let short = tuple([nil, nil, [1, 2, 3], nil, [9]])
        #expect(digester.canonicalEncoding(of: short) == short)
    }

    @Test("the hex form round-trips")
    func hexForm() {
        let d = RowDigest(rows: 3, high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
        #expect(d.hex == "0123456789abcdeffedcba9876543210")
        #expect(RowDigest.parseHex(d.hex)! == (0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210))
        #expect(RowDigest.parseHex("xyz") == nil)
    }
}
