import FoundationEssentials
import PGAccess
import SlicePlan

/// One relation of the inheritance/partition tree under a base table, as the catalog describes it.
struct TreeNode {
    var oid: String
    var parent: String?
    var schema: String
    var name: String
    var relkind: String
    var bound: String?
    var readable: Bool
    var reltuples: Double?
    /// pg_table_size: heap, TOAST and their maps on disk (0 for a partitioned table); filled by
    /// `Batches.tableSizes` after the tree is read (the size takes a lock per relation).
    var tableBytes: Int64?
    var children: Int
    /// For a partitioned table: its key column when the key is one column under RANGE strategy.
    var rangeKeyColumn: String?
}

/// The catalog queries discovery needs (all identifiers passed as parameters, never spliced).
enum Catalog {
    /// The base table's oid, relkind and namespace oid, or nil when absent.
    static func table(_ conn: PGConnection, schema: String, name: String) throws -> (oid: String, relkind: String, namespace: String)? {
        let rows = try conn.query("""
            SELECT c.oid, c.relkind, c.relnamespace FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'f')
            """, [schema, name])
        guard let row = rows.first else { return nil }
        return (row[0]!, row[1]!, row[2]!)
    }

    /// Every relation under `oid` at any depth (declarative partitions and inheritance children), the root first.
    static func tree(_ conn: PGConnection, root oid: String) throws -> [TreeNode] {
        let rows = try conn.query("""
            WITH RECURSIVE tree(oid, parent, depth) AS (
              SELECT $1::oid, NULL::oid, 0
              UNION ALL
              SELECT i.inhrelid, i.inhparent, t.depth + 1 FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid
            )
            SELECT t.oid, t.parent, n.nspname, c.relname, c.relkind, pg_get_expr(c.relpartbound, c.oid),
                   has_table_privilege(c.oid, 'SELECT'), c.reltuples,
                   (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid),
                   CASE WHEN pt.partstrat = 'r' AND pt.partnatts = 1 THEN
                     (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = pt.partattrs[0])
                   END
            FROM tree t JOIN pg_class c ON c.oid = t.oid JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
            ORDER BY t.depth, n.nspname, c.relname
            """, [oid])
        var seen = Set<String>()
        // A child of several inheritance parents appears once per path: keep the first, so its rows are read once.
        return rows.filter { seen.insert($0[0]!).inserted }.map { r in
            TreeNode(oid: r[0]!, parent: r[1], schema: r[2]!, name: r[3]!, relkind: r[4]!, bound: r[5], readable: r[6] == "t",
                     reltuples: r[7].flatMap(Double.init), tableBytes: nil,
                     children: Int(r[8] ?? "0") ?? 0, rangeKeyColumn: r[9])
        }
    }

    /// Standalone tables `<base>_…` in the namespace that are not attached to any parent.
    static func standaloneTables(_ conn: PGConnection, namespace: String, base: String) throws -> [TreeNode] {
        let rows = try conn.query("""
            SELECT c.oid, n.nspname, c.relname, has_table_privilege(c.oid, 'SELECT'), c.reltuples
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relnamespace = $1::oid AND c.relkind = 'r' AND left(c.relname, length($2) + 1) = $2 || '_'
              AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid OR i.inhparent = c.oid)
            ORDER BY c.relname
            """, [namespace, base])
        return rows.map { r in
            TreeNode(oid: r[0]!, parent: nil, schema: r[1]!, name: r[2]!, relkind: "r", bound: nil, readable: r[3] == "t",
                     reltuples: r[4].flatMap(Double.init), tableBytes: nil,
                     children: 0, rangeKeyColumn: nil)
        }
    }

    /// The type OID of a column of a relation, or nil when it has no such column.
    static func columnType(_ conn: PGConnection, relation oid: String, column: String) throws -> UInt32? {
        let rows = try conn.query("""
            SELECT a.atttypid FROM pg_attribute a
            WHERE a.attrelid = $1::oid AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped
            """, [oid, column])
        return rows.first?[0].flatMap { UInt32($0) }
    }

    /// The date/timestamp type OIDs a date column may have.
    static let dateTypes: Set<UInt32> = [1082, 1114, 1184]

    /// The first and last finite value of `column` in a relation within `window`, or nil when none
    /// (NULL and ±infinity are left to `unwindowed`: no window can hold them).
    static func extent(_ conn: PGConnection, schema: String, relation: String, only: Bool, column: String, within window: Window) throws -> Window? {
        let col = SQL.identifier(column)
        let rows = try conn.query("""
            SELECT (extract(epoch FROM mn) * 1000000)::bigint, (extract(epoch FROM mx) * 1000000)::bigint
            FROM (SELECT min(\(col))::timestamptz AS mn, max(\(col))::timestamptz AS mx
                  FROM \(only ? "ONLY " : "")\(SQL.qualified(schema, relation))
                  WHERE \(filterSQL(column: column, window: window)) AND isfinite(\(col))) s
            """)
        guard let low = rows[0][0].flatMap(Int64.init), let high = rows[0][1].flatMap(Int64.init) else { return nil }
        return Window(start: Instant(microseconds: low), end: Instant(microseconds: high + 1))
    }

    /// Rows of a relation no window can hold: `column` NULL, `-infinity`, `infinity`, and finite
    /// but outside `window` (unbounded sides not checked). One query; an index on the column serves it.
    static func unwindowed(_ conn: PGConnection, schema: String, relation: String, only: Bool, column: String,
                           outside window: Window) throws -> [UnwindowedRows.Reason: Int64] {
        let col = SQL.identifier(column)
        var outside: [String] = []
        if window.start > .distantPast { outside.append("\(col) < \(SQL.literal(window.start.postgresText))::timestamptz") }
        if window.end < .distantFuture { outside.append("\(col) >= \(SQL.literal(window.end.postgresText))::timestamptz") }
        let row = try conn.query("""
            SELECT count(*) FILTER (WHERE \(col) IS NULL), count(*) FILTER (WHERE \(col) = '-infinity'),
                   count(*) FILTER (WHERE \(col) = 'infinity'), count(*) FILTER (WHERE isfinite(\(col)))
            FROM \(only ? "ONLY " : "")\(SQL.qualified(schema, relation))
            WHERE \(col) IS NULL OR \(col) = '-infinity' OR \(col) = 'infinity'\(outside.map { " OR " + $0 }.joined())
            """)[0]
        let counts = row.map { $0.flatMap(Int64.init) ?? 0 }
        return [.null: counts[0], .minusInfinity: counts[1], .infinity: counts[2], .outsideWindow: counts[3]]
    }

    /// The SQL filter for a window of a column (unbounded sides omitted).
    static func filterSQL(column: String, window: Window) -> String {
        SQL.rangeFilter(column: column, from: window.start > .distantPast ? window.start.postgresText : nil,
                        to: window.end < .distantFuture ? window.end.postgresText : nil)
    }

    /// Counts the rows of a relation, optionally within a window of a column.
    static func count(_ conn: PGConnection, schema: String, relation: String, only: Bool, column: String?, window: Window?) throws -> Int64 {
        var sql = "SELECT count(*) FROM \(only ? "ONLY " : "")\(SQL.qualified(schema, relation))"
        if let column, let window { sql += " WHERE " + filterSQL(column: column, window: window) }
        return Int64(try conn.query(sql)[0][0] ?? "0") ?? 0
    }

    /// Whether a relation holds rows of its own.
    static func hasOwnRows(_ conn: PGConnection, schema: String, relation: String) throws -> Bool {
        try conn.query("SELECT EXISTS (SELECT 1 FROM ONLY \(SQL.qualified(schema, relation)))")[0][0] == "t"
    }
}


/// Parses `FOR VALUES FROM (x) TO (y)` of a single-column range partition into a window
/// (MINVALUE/MAXVALUE/±infinity → unbounded sides); nil for DEFAULT, list, hash or multi-column bounds.
func rangeBound(_ text: String) -> Window? {
    let prefix = "FOR VALUES FROM ("
    guard text.hasPrefix(prefix), let middle = text.firstRange(of: ") TO ("), text.hasSuffix(")") else { return nil }
    let lower = String(text[text.index(text.startIndex, offsetBy: prefix.count)..<middle.lowerBound])
    let upper = String(text[middle.upperBound..<text.index(before: text.endIndex)])
    guard let start = boundValue(lower, unbounded: Instant.distantPast), let end = boundValue(upper, unbounded: Instant.distantFuture) else { return nil }
    return Window(start: start, end: end)
}

private func boundValue(_ literal: String, unbounded: Instant) -> Instant? {
    if literal == "MINVALUE" || literal == "MAXVALUE" { return unbounded }
    guard literal.count >= 2, literal.hasPrefix("'"), literal.hasSuffix("'") else { return nil }
    let body = String(literal.dropFirst().dropLast())
    guard !body.contains("'") else { return nil }
    if body == "infinity" || body == "-infinity" { return unbounded }
    return Instant.parse(body)
}
