/// The value type of a column (or of a list's elements): physical type plus logical annotation.
public struct ColumnType: Sendable, Equatable, CustomStringConvertible {
    /// How values are stored.
    public var physical: PhysicalType
    /// Byte width for FIXED_LEN_BYTE_ARRAY.
    public var typeLength: Int?
    /// The logical annotation, if any.
    public var logical: LogicalType?

    /// A type from its parts.
    public init(physical: PhysicalType, typeLength: Int? = nil, logical: LogicalType? = nil) {
        self.physical = physical
        self.typeLength = typeLength
        self.logical = logical
    }

    /// BOOLEAN.
    public static let boolean = ColumnType(physical: .boolean)
    /// INT32 annotated INT(16, signed) (PostgreSQL int2).
    public static let int16 = ColumnType(physical: .int32, logical: .integer(bitWidth: 16, signed: true))
    /// INT32 annotated INT(32, signed).
    public static let int32 = ColumnType(physical: .int32, logical: .integer(bitWidth: 32, signed: true))
    /// INT64 annotated INT(64, signed).
    public static let int64 = ColumnType(physical: .int64, logical: .integer(bitWidth: 64, signed: true))
    /// FLOAT.
    public static let float = ColumnType(physical: .float)
    /// DOUBLE.
    public static let double = ColumnType(physical: .double)
    /// BYTE_ARRAY annotated STRING (UTF-8 text).
    public static let string = ColumnType(physical: .byteArray, logical: .string)
    /// BYTE_ARRAY annotated JSON.
    public static let json = ColumnType(physical: .byteArray, logical: .json)
    /// Plain BYTE_ARRAY (binary).
    public static let bytes = ColumnType(physical: .byteArray)
    /// FIXED_LEN_BYTE_ARRAY(16) annotated UUID.
    public static let uuid = ColumnType(physical: .fixedLenByteArray, typeLength: 16, logical: .uuid)
    /// INT32 annotated DATE (days since 1970-01-01).
    public static let date = ColumnType(physical: .int32, logical: .date)
    /// INT64 annotated TIME(MICROS, not adjusted to UTC).
    public static let timeMicros = ColumnType(physical: .int64, logical: .time(unit: .micros, adjustedToUTC: false))

    /// INT64 annotated TIMESTAMP(MICROS) (microseconds since 1970-01-01 00:00).
    public static func timestampMicros(adjustedToUTC: Bool) -> ColumnType {
        ColumnType(physical: .int64, logical: .timestamp(unit: .micros, adjustedToUTC: adjustedToUTC))
    }

    /// DECIMAL(p,s) on the narrowest physical type: INT32 up to 9 digits, INT64 up to 18, else FIXED_LEN_BYTE_ARRAY.
    public static func decimal(precision: Int, scale: Int) -> ColumnType {
        let logical = LogicalType.decimal(precision: precision, scale: scale)
        if precision <= 9 { return ColumnType(physical: .int32, logical: logical) }
        if precision <= 18 { return ColumnType(physical: .int64, logical: logical) }
        return ColumnType(physical: .fixedLenByteArray, typeLength: decimalByteWidth(precision: precision), logical: logical)
    }

    /// The fewest bytes whose two's complement holds every unscaled value of `precision` digits.
    public static func decimalByteWidth(precision: Int) -> Int {
        // log2(10) ≈ 3.3219; one bit for the sign.
        let bits = Double(precision) * 3.321928094887362 + 1
        var bytes = 1
        while Double(bytes * 8) < bits { bytes += 1 }
        return bytes
    }

    public var description: String {
        var text = physical.description
        if let typeLength { text += "(\(typeLength))" }
        if let logical { text += " \(logical)" }
        return text
    }

    /// The legacy ConvertedType written alongside the logical type for old readers, if one matches exactly.
    var convertedType: Int32? {
        switch logical {
        case .string: 0
        case .json: 19
        case .date: 6
        case .decimal: 5
        case .enumeration: 4
        case .list: 3
        case .integer(16, true): 16
        case .integer(32, true): 17
        case .integer(64, true): 18
        case .integer(8, true): 15
        case .timestamp(.micros, true): 10
        case .timestamp(.millis, true): 9
        case .time(.micros, true): 8
        case .time(.millis, true): 7
        default: nil
        }
    }

    /// Whether min/max compare as signed big-endian two's complement (decimals stored as bytes).
    var signedBytes: Bool {
        if case .decimal = logical, physical == .fixedLenByteArray || physical == .byteArray { return true }
        return false
    }
}

/// A column to write: a name and its value type, optionally as a LIST of nullable elements. Always OPTIONAL.
public struct ColumnSpec: Sendable, Equatable {
    /// The column name (UTF-8).
    public var name: String
    /// The type of the values (of the elements, for a list).
    public var type: ColumnType
    /// Whether the column is a LIST of `type` with nullable elements.
    public var isList: Bool

    /// A column of single values.
    public init(_ name: String, _ type: ColumnType) {
        self.name = name
        self.type = type
        self.isList = false
    }

    /// A LIST column of nullable `element` values.
    public static func list(_ name: String, of element: ColumnType) -> ColumnSpec {
        var spec = ColumnSpec(name, element)
        spec.isList = true
        return spec
    }
}
