import ToolSupport

/// JSON that parses but has the wrong shape: a field of the wrong type, a missing field.
public struct JSONShapeError: Error, CustomStringConvertible, Sendable {
    /// Where and what.
    public var description: String
    init(_ description: String) { self.description = description }
}

extension JSONValue {
    /// A required member of an object.
    func member(_ name: String, _ path: String) throws(JSONShapeError) -> JSONValue {
        guard let value = self[name] else { throw JSONShapeError("missing field \(JSON.quote(path + name))") }
        return value
    }

    func number(_ path: String) throws(JSONShapeError) -> Double {
        switch self {
        case .null: return 0
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: throw JSONShapeError("\(path): expected a number")
        }
    }

    func integer(_ path: String) throws(JSONShapeError) -> Int64 {
        switch self {
        case .null: return 0
        case .int(let i): return i
        case .double(let d) where d == d.rounded() && abs(d) < 9e18: return Int64(d)
        default: throw JSONShapeError("\(path): expected an integer")
        }
    }

    func text(_ path: String) throws(JSONShapeError) -> String {
        switch self {
        case .null: return ""
        case .string(let s): return s
        default: throw JSONShapeError("\(path): expected a string")
        }
    }

    func flag(_ path: String) throws(JSONShapeError) -> Bool {
        switch self {
        case .null: return false
        case .bool(let b): return b
        default: throw JSONShapeError("\(path): expected true or false")
        }
    }

    func timestamp(_ path: String) throws(JSONShapeError) -> Timestamp {
        switch self {
        case .null: return .zero
        case .string(let s):
            guard let t = Timestamp(rfc3339: s) else { throw JSONShapeError("\(path): not an RFC 3339 time: \(JSON.quote(s))") }
            return t
        default: throw JSONShapeError("\(path): expected an RFC 3339 time")
        }
    }
}
