#if canImport(Glibc)
import Glibc
#endif
import RowStream
import ToolSupport

/// Text (PostgreSQL's text forms, and the ISO 8601 forms of row_to_json) → binary wire form.
///
/// Each parser appends the binary value to `out` or throws a `ValueError` with a short reason.
public enum TextParse {
    /// Appends the binary form of `text` as a value of `kind`; `labels` are an enum's labels.
    public static func append(_ kind: ScalarKind, _ text: UnsafeRawBufferPointer, labels: [String]?, to out: ByteBuffer) throws {
        switch kind {
        case .text, .varchar, .bpchar, .name, .json:
            out.append(text)
        case .jsonb:
            out.append(1)
            out.append(text)
        case .enumeration:
            let label = String(decoding: text, as: UTF8.self)
            guard labels?.contains(label) ?? true else { throw ValueError("not a label of the enum: \(quoted(text))") }
            out.append(text)
        case .bool:
            out.append(try parseBool(text) ? 1 : 0)
        case .int2:
            out.appendBigEndian(Int16(try parseInteger(text, kind: kind, min: Int64(Int16.min), max: Int64(Int16.max))))
        case .int4:
            out.appendBigEndian(Int32(try parseInteger(text, kind: kind, min: Int64(Int32.min), max: Int64(Int32.max))))
        case .int8:
            out.appendBigEndian(try parseInteger(text, kind: kind, min: .min, max: .max))
        case .float4:
            guard let value = Float(special(text) ?? String(decoding: text, as: UTF8.self)), floatSyntax(text) else {
                throw ValueError("not a real: \(quoted(text))")
            }
            out.appendBigEndian(value.bitPattern)
        case .float8:
            guard let value = Double(special(text) ?? String(decoding: text, as: UTF8.self)), floatSyntax(text) else {
                throw ValueError("not a double precision: \(quoted(text))")
            }
            out.appendBigEndian(value.bitPattern)
        case .numeric:
            try NumericParse.append(text, to: out)
        case .date:
            var p = Scanner(text)
            out.appendBigEndian(try p.date())
        case .time:
            var p = Scanner(text)
            let micros = try p.clock(kind: "time")
            try p.end("time")
            out.appendBigEndian(micros)
        case .timetz:
            var p = Scanner(text)
            let micros = try p.clock(kind: "time with time zone")
            guard let offset = try p.offset() else { throw ValueError("time with time zone without an offset: \(quoted(text))") }
            try p.end("time with time zone")
            out.appendBigEndian(micros)
            out.appendBigEndian(Int32(-offset))
        case .timestamp, .timestamptz:
            var p = Scanner(text)
            out.appendBigEndian(try p.timestamp(zoned: kind == .timestamptz))
        case .interval:
            var p = Scanner(text)
            let (micros, days, months) = try p.interval()
            out.appendBigEndian(micros)
            out.appendBigEndian(days)
            out.appendBigEndian(months)
        case .bytea:
            guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x") || text[1] == UInt8(ascii: "X"),
                  text.count % 2 == 0 else { throw ValueError("not a bytea in hex form (\\x…): \(quoted(text, limit: 20))") }
            var i = 2
            while i < text.count {
                guard let hi = hexDigitValue(text[i]), let lo = hexDigitValue(text[i + 1]) else { throw ValueError("invalid hex digit in bytea") }
                out.append(hi << 4 | lo)
                i += 2
            }
        case .uuid:
            var nibbles: [UInt8] = []
            nibbles.reserveCapacity(32)
            for byte in text where byte != UInt8(ascii: "-") {
                guard let n = hexDigitValue(byte) else { throw ValueError("not a uuid: \(quoted(text))") }
                nibbles.append(n)
            }
            guard nibbles.count == 32 else { throw ValueError("not a uuid: \(quoted(text))") }
            for i in 0..<16 { out.append(nibbles[2 * i] << 4 | nibbles[2 * i + 1]) }
        case .macaddr:
            var nibbles: [UInt8] = []
            for byte in text where byte != UInt8(ascii: ":") && byte != UInt8(ascii: "-") && byte != UInt8(ascii: ".") {
                guard let n = hexDigitValue(byte) else { throw ValueError("not a macaddr: \(quoted(text))") }
                nibbles.append(n)
            }
            guard nibbles.count == 12 else { throw ValueError("not a macaddr: \(quoted(text))") }
            for i in 0..<6 { out.append(nibbles[2 * i] << 4 | nibbles[2 * i + 1]) }
        case .inet, .cidr:
            try appendNetwork(text, cidr: kind == .cidr, to: out)
        }
    }

    /// The text quoted for a message, shortened when long.
    static func quoted(_ text: UnsafeRawBufferPointer, limit: Int = 40) -> String {
        let s = String(decoding: text.prefix(limit), as: UTF8.self)
        return "\"" + s + (text.count > limit ? "…" : "") + "\""
    }

    static func parseBool(_ text: UnsafeRawBufferPointer) throws -> Bool {
        switch String(decoding: text, as: UTF8.self).lowercased() {
        case "t", "true", "y", "yes", "on", "1": return true
        case "f", "false", "n", "no", "off", "0": return false
        default: throw ValueError("not a boolean: \(quoted(text))")
        }
    }

    static func parseInteger(_ text: UnsafeRawBufferPointer, kind: ScalarKind, min: Int64, max: Int64) throws -> Int64 {
        var i = 0
        let negative = text.first == UInt8(ascii: "-")
        if negative || text.first == UInt8(ascii: "+") { i = 1 }
        guard i < text.count else { throw ValueError("not an integer: \(quoted(text))") }
        var magnitude: UInt64 = 0
        while i < text.count {
            let d = text[i] &- 0x30
            guard d < 10 else { throw ValueError("not an integer: \(quoted(text))") }
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            guard !o1, !o2 else { throw ValueError("out of range for \(kind.rawValue): \(quoted(text))") }
            magnitude = s
            i += 1
        }
        let limit = negative ? min.magnitude : UInt64(max)
        guard magnitude <= limit else { throw ValueError("out of range for \(kind.rawValue): \(quoted(text))") }
        return negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(magnitude)
    }

    /// PostgreSQL's spellings of the special floats, as Swift reads them.
    static func special(_ text: UnsafeRawBufferPointer) -> String? {
        switch String(decoding: text, as: UTF8.self).lowercased() {
        case "nan": return "nan"
        case "infinity", "+infinity", "inf", "+inf": return "inf"
        case "-infinity", "-inf": return "-inf"
        default: return nil
        }
    }

    /// Rejects what Swift's float parser accepts but PostgreSQL does not (hex floats, empty text).
    static func floatSyntax(_ text: UnsafeRawBufferPointer) -> Bool {
        !text.isEmpty && !text.contains(UInt8(ascii: "x")) && !text.contains(UInt8(ascii: "X"))
    }

    static func appendNetwork(_ text: UnsafeRawBufferPointer, cidr: Bool, to out: ByteBuffer) throws {
        let s = String(decoding: text, as: UTF8.self)
        let parts = s.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let address = String(parts[0])
        var bytes = [UInt8](repeating: 0, count: 16)
        let family: UInt8
        let length: Int
        if inet_pton(AF_INET, address, &bytes) == 1 {
            family = 2
            length = 4
        } else if inet_pton(AF_INET6, address, &bytes) == 1 {
            family = 3
            length = 16
        } else {
            throw ValueError("not an \(cidr ? "cidr" : "inet") address: \(quoted(text))")
        }
        var bits = length * 8
        if parts.count == 2 {
            guard let b = Int(parts[1]), b >= 0, b <= length * 8 else { throw ValueError("invalid mask length: \(quoted(text))") }
            bits = b
        }
        out.append(family)
        out.append(UInt8(bits))
        out.append(cidr ? 1 : 0)
        out.append(UInt8(length))
        bytes.withUnsafeBytes { out.append(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }
}

/// Decimal text → PostgreSQL's binary numeric (base-10000 digits, weight, sign, display scale).
enum NumericParse {
    static func append(_ text: UnsafeRawBufferPointer, to out: ByteBuffer) throws {
        switch String(decoding: text.prefix(10), as: UTF8.self).lowercased() {
        case "nan": return header(0, 0, 0xC000, 0, to: out)
        case "infinity", "+infinity", "inf", "+inf": return header(0, 0, 0xD000, 0, to: out)
        case "-infinity", "-inf": return header(0, 0, 0xF000, 0, to: out)
        default: break
        }
        let bad = ValueError("not a numeric: \(TextParse.quoted(text))")
        var i = 0
        var negative = false
        if i < text.count, text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+") { negative = text[i] == UInt8(ascii: "-"); i += 1 }
        var digits: [UInt8] = []  // all significant digits as written, integer part then fraction
        var integerDigits = 0
        var fractionDigits = 0
        var seenPoint = false
        var any = false
        while i < text.count {
            let c = text[i]
            if c == UInt8(ascii: ".") {
                guard !seenPoint else { throw bad }
                seenPoint = true
            } else if c &- 0x30 < 10 {
                digits.append(c - 0x30)
                if seenPoint { fractionDigits += 1 } else { integerDigits += 1 }
                any = true
            } else {
                break
            }
            i += 1
        }
        guard any else { throw bad }
        var exponent = 0
        if i < text.count {
            guard text[i] == UInt8(ascii: "e") || text[i] == UInt8(ascii: "E") else { throw bad }
            i += 1
            var rest = UnsafeRawBufferPointer(rebasing: text[i...])
            if rest.first == UInt8(ascii: "+") { rest = UnsafeRawBufferPointer(rebasing: rest[1...]) }
            guard let e = try? TextParse.parseInteger(rest, kind: .int4, min: -1000, max: 1000) else { throw bad }
            exponent = Int(e)
        }
        // value = digits × 10^(exponent - fractionDigits); the point sits after `integerDigits + exponent` digits.
        let dscale = max(0, fractionDigits - exponent)
        let pointAt = integerDigits + exponent
        // Align to groups of four around the decimal point.
        let leadPad = ((4 - pointAt % 4) % 4 + 4) % 4
        let groupsBeforePoint = (pointAt + leadPad) / 4
        var groups: [Int16] = []
        var position = -leadPad
        while position < digits.count {
            var g = 0
            for k in 0..<4 {
                let at = position + k
                g = g * 10 + (at >= 0 && at < digits.count ? Int(digits[at]) : 0)
            }
            groups.append(Int16(g))
            position += 4
        }
        var weight = groupsBeforePoint - 1
        var first = 0
        while first < groups.count && groups[first] == 0 { first += 1; weight -= 1 }
        var last = groups.count
        while last > first && groups[last - 1] == 0 { last -= 1 }
        guard dscale <= 0x3FFF, weight <= Int(Int16.max), weight >= Int(Int16.min) else { throw ValueError("numeric out of range: \(TextParse.quoted(text))") }
        if first == last {
            return header(0, 0, 0, Int16(dscale), to: out)
        }
        guard last - first <= Int(UInt16.max) else { throw ValueError("numeric out of range: \(TextParse.quoted(text))") }
        header(UInt16(last - first), Int16(weight), negative ? 0x4000 : 0, Int16(dscale), to: out)
        for g in groups[first..<last] { out.appendBigEndian(g) }
    }

    static func header(_ ndigits: UInt16, _ weight: Int16, _ sign: UInt16, _ dscale: Int16, to out: ByteBuffer) {
        out.appendBigEndian(ndigits)
        out.appendBigEndian(weight)
        out.appendBigEndian(sign)
        out.appendBigEndian(dscale)
    }
}
