import ToolSupport

/// What changed in the cache after a change number: for readers that follow the cache (the viewer).
public struct CacheChanges: Sendable {
    /// One entry written after the change number asked for.
    public struct Changed: Sendable {
        /// The scope (its JSON file name, parsed).
        public var scope: CacheFileName
        /// The entry's key.
        public var key: String
        /// The entry; nil when its JSON could not be read (`error` says why).
        public var entry: CacheEntry?
        /// Why the entry could not be read.
        public var error: String?
    }

    /// Entries added or changed since the change number asked for (their current state).
    public var changed: [Changed] = []
    /// Entries removed since then (scope file name, key) and not written again.
    public var removed: [(file: String, key: String)] = []
    /// Every scope now, sorted by file name.
    public var scopes: [CacheFileName] = []
    /// The last change number included: ask for changes after it next time.
    public var last: Int64 = 0
}

extension CacheStore {
    /// The entries written and removed after change number `seq` (0: everything), read in one
    /// transaction: a consistent picture. Costs O(changes · log n), not O(n), after the first call.
    public func changes(after seq: Int64) throws -> CacheChanges {
        try withDatabase { database in
            try database.db.readTransaction {
                var out = CacheChanges()
                out.last = try database.db.integer("SELECT value FROM counters WHERE name = 'seq'")
                out.scopes = try database.scopes()
                let names = Dictionary(out.scopes.map { ($0.fileName, $0) }) { a, _ in a }
                let entries = try database.db.prepare("SELECT file, key, entry FROM entries WHERE seq > ? AND seq <= ?").bind(seq, out.last)
                while try entries.step() {
                    let file = entries.text(0), key = entries.text(1)
                    guard let scope = names[file] ?? CacheFileName(fileName: file) else { continue }
                    do {
                        out.changed.append(.init(scope: scope, key: key, entry: try CacheDatabase.decode(entries.bytes(2), file: file, key: key)))
                    } catch let error as ToolError {
                        out.changed.append(.init(scope: scope, key: key, entry: nil, error: error.message))
                    }
                }
                let removals = try database.db.prepare("SELECT file, key FROM removals WHERE seq > ? AND seq <= ?").bind(seq, out.last)
                while try removals.step() { out.removed.append((removals.text(0), removals.text(1))) }
                return out
            }
        }
    }
}
