import PGAccess
import RowStream

/// The DDL that creates a missing target: the types it needs, then the table, from the
/// stream's schema and, when it carries one, the table's whole definition (docs/rowstream.md).
enum TableDDL {
    /// The statements to run, in order. Types that exist are left alone; a missing type that
    /// comes from an extension is refused with the `CREATE EXTENSION` to run.
    static func statements(_ target: TargetTable, schema: RowStreamSchema, partitionColumn: String?, generatedAsData: Bool,
                           conn: PGConnection, warn: (String) -> Void = { _ in }) throws -> [String] {
        var out: [String] = []
        func missing(_ name: String) throws -> Bool {
            try conn.query("SELECT to_regtype($1) IS NULL", [name]).first?.first == "t"
        }
        if let definition = schema.definition {
            for type in definition.types where try missing(type.name) {
                if let ext = type.fromExtension {
                    throw LoadError("type \(type.name) comes from the extension \(ext), which the target database lacks: run CREATE EXTENSION \(ext) there first (restore does not create extensions)",
                                    notFound: true)
                }
                guard let sql = type.sql else {
                    throw LoadError("type \(type.name) (the row type of another table) does not exist in the target database: create that table first", notFound: true)
                }
                out.append(sql)
            }
        }
        // Enum types named by the columns themselves (schemas without a definition).
        var seen: Set<String> = []
        for column in schema.columns where schema.definition == nil {
            guard let (name, labels) = LoadSQL.enumType(column), !seen.contains(name), try missing(name) else { continue }
            seen.insert(name)
            out.append("CREATE TYPE \(name) AS ENUM (" + labels.map(SQL.literal).joined(separator: ", ") + ")")
        }
        out.append(createTable(target, schema: schema, partitionColumn: partitionColumn, generatedAsData: generatedAsData, warn: warn))
        return out
    }

    /// `CREATE TABLE`: columns in order with their types, collations, defaults, identity and
    /// generated expressions, NOT NULL; the primary key, unique and CHECK constraints; and
    /// `PARTITION BY RANGE (date column)` when partitioned (the key then includes that column).
    static func createTable(_ target: TargetTable, schema: RowStreamSchema, partitionColumn: String?, generatedAsData: Bool,
                            warn: (String) -> Void) -> String {
        let definition = schema.definition
        var items = schema.columns.map { column in
            let def = definition?.columns.first { $0.name == column.name }
            // The definition's type keeps a domain (the stream describes its base type).
            var type = def?.type ?? LoadSQL.declaredType(column)
            if def?.serial == true, let serial = ["smallint": "smallserial", "integer": "serial", "bigint": "bigserial"][type] { type = serial }
            var item = SQL.identifier(column.name) + " " + type
            if let collation = def?.collation { item += " COLLATE " + collation }
            if let identity = def?.identity {
                item += " GENERATED \(identity == "always" ? "ALWAYS" : "BY DEFAULT") AS IDENTITY" + (def?.identityOptions.map { " (\($0))" } ?? "")
            }
            if let generated = def?.generated, !generatedAsData { item += " GENERATED ALWAYS AS (\(generated)) STORED" }
            if let expression = def?.defaultExpression { item += " DEFAULT " + expression }
            return item + (column.nullable ? "" : " NOT NULL")
        }
        var key = schema.primaryKey
        let keyGrows = partitionColumn.map { !key.isEmpty && !key.contains($0) } ?? false
        if let partitionColumn, keyGrows { key.append(partitionColumn) }
        // Index-backed constraints (primary key, unique) are named per schema: their archived
        // names only when the table keeps its archived name, else PostgreSQL's own.
        let keepNames = target.name == schema.table.name
        let keyName = keepNames ? definition?.constraints.first { $0.kind == "p" }?.name : nil
        if !key.isEmpty {
            items.append((keyName.map { "CONSTRAINT \(SQL.identifier($0)) " } ?? "") + "PRIMARY KEY (" + key.map(SQL.identifier).joined(separator: ", ") + ")")
        }
        for constraint in definition?.constraints ?? [] where constraint.kind != "p" {
            // A unique constraint of a partitioned table must hold the partition column.
            if constraint.kind == "u", let partitionColumn, !constraint.definition.contains(partitionColumn) {
                warn("\(target.displayName) is partitioned by \(partitionColumn): its archived constraint \(constraint.name) \(constraint.definition) is not created "
                     + "(PostgreSQL requires the partition column in every unique constraint of a partitioned table)")
                continue
            }
            items.append((keepNames || constraint.kind == "c" ? "CONSTRAINT \(SQL.identifier(constraint.name)) " : "") + constraint.definition)
        }
        var sql = "CREATE TABLE \(target.qualified) (\n  " + items.joined(separator: ",\n  ") + "\n)"
        if let partitionColumn { sql += " PARTITION BY RANGE (\(SQL.identifier(partitionColumn)))" }
        return sql
    }
}
