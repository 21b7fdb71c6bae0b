import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// Reads and updates cache files: atomic writes, one lock per file, corrupt files set aside.
///
/// Every read-modify-write holds an exclusive flock on `<file>.lock` (a separate file, since
/// the data file is replaced by rename), so concurrent processes never lose an update.
public struct CacheStore: Sendable {
    /// The state folder.
    public let home: ArchiveHome
    /// Called with a one-line warning (a corrupt file set aside).
    public let warn: @Sendable (String) -> Void

    /// A store in `home`; warnings go to `warn`.
    public init(home: ArchiveHome, warn: @escaping @Sendable (String) -> Void = { _ in }) {
        self.home = home
        self.warn = warn
    }

    /// Reads a scope's cache; an absent file is an empty cache, a corrupt one an error.
    public func load(_ scope: CacheScope) throws -> CacheFile {
        try Self.read(path: home.cacheFile(scope))
    }

    /// Reads the cache file at `path` without locking (writers replace it atomically).
    public static func read(path: String) throws -> CacheFile {
        guard let bytes = try readFileIfPresent(path) else { return CacheFile() }
        return try decode(bytes, path: path)
    }

    static func decode(_ bytes: [UInt8], path: String) throws -> CacheFile {
        do {
            return try CacheFile(json: JSONValue.parse(bytes))
        } catch {
            throw ToolError("\"\(path)\": \(error)")
        }
    }

    /// Runs `change` on the scope's cache under its lock and writes the result atomically.
    ///
    /// A corrupt file is renamed to `<file>.corrupt-<time>` with a warning and replaced by an
    /// empty cache. Returns what `change` returned.
    @discardableResult
    public func update<R>(_ scope: CacheScope, _ change: (inout CacheFile) throws -> R) throws -> R {
        try home.createDirectories()
        let path = home.cacheFile(scope)
        let lock = try FileLock.exclusive(path + ".lock")
        defer { lock.unlock() }
        var cache: CacheFile
        if let bytes = try readFileIfPresent(path) {
            do {
                cache = try Self.decode(bytes, path: path)
            } catch let error as ToolError {
                let aside = "\(path).corrupt-\(Timestamp.now().rfc3339.filter { $0 != ":" })"
                guard rename(path, aside) == 0 else {
                    throw ToolError("\(error.message); could not set it aside: \(systemErrorText(errno))")
                }
                warn("\(error.message); moved aside to \"\(aside)\"")
                cache = CacheFile()
            }
        } else {
            cache = CacheFile()
        }
        let before = cache
        let result = try change(&cache)
        if cache != before {
            try writeFileAtomically(path, cache.json.pretty + "\n", mode: 0o600)
        }
        removeStaleTemporaries(of: scope.fileName)
        return result
    }

    /// Removes temp files a killed writer left beside the cache file (their PID is dead).
    private func removeStaleTemporaries(of fileName: String) {
        let prefix = ".\(fileName).tmp-"
        for name in listDirectory(home.cacheDirectory) where name.hasPrefix(prefix) {
            let pid = name.dropFirst(prefix.count).prefix { $0 != "-" }
            if let pid = Int64(pid), !processIsAlive(pid) { _ = unlink(home.cacheDirectory + "/" + name) }
        }
    }

    /// Updates one entry (created if missing) under the lock; returns the stored entry.
    @discardableResult
    public func updateEntry(_ scope: CacheScope, key: String, _ change: (inout CacheEntry) throws -> Void) throws -> CacheEntry {
        try update(scope) { cache in
            var entry = cache.entries[key] ?? CacheEntry()
            try change(&entry)
            cache.entries[key] = entry
            return entry
        }
    }

    /// Every cache file in the folder with its content; unreadable files are reported, not fatal.
    public func loadAll() -> [(name: CacheFileName, cache: CacheFile?, error: String?)] {
        home.cacheFiles().map { name in
            do {
                return (name, try Self.read(path: home.cacheDirectory + "/" + name.fileName), nil)
            } catch let error as ToolError {
                return (name, nil, error.message)
            } catch {
                return (name, nil, "\(error)")
            }
        }
    }
}
