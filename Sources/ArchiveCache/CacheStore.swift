import Synchronization
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// Reads and updates the cache: one SQLite database (`cache/cache.db`, see `CacheDatabase`)
/// holding every scope's entries.
///
/// An update of one entry costs O(log n) whatever the number of entries; batches of updates
/// share one transaction. Concurrent processes are safe (SQLite's locking, a busy timeout);
/// readers see a consistent picture while others write. JSON cache files (the original's and
/// ours before the database) are imported the first time a store opens the database. The
/// connection is opened on first use and kept; threads of one process take turns on it.
public struct CacheStore: Sendable {
    /// The state folder.
    public let home: ArchiveHome
    /// Called with a one-line warning (a corrupt JSON cache file set aside on import).
    public let warn: @Sendable (String) -> Void
    private let connection = Connection()

    /// A store in `home`; warnings go to `warn`.
    public init(home: ArchiveHome, warn: @escaping @Sendable (String) -> Void = { _ in }) {
        self.home = home
        self.warn = warn
    }

    /// The database file.
    public var databasePath: String { home.cacheDirectory + "/" + CacheDatabase.fileName }

    /// Runs `body` on the open database (opened, and JSON files imported, on first use).
    func withDatabase<R>(_ body: (CacheDatabase) throws -> R) throws -> R {
        try connection.state.withLock { state in
            if state == nil { state = try CacheDatabase(home: home, warn: warn) }
            return try body(state!)
        }
    }

    /// A scope's cache (empty when nothing is known).
    public func load(_ scope: CacheScope) throws -> CacheFile {
        try withDatabase { try CacheFile(entries: $0.entries(file: scope.fileName)) }
    }

    /// What `transform` keeps of each entry of a scope (nil: the entry is left out): a run over
    /// 100,000 slices holds only the facts it decides with, never every entry whole.
    public func load<T>(_ scope: CacheScope, _ transform: (String, CacheEntry) throws -> T?) throws -> [String: T] {
        try withDatabase { try $0.entries(file: scope.fileName, transform) }
    }

    /// One entry of a scope, or nil.
    public func entry(_ scope: CacheScope, key: String) throws -> CacheEntry? {
        try withDatabase { try $0.entry(file: scope.fileName, key: key) }
    }

    /// Runs `change` on the scope's whole cache in one transaction and stores what changed
    /// (entries added, changed or removed). O(entries of the scope): for whole-scope work
    /// (`expire`); one entry goes through `updateEntry`, many through `updateEntries`.
    @discardableResult
    public func update<R>(_ scope: CacheScope, _ change: (inout CacheFile) throws -> R) throws -> R {
        try withDatabase { database in
            try database.db.writeTransaction {
                try database.ensureScope(scope)
                let before = try database.entries(file: scope.fileName)
                var cache = CacheFile(entries: before)
                let result = try change(&cache)
                for (key, entry) in cache.entries.sorted(by: { $0.key < $1.key }) where before[key] != entry {
                    try database.store(file: scope.fileName, key: key, entry)
                }
                for key in before.keys.sorted() where cache.entries[key] == nil {
                    try database.remove(file: scope.fileName, key: key)
                }
                return result
            }
        }
    }

    /// Updates one entry (created if missing) in one transaction; returns the stored entry.
    @discardableResult
    public func updateEntry(_ scope: CacheScope, key: String, _ change: (inout CacheEntry) throws -> Void) throws -> CacheEntry {
        try updateEntries(scope, keys: [key]) { _, entry in try change(&entry) }[0]
    }

    /// Updates many entries (each created if missing) in one transaction: a batch costs one
    /// commit. Entries `change` leaves as they were are not written. Returns the stored entries
    /// in the order of `keys`.
    @discardableResult
    public func updateEntries(_ scope: CacheScope, keys: [String],
                              _ change: (String, inout CacheEntry) throws -> Void) throws -> [CacheEntry] {
        var stored: [CacheEntry] = []
        stored.reserveCapacity(keys.count)
        try updateEntries(count: keys.count, scope: { _ in scope }, key: { keys[$0] }, { i, entry in try change(keys[i], &entry) }) {
            stored.append($0)
        }
        return stored
    }

    /// `updateEntries` of one scope handing each stored entry to `each` instead of returning
    /// them all (a batch of 100,000 skips need not hold 100,000 entries).
    public func updateEntries(_ scope: CacheScope, keys: [String], _ change: (String, inout CacheEntry) throws -> Void,
                              each: (CacheEntry) throws -> Void) throws {
        try updateEntries(count: keys.count, scope: { _ in scope }, key: { keys[$0] }, { i, entry in try change(keys[i], &entry) }, each: each)
    }

    /// Updates entries of any scopes (each created if missing) in one transaction, in order (a
    /// key given twice sees its first change); `change` gets each item's index. One commit for
    /// the whole batch. Returns the stored entries in the order of `items`.
    @discardableResult
    public func updateEntries(_ items: [(scope: CacheScope, key: String)],
                              _ change: (Int, inout CacheEntry) throws -> Void) throws -> [CacheEntry] {
        var stored: [CacheEntry] = []
        stored.reserveCapacity(items.count)
        try updateEntries(items, change) { stored.append($0) }
        return stored
    }

    /// `updateEntries` handing each stored entry to `each` instead of returning them all (a
    /// batch of 100,000 skips need not hold 100,000 entries).
    public func updateEntries(_ items: [(scope: CacheScope, key: String)], _ change: (Int, inout CacheEntry) throws -> Void,
                              each: (CacheEntry) throws -> Void) throws {
        try updateEntries(count: items.count, scope: { items[$0].scope }, key: { items[$0].key }, change, each: each)
    }

    /// The one transaction behind the `updateEntries` forms: item `i` is `key(i)` in `scope(i)`.
    private func updateEntries(count: Int, scope: (Int) -> CacheScope, key: (Int) -> String,
                               _ change: (Int, inout CacheEntry) throws -> Void, each: (CacheEntry) throws -> Void) throws {
        try withDatabase { database in
            try database.db.writeTransaction {
                var ensured: Set<String> = []
                // A scope's file name hashes its destination: once per run of equal scopes.
                var last: (scope: CacheScope, file: String)?
                for i in 0..<count {
                    let itemScope = scope(i), itemKey = key(i)
                    let file = last.flatMap { $0.scope == itemScope ? $0.file : nil } ?? itemScope.fileName
                    last = (itemScope, file)
                    if ensured.insert(file).inserted { try database.ensureScope(itemScope) }
                    let before = try database.entry(file: file, key: itemKey)
                    var entry = before ?? CacheEntry()
                    try change(i, &entry)
                    if before != entry || before == nil { try database.store(file: file, key: itemKey, entry) }
                    try each(entry)
                }
            }
        }
    }

    /// Every scope with its entries, sorted by file name; a scope whose entries cannot be read
    /// is reported with its error, not fatal. The names are the scopes' JSON file names.
    public func loadAll() -> [(name: CacheFileName, cache: CacheFile?, error: String?)] {
        do {
            return try withDatabase { database in
                try database.db.readTransaction {
                    try database.scopes().map { name in
                        do {
                            return (name, CacheFile(entries: try database.entries(file: name.fileName)), nil)
                        } catch let error as ToolError {
                            return (name, nil, error.message)
                        }
                    }
                }
            }
        } catch let error as ToolError {
            warn(error.message)
            return []
        } catch {
            warn("\(error)")
            return []
        }
    }

    /// The scopes known, sorted by file name.
    public func scopes() throws -> [CacheFileName] {
        try withDatabase { try $0.scopes() }
    }
}

/// The store's connection, opened on first use and shared by copies of the store.
private final class Connection: Sendable {
    let state = Mutex<CacheDatabase?>(nil)
}

extension CacheStore {
    /// A number that changes whenever another connection (another process, or another store)
    /// committed a change to the database since the last call: SQLite's `PRAGMA data_version`.
    /// WAL commits touch only the `-wal` file, so watchers poll this rather than the files.
    public func dataVersion() throws -> Int64 {
        try withDatabase { try $0.db.integer("PRAGMA data_version") }
    }
}

extension CacheStore {
    /// The cache of the scope stored under `name` (its JSON file name); nil when the scope is unknown.
    public func load(fileName name: CacheFileName) throws -> CacheFile? {
        try withDatabase { database in
            try database.db.readTransaction {
                guard try database.scopes().contains(name) else { return nil }
                return CacheFile(entries: try database.entries(file: name.fileName))
            }
        }
    }
}
