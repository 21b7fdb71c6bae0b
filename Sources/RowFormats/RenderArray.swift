#if canImport(Glibc)
import Glibc
#endif
import RowStream

/// PostgreSQL's binary arrays (any number of dimensions) → array text (`{1,NULL,"a b"}`,
/// `[0:1][1:2]={{1,2},{3,4}}`) or a JSON array (nested for several dimensions, as row_to_json).
enum ArrayRender {
    /// The elements of a binary array: its dimensions and each element's bytes (nil for NULL).
    struct Elements {
        let v: UnsafeRawBufferPointer
        let dimensions: Int
        /// Elements in all (the product of the lengths).
        let count: Int
        var position: Int

        init(_ v: UnsafeRawBufferPointer) throws {
            let malformed = ValueError("malformed array")
            guard v.count >= 12 else { throw malformed }
            self.v = v
            let ndim = Int(v.int32(0))
            guard ndim >= 0, ndim <= ArrayShape.maxDimensions, v.count >= 12 + 8 * ndim else {
                throw ndim > ArrayShape.maxDimensions ? ValueError("\(ndim)-dimensional array (PostgreSQL allows \(ArrayShape.maxDimensions))") : malformed
            }
            dimensions = ndim
            position = 12 + 8 * ndim
            if ndim == 1 {
                count = Int(v.int32(12))
                guard count >= 0 else { throw malformed }
                return
            }
            var total = ndim == 0 ? 0 : 1
            for d in 0..<ndim {
                let length = Int(v.int32(12 + 8 * d))
                guard length >= 0 else { throw malformed }
                total *= length
                // Each element takes 4 bytes at least: a bound that also keeps the product small.
                guard total <= v.count / 4 else { throw malformed }
            }
            count = total
        }

        /// Dimension `d`'s length and lower bound.
        func length(_ d: Int) -> Int { Int(v.int32(12 + 8 * d)) }
        func lowerBound(_ d: Int) -> Int32 { v.int32(16 + 8 * d) }

        /// Whether every dimension starts at 1 (what JSON arrays and Parquet lists imply).
        var boundsAreOne: Bool {
            for d in 0..<dimensions where lowerBound(d) != 1 { return false }
            return true
        }

        /// The next element (nil for NULL); call exactly `count` times.
        @inline(__always)
        mutating func next() throws -> UnsafeRawBufferPointer? {
            guard position + 4 <= v.count else { throw ValueError("truncated array") }
            let length = Int(v.int32(position))
            position += 4
            if length < 0 { return nil }
            guard position + length <= v.count else { throw ValueError("truncated array") }
            defer { position += length }
            return UnsafeRawBufferPointer(rebasing: v[position..<(position + length)])
        }

        /// Writes the nesting (`open`, `,`, `close`) around every element in row-major order;
        /// `element` writes one element (nil: NULL).
        @inline(__always)
        mutating func nest(open: UInt8, close: UInt8, to out: ByteBuffer, _ element: (UnsafeRawBufferPointer?) throws -> Void) throws {
            guard count > 0 else {
                out.append(open)
                out.append(close)
                return
            }
            for _ in 0..<dimensions { out.append(open) }
            if dimensions == 1 {
                for k in 0..<count {
                    if k > 0 { out.append(UInt8(ascii: ",")) }
                    try element(try next())
                }
            } else {
                var index = InlineArray<6, Int>(repeating: 0)
                for k in 0..<count {
                    if k > 0 {
                        // Advance the last index; every level that wraps closes and reopens.
                        var d = dimensions - 1, wrapped = 0
                        index[d] += 1
                        while d > 0 && index[d] == length(d) {
                            index[d] = 0
                            d -= 1
                            index[d] += 1
                            wrapped += 1
                        }
                        for _ in 0..<wrapped { out.append(close) }
                        out.append(UInt8(ascii: ","))
                        for _ in 0..<wrapped { out.append(open) }
                    }
                    try element(try next())
                }
            }
            for _ in 0..<dimensions { out.append(close) }
        }
    }

    /// Appends PostgreSQL's array text; `scratch` holds an element while it is quoted.
    static func appendText(_ kind: ScalarKind, _ v: UnsafeRawBufferPointer, to out: ByteBuffer, scratch: ByteBuffer) throws {
        var elements = try Elements(v)
        if elements.count > 0 && !elements.boundsAreOne {
            appendDims(elements, to: out)
            out.append(UInt8(ascii: "="))
        }
        if elements.dimensions == 1 {
            out.append(UInt8(ascii: "{"))
            for i in 0..<elements.count {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try appendElementText(kind, try elements.next(), to: out, scratch: scratch)
            }
            out.append(UInt8(ascii: "}"))
            return
        }
        try elements.nest(open: UInt8(ascii: "{"), close: UInt8(ascii: "}"), to: out) { element in
            try appendElementText(kind, element, to: out, scratch: scratch)
        }
    }

    /// Appends what PostgreSQL's `array_dims()` returns: `[lower:upper]` per dimension (`[1:2][0:2]`).
    static func appendDims(_ elements: Elements, to out: ByteBuffer) {
        for d in 0..<elements.dimensions {
            out.append(UInt8(ascii: "["))
            out.appendDecimal(Int64(elements.lowerBound(d)))
            out.append(UInt8(ascii: ":"))
            out.appendDecimal(Int64(elements.lowerBound(d)) + Int64(elements.length(d)) - 1)
            out.append(UInt8(ascii: "]"))
        }
    }

    /// Appends one element of array text: `NULL`, or its text form, quoted when it must be.
    @inline(__always)
    static func appendElementText(_ kind: ScalarKind, _ element: UnsafeRawBufferPointer?, to out: ByteBuffer, scratch: ByteBuffer) throws {
        guard let element else { out.append("NULL"); return }
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

    /// Appends a JSON array whose elements are in the element kind's JSON form, nested one level per dimension.
    static func appendJSON(_ kind: ScalarKind, _ v: UnsafeRawBufferPointer, to out: ByteBuffer, scratch: ByteBuffer) throws {
        var elements = try Elements(v)
        try elements.nest(open: UInt8(ascii: "["), close: UInt8(ascii: "]"), to: out) { element in
            guard let element else { out.append("null"); return }
            try JSONRender.appendScalar(kind, element, to: out, scratch: scratch)
        }
    }

    /// Whether row_to_json's JSON array would lose something of this array: lower bounds other than 1,
    /// a json/jsonb element that is JSON `null` (read back as NULL) or needs the escape form, or
    /// json/jsonb elements in several dimensions (their nesting is indistinguishable from JSON arrays).
    static func losesInJSON(_ kind: ScalarKind, _ v: UnsafeRawBufferPointer) throws -> Bool {
        var elements = try Elements(v)
        guard elements.count > 0 else { return false }
        if !elements.boundsAreOne { return true }
        guard kind == .json || kind == .jsonb else { return false }
        if elements.dimensions > 1 { return true }
        for _ in 0..<elements.count {
            guard let element = try elements.next() else { continue }
            if JSONLEscape.needed(try JSONLEscape.jsonText(kind, element)) { return true }
        }
        return false
    }
}

/// The JSONL escape form (docs/types.md): `{"pgarchive.text":"…"}` holds a value's PostgreSQL text
/// form when row_to_json's JSON cannot carry it exactly (a json value with raw newlines or surrounding
/// white space, JSON `null`, arrays with lower bounds other than 1, …). Readers know it by its exact
/// first bytes; a json value that itself begins with them is escaped too, so it stays unambiguous.
enum JSONLEscape {
    /// The first bytes of every escape form (the value's JSON string follows).
    static let opening: StaticString = "{\"pgarchive.text\":"

    /// The text of a json or jsonb binary value.
    @inline(__always)
    static func jsonText(_ kind: ScalarKind, _ v: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer {
        guard kind == .jsonb else { return v }
        guard v.count >= 1, v[0] == 1 else { throw ValueError("unsupported jsonb binary version") }
        return UnsafeRawBufferPointer(rebasing: v[1...])
    }

    /// Whether the json text cannot be embedded as it is: empty, white space first or last, a raw
    /// CR or LF (a JSONL record is one line), JSON `null`, or the escape form's own opening.
    @inline(__always)
    static func needed(_ text: UnsafeRawBufferPointer) -> Bool {
        guard let first = text.first, let last = text.last else { return true }
        if isSpace(first) || isSpace(last) { return true }
        if first == UInt8(ascii: "n") && text.count == 4 { return true }  // json_in accepts no other 4-byte n… value
        if first == UInt8(ascii: "{") && startsWithOpening(text) { return true }
        return memchr(text.baseAddress!, 10, text.count) != nil || memchr(text.baseAddress!, 13, text.count) != nil
    }

    /// Whether `raw` (an object's bytes as written) begins with the escape form's opening and a string.
    static func startsWithOpening(_ raw: UnsafeRawBufferPointer) -> Bool {
        let n = opening.utf8CodeUnitCount
        return raw.count > n && raw[n] == UInt8(ascii: "\"")
            && UnsafeRawBufferPointer(rebasing: raw[0..<n]).elementsEqual(UnsafeRawBufferPointer(start: opening.utf8Start, count: n))
    }

    /// Appends the escape form of `text` (a value's PostgreSQL text form).
    static func append(_ text: UnsafeRawBufferPointer, to out: ByteBuffer) {
        out.append(opening)
        JSONRender.appendString(text, to: out)
        out.append(UInt8(ascii: "}"))
    }

    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }
}

/// Binary values → the JSON values row_to_json writes (and the escape form where it would lose them).
public enum JSONRender {
    /// Appends one value of `kind` in its JSON form (`scratch` is working space).
    @inline(__always)
    public static func append(_ kind: ValueKind, _ v: UnsafeRawBufferPointer, to out: ByteBuffer, scratch: ByteBuffer) throws {
        switch kind {
        case .scalar(let scalar):
            if scalar == .json || scalar == .jsonb {
                let text = try JSONLEscape.jsonText(scalar, v)
                if JSONLEscape.needed(text) { return JSONLEscape.append(text, to: out) }
                return out.append(text)
            }
            try appendScalar(scalar, v, to: out, scratch: scratch)
        case .array(let element):
            var elements = try ArrayRender.Elements(v)
            // The common case, a one-dimensional array from 1 of elements other than json: row_to_json's form.
            if elements.dimensions == 1 && elements.lowerBound(0) == 1 && element != .json && element != .jsonb {
                out.append(UInt8(ascii: "["))
                for i in 0..<elements.count {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    guard let value = try elements.next() else { out.append("null"); continue }
                    try appendScalar(element, value, to: out, scratch: scratch)
                }
                out.append(UInt8(ascii: "]"))
                return
            }
            if try ArrayRender.losesInJSON(element, v) {
                scratch.removeAll()
                try ArrayRender.appendText(element, v, to: scratch, scratch: ByteBuffer(capacity: 256))
                return JSONLEscape.append(scratch.bytes, to: out)
            }
            try ArrayRender.appendJSON(element, v, to: out, scratch: scratch)
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
