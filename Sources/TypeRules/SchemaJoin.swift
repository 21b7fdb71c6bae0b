import RowStream

/// One archived definition of a table (a schema sidecar) and what names it in messages.
public struct SchemaVersion: Sendable {
    /// How messages name it: the sidecar's hash and the objects written with it.
    public var label: String
    /// The definition.
    public var schema: RowStreamSchema

    /// A version from its label and definition.
    public init(label: String, schema: RowStreamSchema) {
        self.label = label
        self.schema = schema
    }
}

/// Why archived versions of a table cannot be restored into one table.
public struct SchemaJoinError: Error, CustomStringConvertible, Sendable {
    /// One line naming the column, the reason and every version.
    public var message: String
    public var description: String { message }
}

/// The joined definition and the decisions that made it (for `--dry-run` and the log).
public struct JoinedSchema: Sendable {
    /// One table definition that holds every version's values with their text unchanged.
    public var schema: RowStreamSchema
    /// One line per column whose type or nullability differs between versions.
    public var decisions: [String]
}

/// Joins the archived definitions of one table, columns by name (docs/types.md, "Schema evolution").
public enum SchemaJoin {
    /// The type a column's values were archived as (its real type for text-carried columns).
    public static func archivedType(_ column: RowStreamSchema.Column) -> String {
        column.originalType ?? column.type
    }

    /// Joins `versions` into one definition, the same for any order of them. Refuses when a
    /// column was renamed or dropped (seen through attribute numbers), when a column's types
    /// have no common type that keeps every value's text, or when enum labels disagree.
    public static func join(_ versions: [SchemaVersion]) throws -> JoinedSchema {
        guard !versions.isEmpty else { throw SchemaJoinError(message: "no archived definition to join") }
        // One fixed order, whatever order the objects came in.
        let sorted = versions.sorted { $0.label < $1.label }
        if sorted.count == 1 { return JoinedSchema(schema: sorted[0].schema, decisions: []) }
        let table = sorted[0].schema.table.schema + "." + sorted[0].schema.table.name
        func refuse(_ what: String) -> SchemaJoinError {
            SchemaJoinError(message: "the archived versions of \(table) cannot be restored into one table: \(what); versions: "
                            + sorted.map { "\($0.label) (\($0.schema.columns.map(\.name).joined(separator: ", ")))" }.joined(separator: "; ")
                            + " (restore them into separate tables with --start-date/--end-date and --target-table)")
        }
        try checkAttributeNumbers(sorted, refuse: refuse)

        // Column order: by attribute number when every version carries them, else the widest
        // version's order with the others' extra columns after it.
        var order: [String] = []
        let numbered = sorted.allSatisfy { $0.schema.columns.allSatisfy { $0.attnum != nil } }
        if numbered {
            var attnums: [String: Int] = [:]
            for v in sorted { for c in v.schema.columns { attnums[c.name] = c.attnum! } }
            order = attnums.keys.sorted { (attnums[$0]!, $0) < (attnums[$1]!, $1) }
        } else {
            let widest = sorted.max { $0.schema.columns.count < $1.schema.columns.count }!
            order = widest.schema.columns.map(\.name)
            for v in sorted { for c in v.schema.columns where !order.contains(c.name) { order.append(c.name) } }
        }

        var columns: [RowStreamSchema.Column] = []
        var decisions: [String] = []
        for name in order {
            let present = sorted.compactMap { v in v.schema.columns.first { $0.name == name }.map { (v.label, $0) } }
            var joined = archivedType(present[0].1)
            for (_, c) in present.dropFirst() {
                guard let next = TypeRules.join(joined, archivedType(c)) else {
                    throw refuse("column \"\(name)\" is " + present.map { "\(archivedType($0.1)) in \($0.0)" }.joined(separator: ", ")
                                 + ", and no type holds them all unchanged")
                }
                joined = next
            }
            let types = Set(present.map { archivedType($0.1) })
            let labels = try enumLabels(present.map(\.1), name: name, refuse: refuse)
            // Rows of a version without the column get NULL: NOT NULL only when every version has it so.
            let nullable = present.count < sorted.count || present.contains { $0.1.nullable }
            if types.count > 1 {
                decisions.append("column \"\(name)\": \(types.sorted().joined(separator: ", ")) → \(joined)")
            }
            if present.count < sorted.count {
                decisions.append("column \"\(name)\": absent from \(sorted.count - present.count) of \(sorted.count) versions → NULL in their rows")
            }
            // The created column: a version's own description when it has the joined type (its OID,
            // element and carrying stay right), else the joined type carried as text.
            if var same = present.map(\.1).first(where: { archivedType($0) == joined }) {
                same.nullable = nullable
                same.enumLabels = labels
                same.attnum = numbered ? same.attnum : nil
                columns.append(same)
            } else {
                columns.append(RowStreamSchema.Column(name: name, type: "text", oid: 25, nullable: nullable, enumLabels: labels,
                                                      originalType: joined, attnum: present[0].1.attnum))
            }
        }
        // Keys only when every version agrees (a key over a column some rows lack cannot hold).
        let keys = Set(sorted.map(\.schema.primaryKey))
        let primaryKey = keys.count == 1 ? sorted[0].schema.primaryKey : []
        if keys.count > 1 { decisions.append("primary key: differs between versions → none") }
        let partitionKeys = Set(sorted.map(\.schema.partitionKey))
        let partitionKey = partitionKeys.count == 1 ? sorted[0].schema.partitionKey : []
        var schema = RowStreamSchema(table: sorted[0].schema.table, columns: columns, partitionKey: partitionKey, primaryKey: primaryKey)
        schema.definition = joinDefinitions(sorted, order: order, columns: columns, decisions: &decisions)
        return JoinedSchema(schema: schema, decisions: decisions)
    }

    /// The definitions joined: each column's (defaults, collation, identity, generated) from
    /// the versions that have it when they agree, constraints all versions share, every type.
    static func joinDefinitions(_ versions: [SchemaVersion], order: [String], columns: [RowStreamSchema.Column],
                                decisions: inout [String]) -> TableDefinition? {
        let definitions = versions.compactMap(\.schema.definition)
        guard definitions.count == versions.count, let first = definitions.first else { return nil }
        var joined = TableDefinition()
        for name in order {
            let found = definitions.compactMap { d in d.columns.first { $0.name == name } }
            guard var column = found.first else { continue }
            func same<T: Equatable>(_ key: KeyPath<TableDefinition.ColumnDefinition, T>) -> Bool { found.allSatisfy { $0[keyPath: key] == column[keyPath: key] } }
            let joinedType = columns.first { $0.name == name }.map(archivedType) ?? column.type
            if !same(\.type) { column.type = joinedType }
            if !(same(\.collation) && same(\.defaultExpression) && same(\.identity) && same(\.identityOptions) && same(\.generated) && same(\.serial)) {
                decisions.append("column \"\(name)\": its default, collation, identity or generation differs between versions → none")
                column = TableDefinition.ColumnDefinition(name: name, type: column.type)
            }
            joined.columns.append(column)
        }
        joined.constraints = first.constraints.filter { c in definitions.allSatisfy { $0.constraints.contains(c) } }
        if definitions.contains(where: { $0.constraints.count != joined.constraints.count }) {
            decisions.append("constraints: only those every version has → \(joined.constraints.map(\.name).joined(separator: ", "))")
        }
        for d in definitions {
            for type in d.types where !joined.types.contains(where: { $0.name == type.name }) { joined.types.append(type) }
        }
        return joined
    }

    /// A RENAME shows as one attribute number with two names; a DROP COLUMN as a column missing
    /// from a version that has a later column (ADD COLUMN always takes a new, higher number).
    static func checkAttributeNumbers(_ versions: [SchemaVersion], refuse: (String) -> SchemaJoinError) throws {
        var names: [Int: (name: String, label: String)] = [:]
        for v in versions {
            for c in v.schema.columns {
                guard let n = c.attnum else { continue }
                if let seen = names[n], seen.name != c.name {
                    throw refuse("attribute \(n) is \"\(seen.name)\" in \(seen.label) but \"\(c.name)\" in \(v.label) (a RENAME or DROP COLUMN)")
                }
                names[n] = (c.name, v.label)
            }
        }
        for (n, seen) in names.sorted(by: { $0.key < $1.key }) {
            for v in versions {
                let numbers = v.schema.columns.compactMap(\.attnum)
                guard !numbers.isEmpty, !numbers.contains(n), let later = numbers.max(), later > n else { continue }
                throw refuse("column \"\(seen.name)\" (attribute \(n)) of \(seen.label) is missing from \(v.label), which has later columns (a DROP COLUMN)")
            }
        }
    }

    /// The enum labels of a column across versions: equal, or one list holding every other
    /// list in the same order (`ALTER TYPE … ADD VALUE`); anything else is refused.
    static func enumLabels(_ columns: [RowStreamSchema.Column], name: String, refuse: (String) -> SchemaJoinError) throws -> [String]? {
        let lists = columns.compactMap(\.enumLabels)
        guard let longest = lists.max(by: { $0.count < $1.count }) else { return nil }
        for list in lists {
            let positions = list.compactMap { longest.firstIndex(of: $0) }
            guard positions.count == list.count, positions == positions.sorted() else {
                throw refuse("the enum labels of column \"\(name)\" differ between versions")
            }
        }
        return longest
    }
}
