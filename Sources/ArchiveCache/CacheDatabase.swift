import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// The cache's SQLite database, `cache/cache.db`: every scope's entries in one file.
///
/// WAL mode, `synchronous=FULL` (a committed update survives kill -9 and power loss), a busy
/// timeout for concurrent writers, `BEGIN IMMEDIATE` for every write. Each entry is stored as
/// its JSON text (`CacheEntry.json`) under its (scope file name, key), so fields added to
/// `CacheEntry` need no schema change. Every change gets a new `seq` from one counter, and
/// removed keys leave a row in `removals`: a reader asks for what changed after the `seq` it
/// last saw. The schema is in docs/cache.md. Used under `CacheStore`'s lock, one thread at a time.
final class CacheDatabase: @unchecked Sendable {
    /// The database's file name in `cache/`.
    static let fileName = "cache.db"
    /// `PRAGMA user_version` of the schema below.
    static let schemaVersion: Int64 = 1

    static let schema = """
        CREATE TABLE IF NOT EXISTS scopes (
          file TEXT PRIMARY KEY,
          command TEXT NOT NULL,
          table_name TEXT NOT NULL,
          destination TEXT NOT NULL,
          imported TEXT NOT NULL DEFAULT ''
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS entries (
          file TEXT NOT NULL,
          key TEXT NOT NULL,
          entry TEXT NOT NULL,
          seq INTEGER NOT NULL,
          PRIMARY KEY (file, key)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS entries_by_seq ON entries (seq);
        CREATE TABLE IF NOT EXISTS removals (
          seq INTEGER PRIMARY KEY,
          file TEXT NOT NULL,
          key TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS counters (
          name TEXT PRIMARY KEY,
          value INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT OR IGNORE INTO counters VALUES ('seq', 0);
        """

    let db: SQLiteDatabase
    private lazy var selectEntry = try? db.prepare("SELECT entry FROM entries WHERE file = ? AND key = ?")
    private lazy var upsert = try? db.prepare("""
        INSERT INTO entries (file, key, entry, seq) VALUES (?, ?, ?, ?)
        ON CONFLICT (file, key) DO UPDATE SET entry = excluded.entry, seq = excluded.seq
        """)
    private lazy var bumpSeq = try? db.prepare("UPDATE counters SET value = value + 1 WHERE name = 'seq' RETURNING value")
    private lazy var insertScope = try? db.prepare(
        "INSERT OR IGNORE INTO scopes (file, command, table_name, destination) VALUES (?, ?, ?, ?)")

    /// Opens (creating if needed) the database of `home` and imports JSON cache files not yet imported.
    init(home: ArchiveHome, warn: (String) -> Void) throws {
        try home.createDirectories()
        let path = home.cacheDirectory + "/" + Self.fileName
        // Private state: the database (and the -wal and -shm files SQLite gives its mode) 0600.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
        db = try SQLiteDatabase(path: path)
        try configure()
        try importLegacyFiles(home: home, warn: warn)
    }

    private func configure() throws {
        // Changing the journal mode needs the database to itself for a moment: retry while busy.
        var mode = ""
        for attempt in 0..<200 {
            mode = (try? db.text("PRAGMA journal_mode = WAL")) ?? ""
            if mode == "wal" { break }
            if attempt < 199 { usleep(50_000) }
        }
        guard mode == "wal" else { throw ToolError("cache database \"\(db.path)\": could not switch to WAL mode (\(mode))") }
        try db.execute("PRAGMA synchronous = FULL")
        // After a checkpoint the -wal file is cut back to 1 MiB instead of keeping its peak size.
        try db.execute("PRAGMA journal_size_limit = 1048576")
        if try db.integer("PRAGMA user_version") != Self.schemaVersion {
            try db.writeTransaction {
                let version = try db.integer("PRAGMA user_version")
                if version > Self.schemaVersion {
                    throw ToolError("cache database \"\(db.path)\": schema version \(version) is newer than this tool's \(Self.schemaVersion)")
                }
                try db.execute(Self.schema)
                try db.execute("PRAGMA user_version = \(Self.schemaVersion)")
            }
        }
    }

    // MARK: Reading

    /// The entries of the scope stored under `file`, by key.
    func entries(file: String) throws -> [String: CacheEntry] {
        try entries(file: file) { _, entry in entry }
    }

    /// Each entry of `file` through `transform` (nil: left out), one entry decoded at a time.
    func entries<T>(file: String, _ transform: (String, CacheEntry) throws -> T?) throws -> [String: T] {
        let statement = try db.prepare("SELECT key, entry FROM entries WHERE file = ?").bind(file)
        var out: [String: T] = [:]
        while try statement.step() {
            let key = statement.text(0)
            if let value = try transform(key, try Self.decode(statement.bytes(1), file: file, key: key)) { out[key] = value }
        }
        return out
    }

    /// One entry, or nil.
    func entry(file: String, key: String) throws -> CacheEntry? {
        let statement = try prepared(selectEntry)
        try statement.bind(file, key)
        defer { try? statement.bind() }
        guard try statement.step() else { return nil }
        return try Self.decode(statement.bytes(0), file: file, key: key)
    }

    static func decode(_ bytes: [UInt8], file: String, key: String) throws -> CacheEntry {
        do {
            return try CacheEntry(json: JSONValue.parse(bytes), path: "")
        } catch {
            throw ToolError("cache entry \(JSON.quote(key)) of \(file): \(error)")
        }
    }

    /// Every scope's file name, command and table (sorted by file name).
    func scopes() throws -> [CacheFileName] {
        let statement = try db.prepare("SELECT file FROM scopes ORDER BY file")
        var out: [CacheFileName] = []
        while try statement.step() {
            if let name = CacheFileName(fileName: statement.text(0)) { out.append(name) }
        }
        return out
    }

    // MARK: Writing (inside `db.writeTransaction`)

    /// Records the scope (once).
    func ensureScope(_ scope: CacheScope) throws {
        try prepared(insertScope).bind(scope.fileName, scope.command, scope.table, scope.destination).run()
    }

    /// Stores `entry` under `key` with a new change number.
    func store(file: String, key: String, _ entry: CacheEntry) throws {
        let seq = try nextSeq()
        try prepared(upsert).bind(file, key, entry.json.compact, seq).run()
    }

    /// Removes `key`, leaving a removal row for readers that follow changes.
    func remove(file: String, key: String) throws {
        let delete = try db.prepare("DELETE FROM entries WHERE file = ? AND key = ?").bind(file, key)
        try delete.run()
        let seq = try nextSeq()
        try db.prepare("INSERT INTO removals (seq, file, key) VALUES (?, ?, ?)").bind(seq, file, key).run()
    }

    private func nextSeq() throws -> Int64 {
        let bumpSeq = try prepared(bumpSeq)
        try bumpSeq.bind()
        guard try bumpSeq.step() else { throw db.error("the change counter is missing") }
        let seq = bumpSeq.integer(0)
        try bumpSeq.run()
        return seq
    }

    private func prepared(_ statement: SQLiteStatement?) throws -> SQLiteStatement {
        guard let statement else { throw db.error("could not prepare a statement") }
        return statement
    }

    // MARK: Importing JSON cache files

    /// Imports every `*_metadata.json` cache file (the original's and ours before the database)
    /// not imported yet: its entries join the database unless it has the key already. A file is
    /// imported once (its name is recorded in its scope) and left in place; a corrupt one is
    /// moved aside with a warning.
    private func importLegacyFiles(home: ArchiveHome, warn: (String) -> Void) throws {
        let names = home.cacheFiles()
        guard !names.isEmpty else { return }
        let imported = try db.prepare("SELECT 1 FROM scopes WHERE file = ? AND imported != ''")
        for name in names {
            try imported.bind(name.fileName)
            let done = try imported.step()
            try imported.bind()
            if done { continue }
            let path = home.cacheDirectory + "/" + name.fileName
            let cache: CacheFile
            do {
                guard let bytes = try readFileIfPresent(path) else { continue }
                cache = try CacheFile(json: JSONValue.parse(bytes))
            } catch {
                let aside = "\(path).corrupt-\(Timestamp.now().rfc3339.filter { $0 != ":" })"
                guard rename(path, aside) == 0 else {
                    throw ToolError("\"\(path)\": \(error); could not set it aside: \(systemErrorText(errno))")
                }
                warn("\"\(path)\": \(error); moved aside to \"\(aside)\"")
                continue
            }
            try db.writeTransaction {
                try imported.bind(name.fileName)
                let raced = try imported.step()
                try imported.bind()
                if raced { return }
                try db.prepare("INSERT OR IGNORE INTO scopes (file, command, table_name, destination) VALUES (?, ?, ?, '')")
                    .bind(name.fileName, name.command, name.table).run()
                try db.prepare("UPDATE scopes SET imported = ? WHERE file = ?").bind(name.fileName, name.fileName).run()
                let insert = try db.prepare("INSERT OR IGNORE INTO entries (file, key, entry, seq) VALUES (?, ?, ?, ?)")
                for (key, entry) in cache.entries.sorted(by: { $0.key < $1.key }) {
                    try insert.bind(name.fileName, key, entry.json.compact, try nextSeq()).run()
                }
            }
        }
    }
}
