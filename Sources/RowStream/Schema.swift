import FoundationEssentials

/// The schema a rowstream carries in its header extension (docs/rowstream.md, "Schema JSON").
public struct RowStreamSchema: Codable, Equatable, Sendable {
    /// The table the rows come from.
    public var table: TableName
    /// Columns in table order; every tuple has exactly this many fields.
    public var columns: [Column]
    /// The partition key columns of the source table (empty when not partitioned by columns).
    public var partitionKey: [String]
    /// The primary-key columns of the source table, in key order.
    public var primaryKey: [String]
    /// The table's whole definition (defaults, collations, identity, generated columns,
    /// constraints, the types it needs); nil in schemas written before it existed.
    public var definition: TableDefinition?

    /// A schema from its parts.
    public init(table: TableName, columns: [Column], partitionKey: [String] = [], primaryKey: [String] = []) {
        self.table = table
        self.columns = columns
        self.partitionKey = partitionKey
        self.primaryKey = primaryKey
    }

    enum CodingKeys: String, CodingKey {
        case table, columns
        case partitionKey = "partition_key"
        case primaryKey = "primary_key"
        case definition
    }

    /// A schema-qualified table name.
    public struct TableName: Codable, Equatable, Sendable {
        /// The schema (namespace).
        public var schema: String
        /// The table.
        public var name: String

        /// A table name from its parts.
        public init(schema: String, name: String) {
            self.schema = schema
            self.name = name
        }
    }

    /// One column: how it is encoded in the stream and what it was in the source table.
    public struct Column: Codable, Equatable, Sendable {
        /// The column name.
        public var name: String
        /// `format_type()` text of the type on the wire, usable in CREATE TABLE (`numeric(10,2)`).
        public var type: String
        /// The PostgreSQL type OID of the values on the wire (25 for text-cast columns).
        public var oid: UInt32
        /// The type modifier (-1 when none).
        public var typmod: Int32
        /// Whether the column admits NULL.
        public var nullable: Bool
        /// The element type OID, for array columns.
        public var elementOID: UInt32?
        /// The labels of an enum type (of the column or of its array elements), in sort order.
        public var enumLabels: [String]?
        /// For a column selected as `col::text`, the `format_type()` text of the original type.
        public var originalType: String?
        /// The column's attribute number in the source table (`pg_attribute.attnum`): stable
        /// across `ALTER COLUMN … TYPE`, never reused, so a rename or a dropped column shows
        /// when two versions of a table are compared. Nil in streams written before it existed.
        public var attnum: Int?

        /// A column from its parts.
        public init(name: String, type: String, oid: UInt32, typmod: Int32 = -1, nullable: Bool = true,
                    elementOID: UInt32? = nil, enumLabels: [String]? = nil, originalType: String? = nil, attnum: Int? = nil) {
            self.name = name
            self.type = type
            self.oid = oid
            self.typmod = typmod
            self.nullable = nullable
            self.elementOID = elementOID
            self.enumLabels = enumLabels
            self.originalType = originalType
            self.attnum = attnum
        }

        enum CodingKeys: String, CodingKey {
            case name, type, oid, typmod, nullable
            case elementOID = "element_oid"
            case enumLabels = "enum_labels"
            case originalType = "original_type"
            case attnum
        }

        /// How values of this column are encoded, from the one type table.
        public var kind: ValueKind? { TypeTable.kind(of: self) }
    }

    /// The schema as compact JSON with sorted keys (the same schema always gives the same bytes).
    public func encodedJSON() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }

    /// Decodes the schema JSON; a malformed document is a `RowStreamError`.
    public static func decode(json: UnsafeRawBufferPointer) throws -> RowStreamSchema {
        do {
            return try JSONDecoder().decode(RowStreamSchema.self, from: Data(json))
        } catch let DecodingError.keyNotFound(key, context) {
            throw RowStreamError("rowstream schema lacks \"\(path(context.codingPath + [key]))\"", offset: 25)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw RowStreamError("rowstream schema field \"\(path(context.codingPath))\" has the wrong type", offset: 25)
        } catch {
            throw RowStreamError("rowstream schema is not valid JSON", offset: 25)
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.reduce("") { text, key in
            if let index = key.intValue { return text + "[\(index)]" }
            return text.isEmpty ? key.stringValue : text + "." + key.stringValue
        }
    }
}
