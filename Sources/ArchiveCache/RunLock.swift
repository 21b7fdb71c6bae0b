import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// One run per (command, table, destination): an flock on `locks/<scope>.lock` plus `archiver.pid`.
///
/// The lock file holds the holder's PID so a second run can name it; the kernel drops the
/// lock when the holder dies, so a crash never leaves a stuck lock. `archiver.pid` is
/// written for the viewer and removed on release (a crashed run leaves it stale, which
/// `TaskStore.status()` recognises).
public final class RunLock {
    /// The lock file.
    public let path: String
    /// The PID written.
    public let pid: Int64
    private let lock: FileLock
    private let home: ArchiveHome
    private var released = false
    private var interruptToken: Int?

    /// Another run holds the lock.
    public struct Busy: Error, CustomStringConvertible, Sendable {
        /// The holder's PID, when it could be read.
        public var pid: Int64?
        /// The scope's lock file.
        public var path: String
        public var description: String {
            "another run holds the lock \"\(path)\"" + (pid.map { " (PID \($0))" } ?? "")
        }
    }

    /// Takes the scope's run lock without waiting; throws `Busy` naming the holder.
    /// With `tag` (a shard's `shard-I-of-N`), the lock is the tag's own: shards run side by side.
    public init(home: ArchiveHome, scope: CacheScope, pid: Int64, tag: String? = nil) throws {
        try home.createDirectories()
        try makeDirectory(home.lockDirectory)
        let stem = String(scope.fileName.dropLast("_metadata.json".count))
        path = home.lockDirectory + "/" + stem + (tag.map { "." + $0 } ?? "") + ".lock"
        guard let lock = try FileLock(path: path, wait: false) else {
            let holder = (try? readFileIfPresent(path)).flatMap { $0 }.flatMap {
                Int64(trimmedText($0))
            }
            throw Busy(pid: holder, path: path)
        }
        self.lock = lock
        self.home = home
        self.pid = pid
        let text = "\(pid)\n"
        _ = ftruncate(lock.fd, 0)
        _ = text.withCString { pwrite(lock.fd, $0, strlen($0), 0) }
        try writeFileAtomically(home.pidFile, text)
        let pidFile = home.pidFile
        interruptToken = Interrupts.shared.add { Self.removePIDFile(pidFile, ifItHolds: pid) }
    }

    /// Drops the lock; `archiver.pid` then names another live run, or is removed.
    ///
    /// The lock file is emptied first, so PIDs left in lock files name current holders
    /// (or crashed runs, whose PIDs are dead).
    public func release() {
        guard !released else { return }
        released = true
        if let interruptToken { Interrupts.shared.remove(interruptToken) }
        _ = ftruncate(lock.fd, 0)
        let others = listDirectory(home.lockDirectory).filter { $0.hasSuffix(".lock") }.compactMap { name -> Int64? in
            (try? readFileIfPresent(home.lockDirectory + "/" + name)).flatMap { $0 }.flatMap { Int64(trimmedText($0)) }
        }.filter { $0 != pid && processIsAlive($0) }
        if let next = others.first, (try? readFileIfPresent(home.pidFile)).flatMap({ $0 }).flatMap({ Int64(trimmedText($0)) }) == pid {
            try? writeFileAtomically(home.pidFile, "\(next)\n")
        } else {
            Self.removePIDFile(home.pidFile, ifItHolds: pid)
        }
        lock.unlock()
    }

    deinit { release() }

    private static func removePIDFile(_ path: String, ifItHolds pid: Int64) {
        guard let bytes = try? readFileIfPresent(path),
              Int64(trimmedText(bytes)) == pid
        else { return }
        _ = unlink(path)
    }
}
