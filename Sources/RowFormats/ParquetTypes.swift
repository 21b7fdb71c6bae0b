import FoundationEssentials
import Parquet
import RowStream

/// How the writer stores values of one PostgreSQL kind in Parquet.
enum ParquetStorage: Equatable, Sendable {
    case boolean, int16, int32, int64, float, double
    /// DECIMAL(p,s): the numeric's unscaled value at scale `s`.
    case decimal(precision: Int, scale: Int)
    /// The binary value is the text itself (text, varchar, char, name, enum, json) or raw bytes (bytea).
    case verbatim
    /// jsonb: the text after the version byte.
    case jsonb
    case uuid
    /// Days since 1970-01-01.
    case date
    /// µs since 1970-01-01.
    case timestamp
    /// µs since midnight.
    case time
    /// PostgreSQL's text form as STRING (unconstrained numeric, timetz, interval, inet, …).
    case text
}

/// The one PostgreSQL ⇄ Parquet type mapping (docs/types.md, "Parquet").
///
/// Writing: each rowstream column kind → a Parquet column. Reading a file without the
/// `pgarchive.schema` footer key: each Parquet column type → a PostgreSQL column.
public enum ParquetTypes {
    /// The footer key-value key holding the rowstream schema JSON.
    public static let schemaKey = "pgarchive.schema"

    /// The footer key-value key naming each array column's companion dimensions column (docs/types.md,
    /// "Arrays in Parquet"): a JSON object `{"<array column>": "<companion column>", …}`.
    public static let arrayDimsKey = "pgarchive.array_dims"

    /// One column's write plan: the Parquet column and how values are stored.
    struct WritePlan {
        let spec: ColumnSpec
        let kind: ValueKind
        let storage: ParquetStorage
        /// Whether the whole value (an array) is written as its PostgreSQL text (`--special-values-as-text`).
        let arrayAsText: Bool
        /// For an array column written as a LIST: the Parquet column index of its companion STRING
        /// column, which holds `array_dims()` of each value that is not one-dimensional from 1.
        var dimsColumn: Int? = nil
    }

    /// The Parquet columns of `schema`: one per table column, in table order, then one companion
    /// `<name>.array_dims` STRING column per array column written as a LIST (a name no table column
    /// has: `_` is appended until it is unique), with the footer entry that names them.
    static func writeLayout(_ schema: RowStreamSchema, specialsAsText: Bool) throws -> (plans: [WritePlan], extra: [ColumnSpec], footer: KeyValue?) {
        var plans = try writePlans(schema, specialsAsText: specialsAsText)
        var taken = Set(schema.columns.map(\.name))
        var extra: [ColumnSpec] = [], pairs: [String: String] = [:]
        for i in plans.indices where plans[i].spec.isList {
            var name = plans[i].spec.name + ".array_dims"
            while taken.contains(name) { name += "_" }
            taken.insert(name)
            plans[i].dimsColumn = plans.count + extra.count
            extra.append(ColumnSpec(name, .string))
            pairs[plans[i].spec.name] = name
        }
        guard !pairs.isEmpty else { return (plans, [], nil) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (plans, extra, KeyValue(key: arrayDimsKey, value: String(decoding: try encoder.encode(pairs), as: UTF8.self)))
    }

    /// The footer's `pgarchive.array_dims` entry: array column → companion column, each checked
    /// against the file (the array column a LIST, the companion a STRING column after the table's).
    static func readDimsColumns(_ json: String?, schema: RowStreamSchema, columns: [ColumnDescriptor], file: String) throws -> [Int: Int] {
        guard let json else { return [:] }
        let bad = { (why: String) in FormatError("\"\(file)\": the \(arrayDimsKey) footer key \(why)") }
        guard let pairs = try? JSONDecoder().decode([String: String].self, from: Data(json.utf8)) else { throw bad("is not a JSON object of strings") }
        var result: [Int: Int] = [:]
        for (array, companion) in pairs.sorted(by: { $0.key < $1.key }) {
            guard let a = schema.columns.firstIndex(where: { $0.name == array }), case .array = schema.columns[a].kind, columns[a].isList else {
                throw bad("names \"\(array)\", which is not an array column written as a LIST")
            }
            guard let c = columns.indices.first(where: { $0 >= schema.columns.count && columns[$0].name == companion }),
                  !columns[c].isList, columns[c].type.logical == .string else {
                throw bad("names the dimensions column \"\(companion)\", which the file lacks or which is not a STRING column")
            }
            result[a] = c
        }
        return result
    }

    /// The precision and scale of `numeric(p,s)` when it fits a Parquet DECIMAL (p ≤ 38, 0 ≤ s ≤ p).
    static func decimalBounds(typmod: Int32) -> (precision: Int, scale: Int)? {
        guard typmod >= 4 else { return nil }
        let value = Int(typmod) - 4
        let precision = value >> 16 & 0xFFFF
        // PostgreSQL 15 stores the scale as an 11-bit signed field (negative scales allowed).
        var scale = value & 0x7FF
        if scale & 0x400 != 0 { scale -= 0x800 }
        guard precision >= 1, precision <= 38, scale >= 0, scale <= precision else { return nil }
        return (precision, scale)
    }

    /// Whether `kind` (with `typmod`) can hold values Parquet cannot: NaN and ±Infinity numerics in a
    /// DECIMAL, timestamps after the year 294247 (±infinity are DuckDB's sentinels, see docs/types.md).
    /// `--special-values-as-text` writes such columns, and dates, as STRING.
    static func mayHoldSpecials(_ kind: ScalarKind, typmod: Int32) -> Bool {
        switch kind {
        case .numeric: return decimalBounds(typmod: typmod) != nil
        case .date, .timestamp, .timestamptz: return true
        default: return false
        }
    }

    /// The storage and Parquet type of values of `kind` (array elements share the column's typmod).
    static func storage(_ kind: ScalarKind, typmod: Int32, specialsAsText: Bool) -> (ParquetStorage, ColumnType) {
        if specialsAsText && mayHoldSpecials(kind, typmod: typmod) { return (.text, .string) }
        switch kind {
        case .bool: return (.boolean, .boolean)
        case .int2: return (.int16, .int16)
        case .int4: return (.int32, .int32)
        case .int8: return (.int64, .int64)
        case .float4: return (.float, .float)
        case .float8: return (.double, .double)
        case .numeric:
            guard let (p, s) = decimalBounds(typmod: typmod) else { return (.text, .string) }
            return (.decimal(precision: p, scale: s), .decimal(precision: p, scale: s))
        case .text, .varchar, .bpchar, .name, .enumeration: return (.verbatim, .string)
        case .json: return (.verbatim, .json)
        case .jsonb: return (.jsonb, .json)
        case .bytea: return (.verbatim, .bytes)
        case .uuid: return (.uuid, .uuid)
        case .date: return (.date, .date)
        case .timestamp: return (.timestamp, .timestampMicros(adjustedToUTC: false))
        case .timestamptz: return (.timestamp, .timestampMicros(adjustedToUTC: true))
        case .time: return (.time, .timeMicros)
        case .timetz, .interval, .inet, .cidr, .macaddr: return (.text, .string)
        }
    }

    /// The write plan of every column of `schema`.
    ///
    /// With `specialsAsText`, numeric(p,s), date, timestamp and timestamptz columns are STRING
    /// (PostgreSQL's text form) and array columns are STRING holding PostgreSQL's array text (which
    /// keeps lower bounds other than 1 and special elements), decided for the whole run.
    static func writePlans(_ schema: RowStreamSchema, specialsAsText: Bool) throws -> [WritePlan] {
        try schema.columns.map { column in
            guard let kind = column.kind else {
                throw FormatError("column \"\(column.name)\" has type \(column.type) (OID \(column.oid)), which has no binary decoding")
            }
            switch kind {
            case .scalar(let scalar):
                let (storage, type) = Self.storage(scalar, typmod: column.typmod, specialsAsText: specialsAsText)
                return WritePlan(spec: ColumnSpec(column.name, type), kind: kind, storage: storage, arrayAsText: false)
            case .array(let element):
                if specialsAsText { return WritePlan(spec: ColumnSpec(column.name, .string), kind: kind, storage: .text, arrayAsText: true) }
                let (storage, type) = Self.storage(element, typmod: column.typmod, specialsAsText: false)
                return WritePlan(spec: .list(column.name, of: type), kind: kind, storage: storage, arrayAsText: false)
            }
        }
    }

    /// The PostgreSQL column that a Parquet column without our schema reads as.
    static func inferredColumn(_ d: ColumnDescriptor, file: String) throws -> RowStreamSchema.Column {
        let (kind, typmod) = try inferredKind(d.type, column: d.name, file: file)
        let name = TypeForms.formatTypeName(of: kind, typmod: typmod)
        let oid = TypeForms.oid(of: kind)!
        if d.isList {
            guard let arrayOID = TypeTable.arrays.first(where: { $0.value == kind })?.key else {
                throw FormatError("\"\(file)\": column \"\(d.name)\" is a LIST of \(d.type), which has no PostgreSQL array type here")
            }
            return .init(name: d.name, type: name + "[]", oid: arrayOID, typmod: typmod, elementOID: oid)
        }
        return .init(name: d.name, type: name, oid: oid, typmod: typmod)
    }

    /// Parquet value type → PostgreSQL kind and typmod, for files written without `pgarchive.schema`.
    static func inferredKind(_ type: ColumnType, column: String, file: String) throws -> (ScalarKind, Int32) {
        switch (type.physical, type.logical) {
        case (.boolean, _): return (.bool, -1)
        case (.int32, .integer(let bits, let signed)?), (.int64, .integer(let bits, let signed)?):
            if signed { return (bits <= 16 ? .int2 : bits <= 32 ? .int4 : .int8, -1) }
            return (bits <= 16 ? .int4 : bits <= 32 ? .int8 : .numeric, bits <= 32 ? -1 : Int32((20 << 16) + 4))
        case (.int32, nil): return (.int4, -1)
        case (.int64, nil): return (.int8, -1)
        case (_, .decimal(let p, let s)?): return (.numeric, Int32((p << 16 | s) + 4))
        case (.int32, .date?): return (.date, -1)
        case (.int64, .timestamp(_, let utc)?): return (utc ? .timestamptz : .timestamp, -1)
        case (.int32, .time?), (.int64, .time?): return (.time, -1)
        case (.float, _): return (.float4, -1)
        case (.double, _): return (.float8, -1)
        case (.byteArray, .string?), (.byteArray, .enumeration?): return (.text, -1)
        case (.byteArray, .json?): return (.json, -1)
        case (.fixedLenByteArray, .uuid?): return (.uuid, -1)
        case (.byteArray, nil), (.fixedLenByteArray, nil): return (.bytea, -1)
        default:
            throw FormatError("\"\(file)\": column \"\(column)\" is \(type), which has no PostgreSQL type here")
        }
    }

    /// With `--schema`, a Parquet file's footer schema must be that schema (the archive's sidecar):
    /// the first difference, or a missing footer key, refuses the file.
    static func checkFooter(_ footer: RowStreamSchema, inferred: Bool, against expected: RowStreamSchema, file: String, schemaFile: String) throws {
        guard !inferred else {
            throw FormatError("\"\(file)\" has no \(schemaKey) footer key to check against the schema file \"\(schemaFile)\"")
        }
        guard footer != expected else { return }
        let difference: String
        if footer.table != expected.table {
            difference = "table \(footer.table.schema).\(footer.table.name) where the schema file has \(expected.table.schema).\(expected.table.name)"
        } else if footer.columns.count != expected.columns.count {
            difference = "\(footer.columns.count) columns where the schema file has \(expected.columns.count)"
        } else if let i = footer.columns.indices.first(where: { footer.columns[$0] != expected.columns[$0] }) {
            let (a, b) = (footer.columns[i], expected.columns[i])
            difference = a.name != b.name
                ? "column \(i + 1) \"\(a.name)\" where the schema file has \"\(b.name)\""
                : "column \"\(a.name)\" as \(a.originalType ?? a.type) where the schema file has \(b.originalType ?? b.type)"
                    + (a.type == b.type && a.originalType == b.originalType ? " (nullability, OID, typmod or labels differ)" : "")
        } else if footer.primaryKey != expected.primaryKey || footer.partitionKey != expected.partitionKey {
            difference = "a different primary or partition key"
        } else {
            difference = "other schema entries"
        }
        throw FormatError("\"\(file)\": the \(schemaKey) footer key differs from the schema file \"\(schemaFile)\": \(difference)")
    }
}
