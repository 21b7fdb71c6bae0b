import PGAccess
import RowStream

/// The catalog facts of a table's whole definition (RowStream's `TableDefinition`): what
/// restore needs to recreate the table as it was, and the types it needs.
enum DefinitionQuery {
    /// Reads the definition of the relation `oid`.
    static func describe(_ conn: PGConnection, oid: String) throws -> TableDefinition {
        var definition = TableDefinition()
        var typeOIDs: [String] = []
        for r in try conn.query("""
            SELECT a.attname, format_type(a.atttypid, a.atttypmod),
                   CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0
                        THEN format('%I.%I', cn.nspname, co.collname) END,
                   CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,
                   CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
                   CASE WHEN a.attgenerated = 's' THEN pg_get_expr(d.adbin, d.adrelid) END,
                   a.attidentity = '' AND pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) IS NOT NULL
                     AND pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%',
                   a.atttypid::text,
                   CASE WHEN a.attidentity <> '' THEN
                     (SELECT format('START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s %s', s.seqstart, s.seqincrement,
                                    s.seqmin, s.seqmax, s.seqcache, CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END)
                      FROM pg_sequence s WHERE s.seqrelid = pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname)::regclass) END
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            LEFT JOIN pg_collation co ON co.oid = a.attcollation LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
            WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """, [oid]) {
            let serial = r[6] == "t"
            var column = TableDefinition.ColumnDefinition(
                name: r[0] ?? "", type: r[1] ?? "", collation: r[2], defaultExpression: serial ? nil : r[3], identity: r[4],
                generated: r[5], serial: serial ? true : nil)
            column.identityOptions = r[8]
            definition.columns.append(column)
            if let type = r[7] { typeOIDs.append(type) }
        }
        definition.constraints = try conn.query("""
            SELECT conname, contype::text, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = $1::oid AND contype IN ('p', 'u', 'c') ORDER BY contype DESC, conname
            """, [oid]).map { TableDefinition.Constraint(name: $0[0] ?? "", kind: $0[1] ?? "", definition: $0[2] ?? "") }
        var seen: Set<String> = []
        for type in typeOIDs { try collectType(type, conn: conn, seen: &seen, into: &definition.types) }
        return definition
    }

    /// Adds the user type `oid` (after the types it needs) unless built in or seen.
    static func collectType(_ oid: String, conn: PGConnection, seen: inout Set<String>, into types: inout [TableDefinition.TypeDefinition]) throws {
        guard !seen.contains(oid) else { return }
        seen.insert(oid)
        guard let r = try conn.query("""
            SELECT t.typtype::text, format('%I.%I', n.nspname, t.typname), t.typelem::text, t.typbasetype::text, t.typrelid::text,
                   n.nspname IN ('pg_catalog', 'information_schema'),
                   (SELECT e.extname FROM pg_depend dep JOIN pg_extension e ON e.oid = dep.refobjid
                     WHERE dep.classid = 'pg_type'::regclass AND dep.objid = t.oid AND dep.refclassid = 'pg_extension'::regclass
                       AND dep.deptype = 'e' LIMIT 1),
                   (SELECT rngsubtype::text FROM pg_range WHERE rngtypid = t.oid),
                   t.typcategory = 'A'
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = $1::oid
            """, [oid]).first, let kind = r[0], let name = r[1] else { return }
        if r[8] == "t", let element = r[2], element != "0" {
            // An array: its element type is what is needed.
            try collectType(element, conn: conn, seen: &seen, into: &types)
            return
        }
        if r[5] == "t" { return }
        if let ext = r[6] {
            types.append(.init(name: name, kind: kind, fromExtension: ext))
            return
        }
        var sql: String?
        switch kind {
        case "e":
            sql = try conn.query("""
                SELECT format('CREATE TYPE %s AS ENUM (%s)', $2::text, string_agg(quote_literal(enumlabel), ', ' ORDER BY enumsortorder))
                FROM pg_enum WHERE enumtypid = $1::oid
                """, [oid, name]).first?[0] ?? nil
        case "d":
            if let base = r[3] { try collectType(base, conn: conn, seen: &seen, into: &types) }
            sql = try conn.query("""
                SELECT format('CREATE DOMAIN %s AS %s', $2::text, format_type(t.typbasetype, t.typtypmod))
                  || CASE WHEN t.typcollation <> b.typcollation AND t.typcollation <> 0
                          THEN (SELECT format(' COLLATE %I.%I', cn.nspname, co.collname) FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = t.typcollation)
                          ELSE '' END
                  || CASE WHEN t.typdefault IS NOT NULL THEN ' DEFAULT ' || t.typdefault ELSE '' END
                  || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
                  || coalesce((SELECT string_agg(format(' CONSTRAINT %I %s', conname, pg_get_constraintdef(oid)), '' ORDER BY conname)
                               FROM pg_constraint WHERE contypid = t.oid AND contype = 'c'), '')
                FROM pg_type t JOIN pg_type b ON b.oid = t.typbasetype WHERE t.oid = $1::oid
                """, [oid, name]).first?[0] ?? nil
        case "c":
            guard let rel = r[4] else { break }
            let attributes = try conn.query("""
                SELECT a.atttypid::text, format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod))
                  || CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0
                          THEN (SELECT format(' COLLATE %I.%I', cn.nspname, co.collname) FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation)
                          ELSE '' END
                FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid JOIN pg_class c ON c.oid = a.attrelid
                WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind = 'c' ORDER BY a.attnum
                """, [rel])
            guard !attributes.isEmpty else {
                // A table's row type: it comes with that table, not with a CREATE TYPE.
                types.append(.init(name: name, kind: "c"))
                return
            }
            for a in attributes { if let t = a[0] { try collectType(t, conn: conn, seen: &seen, into: &types) } }
            sql = "CREATE TYPE \(name) AS (" + attributes.compactMap { $0[1] }.joined(separator: ", ") + ")"
        case "r":
            if let subtype = r[7] { try collectType(subtype, conn: conn, seen: &seen, into: &types) }
            sql = try conn.query("""
                SELECT format('CREATE TYPE %s AS RANGE (SUBTYPE = %s', $2::text, format_type(r.rngsubtype, NULL))
                  || CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation
                          THEN (SELECT format(', COLLATION = %I.%I', cn.nspname, co.collname) FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = r.rngcollation)
                          ELSE '' END
                  || CASE WHEN r.rngsubdiff <> 0 THEN format(', SUBTYPE_DIFF = %s', r.rngsubdiff::regproc) ELSE '' END
                  || format(', MULTIRANGE_TYPE_NAME = %s)', format('%I.%I', mn.nspname, mt.typname))
                FROM pg_range r JOIN pg_type st ON st.oid = r.rngsubtype
                JOIN pg_type mt ON mt.oid = r.rngmultitypid JOIN pg_namespace mn ON mn.oid = mt.typnamespace
                WHERE r.rngtypid = $1::oid
                """, [oid, name]).first?[0] ?? nil
        default:
            break
        }
        types.append(.init(name: name, kind: kind, sql: sql))
    }
}
