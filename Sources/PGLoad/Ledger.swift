import PGAccess
import ToolSupport

/// The load ledger: which archived objects were loaded into which table (docs/restore-ledger.md).
///
/// One row per (target table, object key) in `pgarchive_restore_ledger` of the target's schema,
/// written by the same transaction that inserts the object's rows: a load that committed is
/// always recorded, one that did not never is, whatever kills the process.
public enum Ledger {
    /// The ledger table's name (in the target table's schema).
    public static let table = "pgarchive_restore_ledger"

    /// What the ledger said about one object.
    public enum Outcome: String, Sendable {
        /// Not loaded before: loaded and recorded.
        case recorded
        /// Loaded before with the same ETag: skipped.
        case alreadyLoaded = "already_loaded"
        /// Loaded before, but its ETag changed since: skipped.
        case changed
        /// Loaded before and loaded again (`--reload`): its rows may now be there twice.
        case reloaded
    }

    /// One recorded load.
    public struct Entry: Sendable {
        /// The object's ETag when it was loaded.
        public var etag: String
        /// When the load committed (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
        public var loadedAt: String
        /// Rows read from it.
        public var rows: Int64
    }

    static func qualified(_ schema: String) -> String { SQL.qualified(schema, table) }

    static func createSQL(_ schema: String) -> String {
        """
        CREATE TABLE \(qualified(schema)) (
          target_table text NOT NULL,
          object_key text NOT NULL,
          etag text NOT NULL,
          digest text,
          rows_loaded bigint NOT NULL,
          loads integer NOT NULL DEFAULT 1,
          loaded_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (target_table, object_key))
        """
    }

    /// Whether the ledger exists in `schema` (a scan of pg_class: no stale name-cache entry).
    public static func exists(_ conn: PGConnection, schema: String) throws -> Bool {
        try conn.query("SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2)",
                       [schema, table]).first?.first == "t"
    }

    /// Creates the ledger when missing, in its own transaction under an advisory lock.
    static func create(_ conn: PGConnection, schema: String) throws {
        if try exists(conn, schema: schema) { return }
        try Loader.inTransaction(conn) {
            _ = try conn.query("SELECT pg_advisory_xact_lock(hashtext('pgarchive-load'), hashtext(\(SQL.literal(schema + "." + table))))")
            if try !exists(conn, schema: schema) { try conn.execute(createSQL(schema)) }
        }
    }

    /// Every recorded object of `target` (`schema.table`): key → entry. Empty without a ledger.
    public static func entries(_ conn: PGConnection, schema: String, target: String) throws -> [String: Entry] {
        guard try exists(conn, schema: schema) else { return [:] }
        var out: [String: Entry] = [:]
        for row in try conn.query("SELECT object_key, etag, to_char(loaded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), rows_loaded FROM \(qualified(schema)) WHERE target_table = $1",
                                  [target]) {
            out[row[0] ?? ""] = Entry(etag: row[1] ?? "", loadedAt: row[2] ?? "", rows: Int64(row[3] ?? "") ?? 0)
        }
        return out
    }

    /// Inside the load transaction: serialises loads of the same object, then returns its entry.
    static func lockAndLookUp(_ conn: PGConnection, schema: String, target: String, key: String) throws -> Entry? {
        _ = try conn.query("SELECT pg_advisory_xact_lock(hashtext('pgarchive-ledger'), hashtext($1))", [target + "\n" + key])
        guard try exists(conn, schema: schema) else { return nil }
        return try entries(conn, schema: schema, target: target, key: key)
    }

    static func entries(_ conn: PGConnection, schema: String, target: String, key: String) throws -> Entry? {
        try conn.query("SELECT etag, to_char(loaded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), rows_loaded FROM \(qualified(schema)) WHERE target_table = $1 AND object_key = $2",
                       [target, key]).first.map { Entry(etag: $0[0] ?? "", loadedAt: $0[1] ?? "", rows: Int64($0[2] ?? "") ?? 0) }
    }

    /// Inside the load transaction: records the load (a reload replaces the entry and counts it).
    static func record(_ conn: PGConnection, schema: String, target: String, key: String, etag: String, digest: String?, rows: Int64) throws {
        _ = try conn.query("""
            INSERT INTO \(qualified(schema)) AS l (target_table, object_key, etag, digest, rows_loaded) VALUES ($1, $2, $3, $4, $5::bigint)
            ON CONFLICT (target_table, object_key) DO UPDATE
              SET etag = excluded.etag, digest = excluded.digest, rows_loaded = excluded.rows_loaded, loads = l.loads + 1, loaded_at = now()
            """, [target, key, etag, digest, String(rows)])
    }
}
