import FoundationEssentials
import PGAccess
import RowStream

/// A column of the base table and how pg-extract selects it.
public struct SelectedColumn: Sendable {
    /// The column as the schema describes it.
    public var column: RowStreamSchema.Column
    /// The select-list expression (`"col"`, `"col"::text`, or for xml its output function's text).
    public var expression: String
}

/// The catalog facts that make a rowstream schema: columns, partition key, primary key.
public enum SchemaQuery {
    /// The columns of `schema.table` in table order, typed for the stream, and the stream schema.
    public static func describe(_ conn: PGConnection, schema: String, table: String) throws -> (RowStreamSchema, [SelectedColumn]) {
        let found = try conn.query("""
            SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'f', 'v', 'm')
            """, [schema, table])
        guard let oid = found.first?[0] else { throw ExtractError("table \"\(schema).\(table)\" not found") }
        let rows = try conn.query("""
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attndims,
                   rt.oid, rt.typtype, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
                   format_type(rt.oid, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END),
                   CASE WHEN rt.typlen = -1 AND rt.typelem <> 0 THEN rt.typelem END,
                   et.typtype,
                   (SELECT array_to_json(array_agg(e.enumlabel ORDER BY e.enumsortorder))::text FROM pg_enum e
                     WHERE e.enumtypid = CASE WHEN rt.typtype = 'e' THEN rt.oid WHEN et.typtype = 'e' THEN et.oid END),
                   a.attnum
            FROM pg_attribute a
            JOIN pg_type t ON t.oid = a.atttypid
            JOIN pg_type rt ON rt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
            LEFT JOIN pg_type et ON et.oid = rt.typelem AND rt.typlen = -1 AND rt.typelem <> 0
            WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """, [oid])
        var selected: [SelectedColumn] = []
        for r in rows {
            let name = r[0]!
            let declared = r[1]!
            let oid = UInt32(r[4]!)!
            let typtype = r[5]!
            let typmod = Int32(r[6]!) ?? -1
            let wireType = r[7]!
            let element = r[8].flatMap { UInt32($0) }
            let labels = try r[10].map(decodeLabels)
            let isEnum = typtype == "e" || r[9] == "e"
            let native = typtype != "d" && TypeTable.isNative(oid: oid, isEnum: isEnum) && (Int(r[3]!) ?? 0) <= 1
                && (element == nil || TypeTable.arrays[oid] != nil || r[9] == "e")
            let nullable = r[2] != "t"
            let attnum = r[11].flatMap { Int($0) }
            if native {
                let column = RowStreamSchema.Column(name: name, type: wireType, oid: oid, typmod: typmod, nullable: nullable,
                                                    elementOID: element, enumLabels: labels, attnum: attnum)
                selected.append(SelectedColumn(column: column, expression: SQL.identifier(name)))
            } else {
                let column = RowStreamSchema.Column(name: name, type: "text", oid: TypeTable.textOID, typmod: -1, nullable: nullable,
                                                    originalType: declared, attnum: attnum)
                // xml's cast to text keeps the stored declaration; its output function (COPY's and
                // row_to_json's text) writes it as PostgreSQL prints it.
                let expression = oid == xmlOID
                    ? "pg_catalog.textin(pg_catalog.xml_out(\(SQL.identifier(name))))" : SQL.identifier(name) + "::text"
                selected.append(SelectedColumn(column: column, expression: expression))
            }
        }
        let partitionKey = try conn.query("""
            SELECT a.attname FROM pg_partitioned_table pt, unnest(pt.partattrs::int2[]) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = $1::oid AND a.attnum = k.attnum
            WHERE pt.partrelid = $1::oid ORDER BY k.ord
            """, [oid]).compactMap { $0[0] }
        let primaryKey = try conn.query("""
            SELECT a.attname FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = $1::oid AND a.attnum = k.attnum
            WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY k.ord
            """, [oid]).compactMap { $0[0] }
        var streamSchema = RowStreamSchema(table: .init(schema: schema, name: table), columns: selected.map(\.column),
                                           partitionKey: partitionKey, primaryKey: primaryKey)
        streamSchema.definition = try DefinitionQuery.describe(conn, oid: oid)
        return (streamSchema, selected)
    }

    /// The OID of `xml`.
    private static let xmlOID: UInt32 = 142

    private static func decodeLabels(_ json: String) throws -> [String] {
        guard let labels = try? JSONDecoder().decode([String].self, from: Data(json.utf8)) else {
            throw ExtractError("could not read enum labels")
        }
        return labels
    }
}

/// An extraction failure with a one-line message.
public struct ExtractError: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public var message: String
    /// An error with a message.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
