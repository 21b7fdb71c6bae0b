import RowFormats
import RowStream
import Testing

/// Renders the binary form that `TextParse` makes of `text`, as PostgreSQL's text form.
func roundTrip(_ kind: ScalarKind, _ text: String, style: TextRender.Style = .iso) throws -> String {
    let binary = ByteBuffer()
    var t = text
    try t.withUTF8 { try TextParse.append(kind, UnsafeRawBufferPointer($0), labels: nil, to: binary) }
    let out = ByteBuffer()
    try TextRender.append(kind, binary.bytes, to: out, style: style)
    return String(decoding: out.bytes, as: UTF8.self)
}

@Suite("text forms")
struct RenderParseTests {
    @Test("numeric text survives binary exactly: scale, NaN, infinities, 40+ digits, exponents")
    func numeric() throws {
        for text in ["0", "1.500", "-0.000000000000000000000000000000000000000001", "123456789012345678901234567890.123456789012345",
                     "NaN", "Infinity", "-Infinity", "10000", "0.0001", "-99999999.99", "0.00", "100000000"] {
            #expect(try roundTrip(.numeric, text) == text)
        }
        #expect(try roundTrip(.numeric, "1.5e3") == "1500")
        #expect(try roundTrip(.numeric, "1.50e-2") == "0.0150")
        #expect(try roundTrip(.numeric, "-0.00") == "0.00")
    }

    @Test("dates and timestamps: BC, infinities, fractions, offsets applied for timestamptz")
    func dateTimes() throws {
        #expect(try roundTrip(.date, "0044-03-15 BC") == "0044-03-15 BC")
        #expect(try roundTrip(.date, "-infinity") == "-infinity")
        #expect(try roundTrip(.date, "2024-02-29") == "2024-02-29")
        #expect(try roundTrip(.timestamp, "294276-12-31 23:59:59.999999") == "294276-12-31 23:59:59.999999")
        #expect(try roundTrip(.timestamp, "4713-11-24 00:00:00 BC") == "4713-11-24 00:00:00 BC")
        #expect(try roundTrip(.timestamptz, "2024-02-29 12:34:56.5+05:30") == "2024-02-29 07:04:56.5+00")
        #expect(try roundTrip(.timestamptz, "2024-01-01T08:00:00.5+00:00", style: .xsd) == "2024-01-01T08:00:00.5+00:00")
        #expect(try roundTrip(.timetz, "23:59:59.999999-12") == "23:59:59.999999-12")
        #expect(try roundTrip(.timetz, "00:00:00+05:30") == "00:00:00+05:30")
        #expect(try roundTrip(.time, "24:00:00") == "24:00:00")
        #expect(try roundTrip(.date, "0469-02-29 BC") == "0469-02-29 BC")
        #expect(throws: ValueError.self) { try roundTrip(.date, "0468-02-29 BC") }
    }

    @Test("intervals in IntervalStyle postgres")
    func intervals() throws {
        for text in ["1 year 2 mons 3 days 04:05:06.789", "-178000000 years", "-1 days -00:00:01", "00:00:00",
                     "1 day", "-1 years -2 mons +3 days -04:00:00", "1 mon -00:00:00.5"] {
            #expect(try roundTrip(.interval, text) == text)
        }
    }

    @Test("network, identifiers and bytes")
    func misc() throws {
        #expect(try roundTrip(.inet, "::1") == "::1")
        #expect(try roundTrip(.inet, "::ffff:1.2.3.4") == "::ffff:1.2.3.4")
        #expect(try roundTrip(.inet, "192.168.1.1/24") == "192.168.1.1/24")
        #expect(try roundTrip(.cidr, "10.0.0.0/8") == "10.0.0.0/8")
        #expect(try roundTrip(.cidr, "2001:db8::/32") == "2001:db8::/32")
        #expect(try roundTrip(.inet, "2001:db8:0:0:1:0:0:1") == "2001:db8::1:0:0:1")
        #expect(try roundTrip(.macaddr, "08-00-2B-01-02-03") == "08:00:2b:01:02:03")
        #expect(try roundTrip(.uuid, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11") == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        #expect(try roundTrip(.bytea, "\\x00FF10") == "\\x00ff10")
        #expect(try roundTrip(.float8, "4.9e-324") == "5e-324")
        #expect(try roundTrip(.float8, "0.1") == "0.1")
        #expect(try roundTrip(.float8, "1e15") == "1e+15")
        #expect(try roundTrip(.float8, "123456789012345") == "123456789012345")
        #expect(try roundTrip(.float4, "1.5e-45") == "1e-45")
        #expect(try roundTrip(.float4, "-Infinity") == "-Infinity")
        // The shortest text lies exactly halfway to the neighbour: PostgreSQL takes the next precision.
        #expect(try roundTrip(.float8, "7.091871405092198e+16") == "7.0918714050921984e+16")
        #expect(try roundTrip(.float8, "2.258088298877245e+16") == "2.2580882988772448e+16")
    }

    @Test("values that do not parse name the reason")
    func errors() throws {
        #expect(throws: ValueError.self) { try roundTrip(.int2, "32768") }
        #expect(throws: ValueError.self) { try roundTrip(.date, "2023-02-29") }
        #expect(throws: ValueError.self) { try roundTrip(.numeric, "1.2.3") }
        #expect(throws: ValueError.self) { try roundTrip(.uuid, "nope") }
    }
}
