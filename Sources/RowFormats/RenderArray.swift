import RowStream

/// PostgreSQL's binary one-dimensional arrays → array text (`{1,NULL,"a b"}`) or a JSON array.
enum ArrayRender {
    /// The elements of a binary array: lower bound and each element's bytes (nil for NULL).
    struct Elements {
        let v: UnsafeRawBufferPointer
        let count: Int
        let lowerBound: Int32
        var position: Int

        init(_ v: UnsafeRawBufferPointer) throws {
            guard v.count >= 12 else { throw ValueError("malformed array") }
            self.v = v
            let ndim = v.int32(0)
            switch ndim {
            case 0:
                count = 0
                lowerBound = 1
                position = 12
            case 1:
                guard v.count >= 20 else { throw ValueError("malformed array") }
                count = Int(v.int32(12))
                lowerBound = v.int32(16)
                position = 20
                guard count >= 0 else { throw ValueError("malformed array") }
            default:
                throw ValueError("\(ndim)-dimensional arrays are not supported")
            }
        }

        /// The next element (nil for NULL); call exactly `count` times.
        mutating func next() throws -> UnsafeRawBufferPointer? {
            guard position + 4 <= v.count else { throw ValueError("truncated array") }
            let length = Int(v.int32(position))
            position += 4
            if length < 0 { return nil }
            guard position + length <= v.count else { throw ValueError("truncated array") }
            defer { position += length }
            return UnsafeRawBufferPointer(rebasing: v[position..<(position + length)])
        }
    }

    /// Appends PostgreSQL's array text; `scratch` holds an element while it is quoted.
    static func appendText(_ kind: ScalarKind, _ v: UnsafeRawBufferPointer, to out: ByteBuffer, scratch: ByteBuffer) throws {
        var elements = try Elements(v)
        if elements.lowerBound != 1 && elements.count > 0 {
            out.append(UInt8(ascii: "["))
            out.appendDecimal(Int64(elements.lowerBound))
            out.append(UInt8(ascii: ":"))
            out.appendDecimal(Int64(elements.lowerBound) + Int64(elements.count) - 1)
            out.append("]=")
        }
        out.append(UInt8(ascii: "{"))
        for i in 0..<elements.count {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            guard let element = try elements.next() else { out.append("NULL"); continue }
            let start = out.count
            try TextRender.append(kind, element, to: out)
            if needsQuotes(out.bytes(from: start)) {
                scratch.removeAll()
                scratch.append(out.bytes(from: start))
                out.count = start
                out.append(UInt8(ascii: "\""))
                for byte in scratch.bytes {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                    out.append(byte)
                }
                out.append(UInt8(ascii: "\""))
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Whether an element must be quoted in array text: empty, `NULL`, or holding a delimiter,
    /// brace, quote, backslash or white space.
    static func needsQuotes(_ text: UnsafeRawBufferPointer) -> Bool {
        if text.isEmpty { return true }
        if text.count == 4 {
            let upper = text.map { $0 & 0xDF }
            if upper == Array("NULL".utf8) { return true }
        }
        for byte in text {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ","),
                 UInt8(ascii: " "), 9, 10, 11, 12, 13:
                return true
            default: continue
            }
        }
        return false
    }

    /// Appends a JSON array whose elements are in the element kind's JSON form.
    static func appendJSON(_ kind: ScalarKind, _ v: UnsafeRawBufferPointer, to out: ByteBuffer, scratch: ByteBuffer) throws {
        var elements = try Elements(v)
        out.append(UInt8(ascii: "["))
        for i in 0..<elements.count {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            guard let element = try elements.next() else { out.append("null"); continue }
            try JSONRender.appendScalar(kind, element, to: out, scratch: scratch)
        }
        out.append(UInt8(ascii: "]"))
    }
}

/// Binary values → the JSON values row_to_json writes.
public enum JSONRender {
    /// Appends one value of `kind` in its JSON form (`scratch` is working space).
    @inline(__always)
    public static func append(_ kind: ValueKind, _ v: UnsafeRawBufferPointer, to out: ByteBuffer, scratch: ByteBuffer) throws {
        switch kind {
        case .scalar(let scalar): try appendScalar(scalar, v, to: out, scratch: scratch)
        case .array(let element): try ArrayRender.appendJSON(element, v, to: out, scratch: scratch)
        }
    }

    @inline(__always)
    static func appendScalar(_ kind: ScalarKind, _ v: UnsafeRawBufferPointer, to out: ByteBuffer, scratch: ByteBuffer) throws {
        switch TypeForms.jsonForm(kind) {
        case .number:
            let start = out.count
            try TextRender.append(kind, v, to: out)
            let first = out.base[start]
            if first == UInt8(ascii: "N") || first == UInt8(ascii: "I") || (first == UInt8(ascii: "-") && out.base[start + 1] == UInt8(ascii: "I")) {
                out.insert(UInt8(ascii: "\""), at: start)
                out.append(UInt8(ascii: "\""))
            }
        case .boolean:
            guard v.count == 1 else { throw TextRender.lengthError(kind, v) }
            out.append(v[0] != 0 ? "true" : "false")
        case .embedded:
            try TextRender.append(kind, v, to: out)
        case .dateTime:
            out.append(UInt8(ascii: "\""))
            try TextRender.append(kind, v, to: out, style: .xsd)
            out.append(UInt8(ascii: "\""))
        case .string:
            switch kind {
            case .text, .varchar, .bpchar, .name, .enumeration:
                appendString(v, to: out)
            default:
                scratch.removeAll()
                try TextRender.append(kind, v, to: scratch)
                appendString(scratch.bytes, to: out)
            }
        }
    }

    /// Appends a JSON string literal of UTF-8 bytes, escaped as PostgreSQL's escape_json does.
    @inline(__always)
    public static func appendString(_ text: UnsafeRawBufferPointer, to out: ByteBuffer) {
        out.reserve(text.count + 2)
        out.append(UInt8(ascii: "\""))
        var runStart = 0
        for i in 0..<text.count {
            let byte = text[i]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            if i > runStart { out.append(UnsafeRawBufferPointer(rebasing: text[runStart..<i])) }
            runStart = i + 1
            switch byte {
            case UInt8(ascii: "\""): out.append("\\\"")
            case UInt8(ascii: "\\"): out.append("\\\\")
            case 8: out.append("\\b")
            case 12: out.append("\\f")
            case 10: out.append("\\n")
            case 13: out.append("\\r")
            case 9: out.append("\\t")
            default:
                out.append("\\u00")
                out.appendHex(byte)
            }
        }
        if text.count > runStart { out.append(UnsafeRawBufferPointer(rebasing: text[runStart...])) }
        out.append(UInt8(ascii: "\""))
    }
}
