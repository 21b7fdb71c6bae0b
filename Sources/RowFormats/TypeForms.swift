import RowStream

/// How row_to_json represents a value of a kind (PostgreSQL's JSON type categories).
public enum JSONForm: Sendable {
    /// A JSON number from the text form; NaN and ±Infinity become strings.
    case number
    /// `true` / `false`.
    case boolean
    /// json/jsonb: the document itself.
    case embedded
    /// A date, timestamp or timestamptz in ISO 8601 (`T` separator, `+00:00` offset), quoted.
    case dateTime
    /// The PostgreSQL text form as a JSON string.
    case string
}

/// The rendering and parsing facts of each kind: the one type table of docs/types.md.
///
/// RowStream's `TypeTable` maps OIDs to kinds (binary decoding); this extends it with the JSON form,
/// whether CSV must check the text for quoting, and the OIDs inference writes.
public enum TypeForms {
    /// The JSON form of values of `kind`.
    public static func jsonForm(_ kind: ScalarKind) -> JSONForm {
        switch kind {
        case .int2, .int4, .int8, .float4, .float8, .numeric: return .number
        case .bool: return .boolean
        case .json, .jsonb: return .embedded
        case .date, .timestamp, .timestamptz: return .dateTime
        case .text, .varchar, .bpchar, .name, .bytea, .time, .timetz, .interval, .uuid, .inet, .cidr, .macaddr, .enumeration:
            return .string
        }
    }

    /// Whether the text form of `kind` can contain a comma, quote, newline or be empty (CSV must check).
    public static func mayNeedCSVQuotes(_ kind: ScalarKind) -> Bool {
        switch kind {
        case .int2, .int4, .int8, .float4, .float8, .numeric, .bool, .date, .time, .timetz, .timestamp, .timestamptz,
             .interval, .uuid, .inet, .cidr, .macaddr, .bytea:
            return false
        case .text, .varchar, .bpchar, .name, .json, .jsonb, .enumeration:
            return true
        }
    }

    /// The OID of a built-in scalar kind (nil for enums, whose OID is per type).
    public static func oid(of kind: ScalarKind) -> UInt32? { scalarOIDs[kind] }

    private static let scalarOIDs: [ScalarKind: UInt32] = {
        var map: [ScalarKind: UInt32] = [:]
        for (oid, kind) in TypeTable.scalars { map[kind] = oid }
        return map
    }()

    /// The `format_type()` name inference writes into a schema for `kind`.
    public static func typeName(of kind: ScalarKind) -> String {
        switch kind {
        case .bool: return "boolean"
        case .int2: return "smallint"
        case .int4: return "integer"
        case .int8: return "bigint"
        case .float4: return "real"
        case .float8: return "double precision"
        case .numeric: return "numeric"
        case .timestamptz: return "timestamp with time zone"
        case .timestamp: return "timestamp without time zone"
        case .time: return "time without time zone"
        case .date, .json, .jsonb, .bytea, .uuid: return kind.rawValue
        default: return "text"
        }
    }

    /// The `format_type()` name with a numeric's precision and scale (`numeric(10,2)`) when `typmod` has them.
    public static func formatTypeName(of kind: ScalarKind, typmod: Int32) -> String {
        guard kind == .numeric, typmod >= 4 else { return typeName(of: kind) }
        let value = Int(typmod) - 4
        return "numeric(\(value >> 16 & 0xFFFF),\(value & 0xFFFF))"
    }
}

/// A value that could not be rendered or parsed, with the reason (the caller adds line and column).
public struct ValueError: Error, CustomStringConvertible, Sendable {
    /// The short reason.
    public var reason: String
    /// An error with a reason.
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
