/// The scalar kinds whose PostgreSQL binary encoding the project decodes.
public enum ScalarKind: String, Sendable, CaseIterable {
    case bool, int2, int4, int8, float4, float8, numeric
    case text, varchar, bpchar, name, bytea
    case date, time, timetz, timestamp, timestamptz, interval
    case uuid, json, jsonb, inet, cidr, macaddr
    /// A user-defined enum: binary form is the label text.
    case enumeration
}

/// How a column's values are encoded: a scalar, or a one-dimensional array of one.
public enum ValueKind: Equatable, Sendable {
    /// A single value.
    case scalar(ScalarKind)
    /// PostgreSQL's binary array of elements of one kind.
    case array(ScalarKind)
}

/// The one type table: PostgreSQL type OID → the kind of value the project can decode natively.
///
/// pg-extract passes a column through in binary form when its type is here (or is an enum);
/// everything else is selected as text. rowfmt and the Parquet writer extend from this table.
public enum TypeTable {
    /// Built-in scalar type OIDs (pg_type.oid, stable across PostgreSQL versions).
    public static let scalars: [UInt32: ScalarKind] = [
        16: .bool, 17: .bytea, 19: .name, 20: .int8, 21: .int2, 23: .int4, 25: .text,
        114: .json, 650: .cidr, 700: .float4, 701: .float8, 829: .macaddr, 869: .inet,
        1042: .bpchar, 1043: .varchar, 1082: .date, 1083: .time, 1114: .timestamp,
        1184: .timestamptz, 1186: .interval, 1266: .timetz, 1700: .numeric, 2950: .uuid,
        3802: .jsonb,
    ]

    /// Built-in array type OIDs → their element kind.
    public static let arrays: [UInt32: ScalarKind] = [
        1000: .bool, 1001: .bytea, 1003: .name, 1016: .int8, 1005: .int2, 1007: .int4, 1009: .text,
        199: .json, 651: .cidr, 1021: .float4, 1022: .float8, 1040: .macaddr, 1041: .inet,
        1014: .bpchar, 1015: .varchar, 1182: .date, 1183: .time, 1115: .timestamp,
        1185: .timestamptz, 1187: .interval, 1270: .timetz, 1231: .numeric, 2951: .uuid,
        3807: .jsonb,
    ]

    /// The OID of `text`, the type of text-cast columns.
    public static let textOID: UInt32 = 25

    /// The kind of a column: built-in OIDs from the tables, enums (and their arrays) from `enum_labels`.
    public static func kind(of column: RowStreamSchema.Column) -> ValueKind? {
        if let scalar = scalars[column.oid] { return .scalar(scalar) }
        if let element = arrays[column.oid] { return .array(element) }
        guard column.enumLabels != nil else { return nil }
        return column.elementOID == nil ? .scalar(.enumeration) : .array(.enumeration)
    }

    /// Whether values of a type can travel in binary form (`isEnum`: the type or its element is an enum).
    public static func isNative(oid: UInt32, isEnum: Bool) -> Bool {
        scalars[oid] != nil || arrays[oid] != nil || isEnum
    }
}
