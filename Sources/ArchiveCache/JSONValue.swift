import ToolSupport

/// A JSON value with ordered object members, for writing cache files and API responses.
public enum JSONValue: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` / `false`.
    case bool(Bool)
    /// An integer.
    case int(Int64)
    /// A floating-point number (non-finite values are written as `null`).
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object; members keep their order.
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.compact == b.compact }

    /// A timestamp as its RFC 3339 text.
    public static func time(_ t: Timestamp) -> JSONValue { .string(t.rfc3339) }

    /// One-line JSON text.
    public var compact: String { String(decoding: bytes(pretty: false), as: UTF8.self) }

    /// JSON text indented by two spaces per level.
    public var pretty: String { String(decoding: bytes(pretty: true), as: UTF8.self) }

    /// The UTF-8 JSON text, compact or indented by two spaces per level.
    public func bytes(pretty: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(into: &out, pretty: pretty, level: 0)
        return out
    }

    private func write(into out: inout [UInt8], pretty: Bool, level: Int) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .int(let i): out += Array(String(i).utf8)
        case .double(let d):
            if !d.isFinite {
                out += Array("null".utf8)
            } else if d == d.rounded(), abs(d) < 1e15 {
                out += Array(String(Int64(d)).utf8)
            } else {
                out += Array(String(d).utf8)
            }
        case .string(let s): JSON.appendQuoted(s, to: &out)
        case .array(let items):
            guard !items.isEmpty else { out += [91, 93]; return }
            out.append(91)
            for (n, item) in items.enumerated() {
                if n > 0 { out.append(44) }
                newline(&out, pretty, level + 1)
                item.write(into: &out, pretty: pretty, level: level + 1)
            }
            newline(&out, pretty, level)
            out.append(93)
        case .object(let members):
            guard !members.isEmpty else { out += [123, 125]; return }
            out.append(123)
            for (n, (key, value)) in members.enumerated() {
                if n > 0 { out.append(44) }
                newline(&out, pretty, level + 1)
                JSON.appendQuoted(key, to: &out)
                out.append(58)
                if pretty { out.append(32) }
                value.write(into: &out, pretty: pretty, level: level + 1)
            }
            newline(&out, pretty, level)
            out.append(125)
        }
    }

    private func newline(_ out: inout [UInt8], _ pretty: Bool, _ level: Int) {
        guard pretty else { return }
        out.append(10)
        for _ in 0..<level { out += [32, 32] }
    }
}
