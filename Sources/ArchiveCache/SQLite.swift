import CSQLite
import ToolSupport

/// One SQLite connection: prepared statements, text and integer columns, transactions.
///
/// Not thread-safe by itself (opened with SQLITE_OPEN_NOMUTEX): its owner serialises use
/// (`CacheStore` under its mutex, the viewer on its one polling thread).
final class SQLiteDatabase: @unchecked Sendable {
    /// The database file.
    let path: String
    private let handle: OpaquePointer

    /// Opens (or, unless `readOnly`, creates) the database at `path`; a busy database is
    /// waited for up to `busyTimeout` milliseconds before a statement fails.
    init(path: String, readOnly: Bool = false, busyTimeout: Int32 = 60_000) throws {
        self.path = path
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw ToolError("could not open the cache database \"\(path)\": \(message)")
        }
        handle = db
        sqlite3_busy_timeout(db, busyTimeout)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { sqlite3_close_v2(handle) }

    /// The connection's last error as a one-line error naming the database.
    func error(_ what: String) -> ToolError {
        ToolError("cache database \"\(path)\": \(what): \(String(cString: sqlite3_errmsg(handle)))")
    }

    /// Runs statements that return no rows (`;`-separated).
    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &message) != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            throw ToolError("cache database \"\(path)\": \(text)")
        }
    }

    /// A prepared statement.
    func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw error("could not prepare \"\(sql.prefix(60))\"")
        }
        return SQLiteStatement(statement, database: self)
    }

    /// The first column of the first row of `sql` as an integer (0 when there is no row).
    func integer(_ sql: String) throws -> Int64 {
        let statement = try prepare(sql)
        return try statement.step() ? statement.integer(0) : 0
    }

    /// The first column of the first row of `sql` as text (empty when there is no row).
    func text(_ sql: String) throws -> String {
        let statement = try prepare(sql)
        return try statement.step() ? statement.text(0) : ""
    }

    /// Runs `body` in a write transaction taken at once (`BEGIN IMMEDIATE`, so two writers
    /// never deadlock on upgrading a read lock): committed when it returns, rolled back when it throws.
    func writeTransaction<R>(_ body: () throws -> R) throws -> R {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` in a read transaction: one consistent picture even while others write.
    func readTransaction<R>(_ body: () throws -> R) throws -> R {
        try execute("BEGIN")
        defer { try? execute("COMMIT") }
        return try body()
    }
}

/// A prepared statement of a `SQLiteDatabase`; finalised on deinit.
final class SQLiteStatement {
    private let statement: OpaquePointer
    private let database: SQLiteDatabase

    init(_ statement: OpaquePointer, database: SQLiteDatabase) {
        self.statement = statement
        self.database = database
    }

    deinit { sqlite3_finalize(statement) }

    /// Binds parameters 1… in order (String, Int64, Int or nil) after a reset.
    @discardableResult
    func bind(_ values: Any?...) throws -> SQLiteStatement {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        for (i, value) in values.enumerated() {
            let index = Int32(i + 1)
            let rc: Int32
            switch value {
            case let text as String: rc = sqlite3_bind_text(statement, index, text, -1, pgarchive_sqlite_transient())
            case let number as Int64: rc = sqlite3_bind_int64(statement, index, number)
            case let number as Int: rc = sqlite3_bind_int64(statement, index, Int64(number))
            case nil: rc = sqlite3_bind_null(statement, index)
            default: preconditionFailure("SQLiteStatement.bind: unsupported value \(String(describing: value))")
            }
            guard rc == SQLITE_OK else { throw database.error("could not bind parameter \(index)") }
        }
        return self
    }

    /// Advances: true when a row is ready, false when the statement is done.
    func step() throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error("statement failed")
        }
    }

    /// Runs a statement that returns no rows.
    func run() throws {
        while try step() {}
    }

    /// Column `index` of the current row as text (NULL is empty).
    func text(_ index: Int32) -> String {
        guard let bytes = sqlite3_column_text(statement, index) else { return "" }
        let count = Int(sqlite3_column_bytes(statement, index))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// Column `index` of the current row as UTF-8 bytes (NULL is empty).
    func bytes(_ index: Int32) -> [UInt8] {
        guard let bytes = sqlite3_column_text(statement, index) else { return [] }
        return Array(UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(statement, index))))
    }

    /// Column `index` of the current row as an integer (NULL is 0).
    func integer(_ index: Int32) -> Int64 { sqlite3_column_int64(statement, index) }

    /// Whether column `index` of the current row is NULL.
    func isNull(_ index: Int32) -> Bool { sqlite3_column_type(statement, index) == SQLITE_NULL }
}
