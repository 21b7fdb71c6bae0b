import ArchiveCache
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The cache files as last read, re-read only when one changed (name, inode, size or mtime).
///
/// REST requests and the watcher share it, so a burst of requests costs one read of the
/// files; every caller still sees the files as they are now, never an older picture.
final class CacheSnapshots: Sendable {
    /// One reading of every cache file and the `/api/cache` document built from it.
    struct Snapshot: Sendable {
        /// What the files looked like when read.
        let signature: [FileStamp]
        /// The files' content.
        let files: [(name: CacheFileName, cache: CacheFile?, error: String?)]
        /// `/api/cache` as compact JSON.
        let document: String
        /// Increases with every new reading.
        let version: Int
    }

    /// Identity and change marks of one file.
    struct FileStamp: Equatable, Sendable {
        var name: String
        var inode: UInt64
        var size: Int64
        var modified: Int64
        var modifiedNanoseconds: Int64
    }

    private let home: ArchiveHome
    private let latest = Mutex<Snapshot?>(nil)

    init(home: ArchiveHome) { self.home = home }

    /// The files as they are now (read again only if something changed since the last reading).
    func current() -> Snapshot {
        let signature = stamps()
        let previous = latest.withLock { $0 }
        if let previous, previous.signature == signature { return previous }
        let files = CacheStore(home: home).loadAll()
        let document = ViewerDocuments.cache(files, now: .now()).compact
        let snapshot = Snapshot(signature: signature, files: files, document: document, version: (previous?.version ?? 0) + 1)
        return latest.withLock { stored in
            // Another thread may have stored a newer reading meanwhile; keep version order.
            if let newer = stored, newer.version >= snapshot.version, newer.signature == signature { return newer }
            let numbered = Snapshot(signature: signature, files: files, document: document,
                                    version: max(snapshot.version, (stored?.version ?? 0) + 1))
            stored = numbered
            return numbered
        }
    }

    private func stamps() -> [FileStamp] {
        home.cacheFiles().map { name in
            var st = stat()
            guard stat(home.cacheDirectory + "/" + name.fileName, &st) == 0 else {
                return FileStamp(name: name.fileName, inode: 0, size: -1, modified: 0, modifiedNanoseconds: 0)
            }
            return FileStamp(name: name.fileName, inode: UInt64(st.st_ino), size: Int64(st.st_size),
                             modified: Int64(st.st_mtim.tv_sec), modifiedNanoseconds: Int64(st.st_mtim.tv_nsec))
        }
    }
}
