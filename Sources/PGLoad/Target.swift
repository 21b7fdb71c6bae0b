import PGAccess
import RowStream

/// One column of an existing target table.
struct TargetColumn {
    /// `format_type` of its type (a domain's name for a domain column).
    var type: String
    /// The type whose text its values print as: the domain's base type for a domain, else `type`.
    var baseType: String
    /// `a` GENERATED ALWAYS AS IDENTITY, `d` BY DEFAULT, empty otherwise.
    var identity: String
    /// `s` for a STORED generated column, empty otherwise.
    var generated: String
    /// The generation expression of a generated column.
    var expression: String?
}

/// The target table as the catalog knows it (or nil fields when it does not exist yet).
struct TargetTable {
    var schema: String
    var name: String
    /// `r` table, `p` partitioned table; nil when missing.
    var relkind: String?
    /// Column name → its type and kind in the existing table.
    var columns: [String: TargetColumn] = [:]
    /// Whether any unique index exists on it.
    var hasUniqueIndex = false
    /// The partition key columns of a partitioned table.
    var partitionKey: [String] = []

    var qualified: String { SQL.qualified(schema, name) }
    /// `schema.name` unquoted, for messages.
    var displayName: String { schema + "." + name }
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
            SELECT a.attname, format_type(a.atttypid, a.atttypmod),
                   CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE format_type(a.atttypid, a.atttypmod) END,
                   a.attidentity::text, a.attgenerated::text,
                   CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END
            FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
            """, [oid]) {
            target.columns[column[0] ?? ""] = TargetColumn(type: column[1] ?? "", baseType: column[2] ?? "",
                                                           identity: column[3] ?? "", generated: column[4] ?? "", expression: column[5])
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

    /// The staging table: one column per stream column, in the stream's wire types.
    static func createStage(_ name: String, columns: [(name: String, type: String)]) -> String {
        "CREATE TEMPORARY TABLE \(SQL.identifier(name)) (" + columns.map { SQL.identifier($0.name) + " " + $0.type }.joined(separator: ", ") + ")"
    }

    /// A stream column's staged value in its archived type (text-carried columns cast back).
    static func value(_ column: RowStreamSchema.Column) -> String {
        column.originalType.map { SQL.identifier(column.name) + "::" + $0 } ?? SQL.identifier(column.name)
    }

    /// `INSERT INTO target (…) SELECT … FROM stage`, casting text-carried columns back to their
    /// types. Columns the target generates are left to PostgreSQL; identity columns take the
    /// archived values (`OVERRIDING SYSTEM VALUE`, which GENERATED ALWAYS needs).
    static func insert(into target: TargetTable, from stage: String, schema: RowStreamSchema, policy: ConflictPolicy) -> String {
        let inserted = schema.columns.filter { target.columns[$0.name]?.generated.isEmpty ?? true }
        let names = inserted.map { SQL.identifier($0.name) }.joined(separator: ", ")
        let values = inserted.map(value).joined(separator: ", ")
        let overriding = inserted.contains { target.columns[$0.name]?.identity == "a" } ? " OVERRIDING SYSTEM VALUE" : ""
        var sql = "INSERT INTO \(target.qualified) (\(names))\(overriding) SELECT \(values) FROM \(SQL.identifier(stage))"
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
