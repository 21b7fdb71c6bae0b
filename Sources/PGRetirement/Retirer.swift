import PGAccess
import PGExtraction
import RowDigest
import SlicePlan
#if canImport(Glibc)
import Glibc
#endif

/// What `retire` does with a whole partition once its rows are proven archived.
public enum RetireMode: Equatable, Sendable, CustomStringConvertible {
    /// Detach and drop it (the default).
    case drop
    /// Detach it and keep it as a table of its own.
    case detach
    /// Detach it and move it to another schema.
    case move(schema: String)

    /// Parses `drop`, `detach` or `move:SCHEMA`.
    public init?(_ text: String) {
        switch text {
        case "drop": self = .drop
        case "detach": self = .detach
        default:
            guard text.hasPrefix("move:"), text.count > 5 else { return nil }
            self = .move(schema: String(text.dropFirst(5)))
        }
    }

    public var description: String {
        switch self {
        case .drop: "drop"
        case .detach: "detach"
        case .move(let schema): "move:\(schema)"
        }
    }
}

/// One window to retire: its slice (plan line), the archived columns and what its manifest says.
public struct RetireRequest: Sendable {
    public var slice: Slice
    /// The columns the object was archived with (nil: all of the table's).
    public var columns: [String]?
    public var expectedRows: Int64
    public var expectedDigest: String
    public var mode: RetireMode
    /// `lock_timeout` of each attempt, in milliseconds.
    public var lockTimeoutMilliseconds: Int
    /// Attempts after the first when a lock is not granted in time.
    public var lockRetries: Int
    /// Compute and compare, remove nothing.
    public var dryRun: Bool

    public init(slice: Slice, columns: [String]?, expectedRows: Int64, expectedDigest: String, mode: RetireMode,
                lockTimeoutMilliseconds: Int, lockRetries: Int, dryRun: Bool) {
        self.slice = slice
        self.columns = columns
        self.expectedRows = expectedRows
        self.expectedDigest = expectedDigest
        self.mode = mode
        self.lockTimeoutMilliseconds = lockTimeoutMilliseconds
        self.lockRetries = lockRetries
        self.dryRun = dryRun
    }
}

/// What was (or, in a dry run, would be) removed.
public struct RetireOutcome: Sendable {
    /// One line per relation: `drop public.t_20240105`, `delete from public.t_default`, …
    public var actions: [String] = []
    public var rows: Int64 = 0
    public var digest: String = ""
    /// Attempts that ended on a lock not granted within `lock_timeout`.
    public var lockWaits = 0
}

/// Why a window was not retired.
public struct RetireRefusal: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// The rows in PostgreSQL are not the archived ones.
        case sourceChanged = "source changed"
        /// Something would see or lose the removal (a foreign key, trigger, publication); `--force-retire` overrides.
        case preflight
        /// The role may not remove them, or the relation cannot be removed whole.
        case notAllowed = "not allowed"
        /// A lock was not granted within `lock_timeout`, `lock_retries` + 1 times.
        case locked
        /// Any other failure (the transaction was rolled back).
        case failed
    }

    public var kind: Kind
    public var message: String
    /// `sourceChanged`: the rows found in PostgreSQL.
    public var rows: Int64?
    public init(_ kind: Kind, _ message: String, rows: Int64? = nil) {
        self.kind = kind
        self.message = message
        self.rows = rows
    }
    public var description: String { message }
}

/// `data-archiver retire`'s work in PostgreSQL: in one transaction, lock the window's relations,
/// recompute the row digest of exactly the rows to remove with pg-extract's code path
/// (`Extractor`), and remove them only when it equals the manifest's (docs/retire.md).
public enum Retirer {
    /// The row digest of no rows.
    public static let emptyDigest = RowDigest().hex

    /// The things that would see or keep the rows of `slice` (foreign keys with ON DELETE
    /// CASCADE / SET NULL / SET DEFAULT, DELETE triggers, publications), named; and the ownership
    /// and shape problems no flag overrides.
    public static func preflight(_ conn: PGConnection, slice: Slice, mode: RetireMode) throws -> (forcible: [String], fatal: [String]) {
        var forcible: [String] = [], fatal: [String] = []
        for source in slice.sources {
            let name = SQL.qualified(source.schema, source.relation)
            let shown = "\(source.schema).\(source.relation)"
            let rel = try conn.query("""
                SELECT c.relkind::text, c.relispartition, pg_has_role(c.relowner, 'USAGE'),
                       has_table_privilege(c.oid, 'DELETE'),
                       EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = c.oid),
                       (SELECT pg_has_role(p.relowner, 'USAGE') FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                         WHERE i.inhrelid = c.oid)
                FROM pg_class c WHERE c.oid = to_regclass($1)
                """, [name])
            guard let r = rel.first else {
                fatal.append("\(shown) does not exist")
                continue
            }
            let whole = source.column == nil
            if whole {
                if r[0] != "r" || r[4] == "t" {
                    fatal.append("\(shown) is not a leaf table (it has partitions or inheritance children): retire removes whole leaf partitions only")
                }
                if r[2] != "t" { fatal.append("the role does not own \(shown), which retire would \(mode == .drop ? "drop" : "detach")") }
                if r[1] == "t" && r[5] != "t" { fatal.append("the role does not own the parent of \(shown), from which retire would detach it") }
                if r[1] != "t" && mode == .detach { fatal.append("\(shown) is not a partition: --retire-mode detach has nothing to detach it from") }
            } else if r[3] != "t" {
                fatal.append("the role may not DELETE from \(shown)")
            }
            let ancestors = "SELECT relid FROM pg_partition_ancestors(to_regclass($1))"
            for fk in try conn.query("""
                SELECT c.conname, c.conrelid::regclass::text,
                       CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END
                FROM pg_constraint c WHERE c.contype = 'f' AND c.confdeltype IN ('c', 'n', 'd') AND c.confrelid IN (\(ancestors))
                ORDER BY 1
                """, [name]) {
                forcible.append("foreign key \(fk[0]!) of \(fk[1]!) points at \(shown) with ON DELETE \(fk[2]!)")
            }
            for trigger in try conn.query("""
                SELECT t.tgname, t.tgrelid::regclass::text FROM pg_trigger t
                WHERE NOT t.tgisinternal AND (t.tgtype & 8) <> 0 AND t.tgrelid IN (\(ancestors)) ORDER BY 1
                """, [name]) {
                forcible.append("DELETE trigger \(trigger[0]!) on \(trigger[1]!) would \(whole ? "not see the rows it watches go" : "see the rows")")
            }
            for publication in try conn.query("""
                SELECT DISTINCT pt.pubname FROM pg_publication_tables pt
                JOIN pg_class c ON c.relname = pt.tablename JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = pt.schemaname
                WHERE c.oid IN (\(ancestors)) ORDER BY 1
                """, [name]) {
                forcible.append("publication \(publication[0]!) publishes \(shown)")
            }
        }
        return (forcible, fatal)
    }

    /// Finishes a `DETACH … CONCURRENTLY` of one of the slice's relations left pending (by a
    /// killed session): `DETACH … FINALIZE`. Returns the relations finished.
    public static func finishPendingDetaches(_ conn: PGConnection, slice: Slice, lockTimeoutMilliseconds: Int) throws -> [String] {
        var finished: [String] = []
        for source in slice.sources where source.column == nil {
            let name = SQL.qualified(source.schema, source.relation)
            let pending = try conn.query("""
                SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = to_regclass($1) AND i.inhdetachpending
                """, [name])
            guard let parent = pending.first?[0] ?? nil else { continue }
            try conn.execute("SET lock_timeout = \(lockTimeoutMilliseconds)")
            defer { try? conn.execute("RESET lock_timeout") }
            try conn.execute("ALTER TABLE \(parent) DETACH PARTITION \(name) FINALIZE")
            finished.append("\(source.schema).\(source.relation)")
        }
        return finished
    }

    /// Retires one window: every attempt is one transaction (lock, digest, compare, remove,
    /// commit); a lock not granted within `lock_timeout` rolls it back and, after a backoff,
    /// tries again, `lockRetries` times. `onRetry` hears of each wait.
    public static func retire(_ conn: PGConnection, _ request: RetireRequest,
                              onRetry: (Int, String) -> Void = { _, _ in }) throws(RetireRefusal) -> RetireOutcome {
        var waits = 0
        while true {
            do {
                var outcome = try attempt(conn, request)
                outcome.lockWaits = waits
                return outcome
            } catch let refusal as RetireRefusal {
                try? conn.execute("ROLLBACK")
                throw refusal
            } catch let error as PGError where error.sqlState == "55P03" || error.sqlState == "40P01" {
                try? conn.execute("ROLLBACK")
                waits += 1
                guard waits <= request.lockRetries else {
                    throw RetireRefusal(.locked, "a lock on \(relations(request.slice)) was not granted within --lock-timeout "
                                        + "\(request.lockTimeoutMilliseconds) ms, \(waits) times: nothing removed (\(error.message))")
                }
                let pause = backoffMilliseconds(attempt: waits, lockTimeout: request.lockTimeoutMilliseconds)
                onRetry(waits, "lock not granted (\(error.message)); retrying in \(pause) ms")
                usleep(useconds_t(pause * 1000))
            } catch {
                try? conn.execute("ROLLBACK")
                throw RetireRefusal(.failed, "\(relations(request.slice)): \(error); nothing removed")
            }
        }
    }

    /// The pause before retry `attempt` (1, 2, …): 250 ms doubling, at most the lock timeout
    /// and never above 10 s, with up to a quarter of jitter so two runs do not collide again.
    static func backoffMilliseconds(attempt: Int, lockTimeout: Int) -> Int {
        let base = min(250 << min(attempt - 1, 10), max(lockTimeout, 250), 10_000)
        return base - Int.random(in: 0...(base / 4))
    }

    static func relations(_ slice: Slice) -> String {
        slice.sources.map { "\($0.schema).\($0.relation)" }.joined(separator: ", ")
    }

    /// One transaction; throws a PGError on a lock timeout (the caller retries).
    static func attempt(_ conn: PGConnection, _ request: RetireRequest) throws -> RetireOutcome {
        let slice = request.slice
        try conn.execute(request.dryRun ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN")
        // The digest scans and DELETEs read every row of the window: no statement timeout;
        // only lock waits are bounded.
        try conn.execute("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = \(request.lockTimeoutMilliseconds)")
        if !request.dryRun {
            for source in slice.sources {
                // A whole partition: no writer until the transaction ends. Rows cut from a
                // relation: writers wait too (SHARE ROW EXCLUSIVE lets the DELETE itself run).
                let mode = source.column == nil ? "SHARE" : "SHARE ROW EXCLUSIVE"
                try conn.execute("LOCK TABLE \(source.only == true ? "ONLY " : "")\(SQL.qualified(source.schema, source.relation)) IN \(mode) MODE")
            }
        }
        let (schema, columns) = try Extractor.describe(conn, slice: slice, columns: request.columns)
        let digester = RowDigester(schema: schema)
        var outcome = RetireOutcome()
        for source in slice.sources {
            let shown = "\(source.schema).\(source.relation)"
            let removing = source.column != nil && !request.dryRun
            let query = removing ? try Extractor.deleteSQL(columns, source: source) : try Extractor.selectSQL(columns, source: source)
            var rows: Int64 = 0
            try Extractor.copyTuples(conn, "COPY (\(query)) TO STDOUT (FORMAT binary)", fieldCount: columns.count, relation: shown) { tuple in
                digester.add(tuple: tuple)
                rows += 1
            }
            outcome.rows += rows
            outcome.actions.append(source.column == nil ? "\(request.mode) \(shown) (\(rows) rows)"
                                   : "delete \(rows) rows from \(shown) where \(source.column!) in [\(source.from ?? "-infinity"), \(source.to ?? "infinity"))")
        }
        outcome.digest = digester.digest.hex
        guard outcome.rows == request.expectedRows, outcome.digest == request.expectedDigest else {
            throw RetireRefusal(.sourceChanged, "\(relations(slice)) holds \(outcome.rows) rows, digest \(outcome.digest), in this window; "
                                + "the archive holds \(request.expectedRows) rows, digest \(request.expectedDigest): nothing removed", rows: outcome.rows)
        }
        if request.dryRun {
            try conn.execute("ROLLBACK")
            return outcome
        }
        for source in slice.sources where source.column == nil {
            let name = SQL.qualified(source.schema, source.relation)
            let parent = try conn.query("SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = to_regclass($1)", [name]).first?[0] ?? nil
            if let parent { try conn.execute("ALTER TABLE \(parent) DETACH PARTITION \(name)") }
            switch request.mode {
            case .drop: try conn.execute("DROP TABLE \(name)")
            case .detach: break
            case .move(let target): try conn.execute("ALTER TABLE \(name) SET SCHEMA \(SQL.identifier(target))")
            }
        }
        try conn.execute("COMMIT")
        return outcome
    }
}
