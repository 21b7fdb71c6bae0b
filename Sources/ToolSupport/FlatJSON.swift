/// A small JSON reader for the few fields a tool takes from a frame's header or end record
/// (docs/framing.md): objects, arrays, strings, numbers (kept as text), booleans and null.
public enum FlatJSON {
    /// A JSON value.
    public indirect enum Value: Sendable, Equatable {
        case string(String), number(String), bool(Bool), null
        case object([String: Value]), array([Value])

        /// The string, when the value is one.
        public var string: String? { if case .string(let s) = self { s } else { nil } }
        /// The value as a non-negative integer, when it is a number written as one.
        public var unsigned: UInt64? { if case .number(let n) = self { UInt64(n) } else { nil } }
        /// The boolean, when the value is one.
        public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    }

    /// The members of the JSON object in `bytes`; `what` names it in errors.
    public static func object(_ bytes: [UInt8], what: String) throws -> [String: Value] {
        var parser = Parser(bytes: bytes)
        do {
            parser.space()
            guard case .object(let members) = try parser.value(depth: 0) else { throw JSONEscapeError("not an object") }
            parser.space()
            guard parser.at == bytes.count else { throw JSONEscapeError("text after the object") }
            return members
        } catch let error as JSONEscapeError {
            throw ToolError("\(what) is not a JSON object: \(error.reason) at byte \(parser.at)")
        }
    }

    struct Parser {
        let bytes: [UInt8]
        var at = 0

        mutating func space() {
            while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(JSONEscapeError) {
            space()
            guard at < bytes.count, bytes[at] == byte else { throw JSONEscapeError("expected '\(Character(UnicodeScalar(byte)))'") }
            at += 1
        }

        mutating func value(depth: Int) throws(JSONEscapeError) -> Value {
            guard depth < 32 else { throw JSONEscapeError("nested too deeply") }
            space()
            guard at < bytes.count else { throw JSONEscapeError("unexpected end") }
            switch bytes[at] {
            case UInt8(ascii: "{"):
                at += 1
                var members: [String: Value] = [:]
                space()
                if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
                while true {
                    space()
                    let key = try string()
                    try expect(UInt8(ascii: ":"))
                    members[key] = try value(depth: depth + 1)
                    space()
                    guard at < bytes.count else { throw JSONEscapeError("unexpected end") }
                    at += 1
                    if bytes[at - 1] == UInt8(ascii: "}") { return .object(members) }
                    guard bytes[at - 1] == UInt8(ascii: ",") else { throw JSONEscapeError("expected ',' or '}'") }
                }
            case UInt8(ascii: "["):
                at += 1
                var items: [Value] = []
                space()
                if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
                while true {
                    items.append(try value(depth: depth + 1))
                    space()
                    guard at < bytes.count else { throw JSONEscapeError("unexpected end") }
                    at += 1
                    if bytes[at - 1] == UInt8(ascii: "]") { return .array(items) }
                    guard bytes[at - 1] == UInt8(ascii: ",") else { throw JSONEscapeError("expected ',' or ']'") }
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): try word("true"); return .bool(true)
            case UInt8(ascii: "f"): try word("false"); return .bool(false)
            case UInt8(ascii: "n"): try word("null"); return .null
            default:
                let start = at
                while at < bytes.count, "+-0123456789.eE".utf8.contains(bytes[at]) { at += 1 }
                guard at > start else { throw JSONEscapeError("unexpected character") }
                return .number(String(decoding: bytes[start..<at], as: UTF8.self))
            }
        }

        mutating func word(_ text: String) throws(JSONEscapeError) {
            let w = Array(text.utf8)
            guard at + w.count <= bytes.count, Array(bytes[at..<(at + w.count)]) == w else { throw JSONEscapeError("unexpected word") }
            at += w.count
        }

        mutating func string() throws(JSONEscapeError) -> String {
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw JSONEscapeError("expected a string") }
            at += 1
            var out: [UInt8] = []
            while at < bytes.count {
                let b = bytes[at]
                at += 1
                if b == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
                if b == UInt8(ascii: "\\") {
                    _ = try JSONEscape.decode(bytes, at: &at) { out.append($0) }
                } else {
                    guard b >= 0x20 else { throw JSONEscapeError("control character in a string") }
                    out.append(b)
                }
            }
            throw JSONEscapeError("unterminated string")
        }
    }
}
