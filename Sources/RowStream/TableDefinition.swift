/// The source table's whole definition, beyond what the wire needs (docs/rowstream.md, "Schema
/// JSON", `definition`): what restore recreates a missing table and its types from.
public struct TableDefinition: Codable, Equatable, Sendable {
    /// Per column (by name), what CREATE TABLE says beyond the type and NOT NULL.
    public var columns: [ColumnDefinition]
    /// Primary key, unique and CHECK constraints, as `pg_get_constraintdef` prints them.
    public var constraints: [Constraint]
    /// The types the columns need that are not built in, dependencies first.
    public var types: [TypeDefinition]

    /// A definition from its parts.
    public init(columns: [ColumnDefinition] = [], constraints: [Constraint] = [], types: [TypeDefinition] = []) {
        self.columns = columns
        self.constraints = constraints
        self.types = types
    }

    /// One column's definition.
    public struct ColumnDefinition: Codable, Equatable, Sendable {
        /// The column name.
        public var name: String
        /// `format_type()` of the declared type (a domain's own name).
        public var type: String
        /// The collation when it is not the type's default, quoted and schema-qualified.
        public var collation: String?
        /// The default expression (not for identity or generated columns, nor serial ones).
        public var defaultExpression: String?
        /// `always` or `by default` for an identity column.
        public var identity: String?
        /// An identity column's sequence options (`START WITH 100 INCREMENT BY 5 MINVALUE 1 …`).
        public var identityOptions: String?
        /// The expression of a STORED generated column.
        public var generated: String?
        /// A serial column: its default is `nextval` of a sequence the column owns.
        public var serial: Bool?

        /// A column definition from its parts.
        public init(name: String, type: String, collation: String? = nil, defaultExpression: String? = nil, identity: String? = nil,
                    generated: String? = nil, serial: Bool? = nil) {
            self.name = name
            self.type = type
            self.collation = collation
            self.defaultExpression = defaultExpression
            self.identity = identity
            self.generated = generated
            self.serial = serial
        }

        enum CodingKeys: String, CodingKey {
            case name, type, collation, identity, generated, serial
            case defaultExpression = "default"
            case identityOptions = "identity_options"
        }
    }

    /// A table constraint.
    public struct Constraint: Codable, Equatable, Sendable {
        /// The constraint's name.
        public var name: String
        /// `p` primary key, `u` unique, `c` check.
        public var kind: String
        /// `pg_get_constraintdef` text (`PRIMARY KEY (id)`, `CHECK ((v > 0))`).
        public var definition: String

        /// A constraint from its parts.
        public init(name: String, kind: String, definition: String) {
            self.name = name
            self.kind = kind
            self.definition = definition
        }
    }

    /// A type a column needs.
    public struct TypeDefinition: Codable, Equatable, Sendable {
        /// The type's name, quoted and schema-qualified (`public.mood`).
        public var name: String
        /// `e` enum, `d` domain, `c` composite, `r` range, `b` base (only from an extension).
        public var kind: String
        /// The statement that creates it (nil for an extension's type).
        public var sql: String?
        /// The extension it belongs to: restore does not create it, but names the extension.
        public var fromExtension: String?

        /// A type definition from its parts.
        public init(name: String, kind: String, sql: String? = nil, fromExtension: String? = nil) {
            self.name = name
            self.kind = kind
            self.sql = sql
            self.fromExtension = fromExtension
        }

        enum CodingKeys: String, CodingKey {
            case name, kind, sql
            case fromExtension = "extension"
        }
    }
}
