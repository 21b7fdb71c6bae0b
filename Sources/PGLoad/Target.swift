import PGAccess
import RowStream

/// The target table as the catalog knows it (or nil fields when it does not exist yet).
struct TargetTable {
    var schema: String
    var name: String
    /// `r` table, `p` partitioned table; nil when missing.
    var relkind: String?
    /// Column name → `format_type` of the existing table.
    var columns: [String: String] = [:]
    /// Whether any unique index exists on it.
    var hasUniqueIndex = false
    /// The partition key columns of a partitioned table.
    var partitionKey: [String] = []

    var qualified: String { SQL.qualified(schema, name) }
    var exists: Bool { relkind != nil }

    /// Reads the catalog.
    static func lookUp(_ conn: PGConnection, schema: String, name: String) throws -> TargetTable {
        var target = TargetTable(schema: schema, name: name)
        let rows = try conn.query("""
            SELECT c.oid::text, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = $2
            """, [schema, name])
        guard let row = rows.first, let oid = row[0], let kind = row[1] else { return target }
        guard kind == "r" || kind == "p" else {
            throw LoadError("\(target.qualified) is not a table (relkind \(kind))")
        }
        target.relkind = kind
        for column in try conn.query("""
            SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum
            """, [oid]) {
            target.columns[column[0] ?? ""] = column[1] ?? ""
        }
        target.hasUniqueIndex = try conn.query("SELECT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = $1::oid AND indisunique)", [oid])
            .first?.first == "t"
        if kind == "p" {
            target.partitionKey = try conn.query("""
                SELECT a.attname FROM pg_partitioned_table p CROSS JOIN LATERAL unnest(p.partattrs::int2[]) WITH ORDINALITY AS k(attnum, i)
                JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = k.attnum
                WHERE p.partrelid = $1::oid ORDER BY k.i
                """, [oid]).compactMap { $0[0] }
        }
        return target
    }
}

/// SQL text the loader needs, derived from the stream's schema.
enum LoadSQL {
    /// The column's type in the created table: the original type for text-cast columns.
    static func declaredType(_ column: RowStreamSchema.Column) -> String {
        column.originalType ?? column.type
    }

    /// The enum type a column needs (its own type or its arrays' element type), with its labels.
    static func enumType(_ column: RowStreamSchema.Column) -> (name: String, labels: [String])? {
        guard let labels = column.enumLabels else { return nil }
        var name = column.type
        while name.hasSuffix("[]") { name = String(name.dropLast(2)) }
        return (name, labels)
    }

    /// `CREATE TABLE` for the stream's schema: columns in order, NOT NULL, the primary key, and
    /// `PARTITION BY RANGE (date column)` when partitioned (the key then includes the date column).
    static func createTable(_ target: TargetTable, schema: RowStreamSchema, partitionColumn: String?) -> String {
        var items = schema.columns.map { column in
            SQL.identifier(column.name) + " " + declaredType(column) + (column.nullable ? "" : " NOT NULL")
        }
        var key = schema.primaryKey
        if let partitionColumn, !key.isEmpty, !key.contains(partitionColumn) { key.append(partitionColumn) }
        if !key.isEmpty { items.append("PRIMARY KEY (" + key.map(SQL.identifier).joined(separator: ", ") + ")") }
        var sql = "CREATE TABLE \(target.qualified) (\n  " + items.joined(separator: ",\n  ") + "\n)"
        if let partitionColumn { sql += " PARTITION BY RANGE (\(SQL.identifier(partitionColumn)))" }
        return sql
    }

    /// The staging table: one column per stream column, in the stream's wire types.
    static func createStage(_ name: String, columns: [(name: String, type: String)]) -> String {
        "CREATE TEMPORARY TABLE \(SQL.identifier(name)) (" + columns.map { SQL.identifier($0.name) + " " + $0.type }.joined(separator: ", ") + ")"
    }

    /// `INSERT INTO target (…) SELECT … FROM stage`, casting text-carried columns back to their types.
    static func insert(into target: TargetTable, from stage: String, schema: RowStreamSchema, policy: ConflictPolicy) -> String {
        let names = schema.columns.map { SQL.identifier($0.name) }.joined(separator: ", ")
        let values = schema.columns.map { column in
            column.originalType.map { SQL.identifier(column.name) + "::" + $0 } ?? SQL.identifier(column.name)
        }.joined(separator: ", ")
        var sql = "INSERT INTO \(target.qualified) (\(names)) SELECT \(values) FROM \(SQL.identifier(stage))"
        if policy == .nothing { sql += " ON CONFLICT DO NOTHING" }
        return sql
    }

    /// The windows of `range` holding rows of `column` in the stage, as `YYYY-MM-DD HH24:MI:SS` pairs.
    static func windows(stage: String, column: String, range: PartitionRange) -> String {
        let (field, interval) = range.truncation
        let c = SQL.identifier(column)
        return """
            SELECT to_char(w, 'YYYY-MM-DD HH24:MI:SS'), to_char(w + interval '\(interval)', 'YYYY-MM-DD HH24:MI:SS')
            FROM (SELECT DISTINCT date_trunc('\(field)', \(c)::timestamp) AS w FROM \(SQL.identifier(stage)) WHERE \(c) IS NOT NULL) s
            ORDER BY 1
            """
    }

    /// The advisory lock every loader takes before DDL on a table (tables and partitions alike).
    static func lock(_ target: TargetTable) -> String {
        "SELECT pg_advisory_xact_lock(hashtext('pgarchive-load'), hashtext(\(SQL.literal(target.schema + "." + target.name))))"
    }
}
