/// A top-level column as the reader understands it: a primitive, or a LIST of primitives.
public struct ColumnDescriptor: Sendable {
    /// The column name.
    public var name: String
    /// The type of the values (of the elements, for a list).
    public var type: ColumnType
    /// Whether the column is a LIST.
    public var isList: Bool
    /// Whether a value (a list, for a LIST column) can be null.
    public var isNullable: Bool
    /// Whether a list element can be null.
    public var elementIsNullable: Bool
    /// The definition level of a present (non-null) leaf value.
    public var maxDefinition: Int
    /// 1 for lists, else 0.
    public var maxRepetition: Int
    /// The dotted path of the leaf (name.list.element for a standard list).
    public var path: [String]
}

/// Builds column descriptors from the flattened schema, refusing what the reader does not support.
enum SchemaResolver {
    static func resolve(_ elements: [SchemaElement], file: String) throws(ParquetError) -> [ColumnDescriptor] {
        guard let root = elements.first else { throw ParquetError("\(file): corrupt footer: empty schema") }
        var index = 1
        var columns: [ColumnDescriptor] = []
        func element() throws(ParquetError) -> SchemaElement {
            guard index < elements.count else { throw ParquetError("\(file): corrupt footer: the schema has fewer elements than its groups announce") }
            defer { index += 1 }
            return elements[index]
        }
        let count = Int(root.numChildren ?? 0)
        guard count >= 0, count < elements.count else {
            throw ParquetError("\(file): corrupt footer: the schema root announces \(count) columns in \(elements.count - 1) elements")
        }
        for _ in 0..<count {
            let e = try element()
            let children = Int(e.numChildren ?? 0)
            if e.type == nil || children > 0 {
                columns.append(try resolveGroup(e, children: children, next: element, file: file))
                continue
            }
            var d = try leaf(e, file: file, column: e.name)
            guard e.repetition != .repeated else {
                throw ParquetError("\(file): column \"\(e.name)\" is a bare repeated field, which is not supported (expected a LIST)")
            }
            d.isNullable = e.repetition != .required
            d.maxDefinition = d.isNullable ? 1 : 0
            columns.append(d)
        }
        guard index == elements.count else { throw ParquetError("\(file): corrupt footer: the schema has \(elements.count - index) elements outside the tree") }
        return columns
    }

    /// A LIST group (3-level standard or 2-level legacy); any other group is refused.
    private static func resolveGroup(_ g: SchemaElement, children: Int, next: () throws(ParquetError) -> SchemaElement,
                                     file: String) throws(ParquetError) -> ColumnDescriptor {
        let isList = g.logicalType == .list || g.convertedType == 3
        if g.logicalType == .map || g.convertedType == 1 || g.convertedType == 2 {
            throw ParquetError("\(file): column \"\(g.name)\" is a nested MAP, which is not supported")
        }
        guard isList, children == 1 else {
            throw ParquetError("\(file): column \"\(g.name)\" is a nested struct, which is not supported")
        }
        let repeated = try next()
        guard repeated.repetition == .repeated else {
            throw ParquetError("\(file): column \"\(g.name)\" is a LIST whose child is not repeated, which is not supported")
        }
        let nullableList = g.repetition != .required
        var definition = (nullableList ? 1 : 0) + 1
        if repeated.type != nil && (repeated.numChildren ?? 0) == 0 {
            // Two-level list: the repeated field is the element itself (never null).
            var d = try leaf(repeated, file: file, column: g.name)
            d.name = g.name
            d.isList = true
            d.isNullable = nullableList
            d.elementIsNullable = false
            d.maxDefinition = definition
            d.maxRepetition = 1
            d.path = [g.name, repeated.name]
            return d
        }
        guard repeated.numChildren == 1 else {
            throw ParquetError("\(file): column \"\(g.name)\" is a LIST of structs, which is not supported")
        }
        let e = try next()
        guard e.type != nil, (e.numChildren ?? 0) == 0 else {
            throw ParquetError("\(file): column \"\(g.name)\" is a LIST of nested values, which is not supported")
        }
        guard e.repetition != .repeated else {
            throw ParquetError("\(file): column \"\(g.name)\" is a LIST of repeated values, which is not supported")
        }
        var d = try leaf(e, file: file, column: g.name)
        d.name = g.name
        d.isList = true
        d.isNullable = nullableList
        d.elementIsNullable = e.repetition != .required
        if d.elementIsNullable { definition += 1 }
        d.maxDefinition = definition
        d.maxRepetition = 1
        d.path = [g.name, repeated.name, e.name]
        return d
    }

    /// A primitive leaf with its logical type (from LogicalType, else the legacy ConvertedType).
    private static func leaf(_ e: SchemaElement, file: String, column: String) throws(ParquetError) -> ColumnDescriptor {
        guard let physical = e.type else {
            throw ParquetError("\(file): column \"\(column)\" has unknown physical type \(e.unknownTypeCode ?? -1)")
        }
        if physical == .int96 {
            throw ParquetError("\(file): column \"\(column)\" is INT96 (legacy timestamps), which is not supported")
        }
        if physical == .fixedLenByteArray, (e.typeLength ?? 0) <= 0 {
            throw ParquetError("\(file): corrupt footer: column \"\(column)\" is FIXED_LEN_BYTE_ARRAY without a length")
        }
        var logical = e.logicalType
        if logical == nil, let converted = e.convertedType {
            logical = try legacyLogicalType(converted, e, file: file, column: column)
        }
        if case .other(let id)? = logical {
            throw ParquetError("\(file): column \"\(column)\" has a logical type this reader does not support (LogicalType field \(id))")
        }
        if case .decimal(let p, let s)? = logical, p <= 0 || s < 0 || s > p {
            throw ParquetError("\(file): corrupt footer: column \"\(column)\" is DECIMAL(\(p),\(s))")
        }
        let type = ColumnType(physical: physical, typeLength: e.typeLength.map { Int($0) }, logical: logical)
        return ColumnDescriptor(name: e.name, type: type, isList: false, isNullable: true, elementIsNullable: false,
                                maxDefinition: 1, maxRepetition: 0, path: [e.name])
    }

    private static func legacyLogicalType(_ converted: Int32, _ e: SchemaElement, file: String, column: String) throws(ParquetError) -> LogicalType? {
        switch converted {
        case 0: return .string
        case 4: return .enumeration
        case 5: return .decimal(precision: Int(e.precision ?? 0), scale: Int(e.scale ?? 0))
        case 6: return .date
        case 7: return .time(unit: .millis, adjustedToUTC: true)
        case 8: return .time(unit: .micros, adjustedToUTC: true)
        case 9: return .timestamp(unit: .millis, adjustedToUTC: true)
        case 10: return .timestamp(unit: .micros, adjustedToUTC: true)
        case 11, 12, 13, 14: return .integer(bitWidth: 8 << Int(converted - 11), signed: false)
        case 15, 16, 17, 18: return .integer(bitWidth: 8 << Int(converted - 15), signed: true)
        case 19: return .json
        case 20: throw ParquetError("\(file): column \"\(column)\" is BSON, which is not supported")
        case 21: throw ParquetError("\(file): column \"\(column)\" is INTERVAL, which is not supported")
        default: return nil
        }
    }
}
