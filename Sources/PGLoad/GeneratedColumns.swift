import PGAccess
import RowStream

/// Identity and generated columns of an existing target (man/pg-load.1): a STORED generated
/// column is not inserted, and PostgreSQL's recomputed value must print as the archived one;
/// identity and serial columns take the archived values and their sequence moves past them.
enum GeneratedColumns {
    /// Stream columns the target generates (STORED).
    static func generated(_ target: TargetTable, schema: RowStreamSchema) -> [RowStreamSchema.Column] {
        schema.columns.filter { target.columns[$0.name]?.generated == "s" }
    }

    /// Compares each generated column's recomputed value with the archived one, row by row,
    /// before anything is inserted; the first difference fails the input.
    static func check(_ target: TargetTable, schema: RowStreamSchema, stage: String, object: String,
                      generatedAsData: Bool, conn: PGConnection) throws {
        let generated = generated(target, schema: schema)
        guard !generated.isEmpty else { return }
        if generatedAsData {
            let name = generated[0].name
            throw LoadError("column \"\(name)\" of \(target.displayName) is a generated column, so --generated-as-data cannot restore the archived values "
                            + "into it: make it a plain column first (ALTER TABLE \(target.qualified) ALTER COLUMN \(SQL.identifier(name)) DROP EXPRESSION)")
        }
        // The staged row in the target's types, under the target's column names, so the
        // generation expression reads it as it reads a table row.
        let typed = schema.columns.compactMap { column in
            target.columns[column.name].map { LoadSQL.value(column) + "::" + $0.type + " AS " + SQL.identifier(column.name) }
        }
        for column in generated {
            guard let existing = target.columns[column.name], let expression = existing.expression else { continue }
            let sql = """
                WITH x AS (
                  SELECT row_number() OVER (ORDER BY pgarchive_ctid) AS n, ((\(expression))::\(existing.type))::text AS recomputed,
                         \(SQL.identifier(column.name))::text AS archived
                  FROM (SELECT ctid AS pgarchive_ctid, \(typed.joined(separator: ", ")) FROM \(SQL.identifier(stage))) s)
                SELECT (SELECT count(*) FROM x WHERE recomputed IS DISTINCT FROM archived), n, archived, recomputed
                FROM x WHERE recomputed IS DISTINCT FROM archived ORDER BY n LIMIT 1
                """
            guard let row = try conn.query(sql).first else { continue }
            throw LoadError("column \"\(column.name)\" of \(target.displayName) is generated (\(expression)): row \(row[1] ?? "?") of \(object) holds "
                            + "\(row[2] ?? "NULL") but PostgreSQL computes \(row[3] ?? "NULL") (\(row[0] ?? "?") rows differ); "
                            + "restore into a plain column with --generated-as-data")
        }
    }

    /// Moves the sequence of each inserted identity or serial column past the highest value
    /// just restored (never back; a descending sequence is left alone).
    static func moveSequences(_ target: TargetTable, schema: RowStreamSchema, stage: String, conn: PGConnection) throws {
        for column in schema.columns {
            guard let existing = target.columns[column.name], existing.generated.isEmpty,
                  ["smallint", "integer", "bigint"].contains(existing.baseType) else { continue }
            guard let sequence = try conn.query("SELECT pg_get_serial_sequence($1, $2)", [target.qualified, column.name]).first?[0] else { continue }
            _ = try conn.query("""
                SELECT setval(x.s, x.m) FROM (
                  SELECT $1::regclass AS s, (SELECT max(\(LoadSQL.value(column))) FROM \(SQL.identifier(stage)))::bigint AS m) x
                WHERE x.m IS NOT NULL AND x.m > coalesce(pg_sequence_last_value(x.s), x.m - 1)
                  AND (SELECT seqincrement > 0 FROM pg_sequence WHERE seqrelid = x.s)
                """, [sequence])
        }
    }
}
