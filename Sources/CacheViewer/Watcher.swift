import ArchiveCache
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// Watches the state folder and `cache/` with inotify and reports relevant changes, debounced.
///
/// Temp and lock files are ignored; a burst of events becomes one call, at most
/// `debounce` after the first event of the burst has settled (and never later than `maxDelay`).
/// Handed to one thread after creation and used only there.
final class FolderWatcher: @unchecked Sendable {
    private let fd: Int32
    private let home: ArchiveHome
    private var cacheWatch: Int32 = -1
    private var homeWatch: Int32 = -1
    /// Quiet time that ends a burst, in milliseconds.
    let debounce: Int32 = 40
    /// Longest wait after the first event of a burst, in milliseconds.
    let maxDelay: UInt64 = 200

    private static let mask = UInt32(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF)

    /// Starts watching `home` (created if missing).
    init(home: ArchiveHome) throws {
        self.home = home
        try home.createDirectories()
        fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { throw ToolError("inotify_init1: \(systemErrorText(errno))") }
        try addWatches()
    }

    deinit { close(fd) }

    private func addWatches() throws {
        homeWatch = inotify_add_watch(fd, home.path, Self.mask)
        guard homeWatch >= 0 else { throw ToolError("could not watch \"\(home.path)\": \(systemErrorText(errno))") }
        cacheWatch = inotify_add_watch(fd, home.cacheDirectory, Self.mask)
    }

    /// Whether a file name matters to the viewer.
    static func relevant(_ name: String) -> Bool {
        if name.hasPrefix(".") || name.hasSuffix(".lock") { return false }
        return name == "archiver.pid" || name == "current_task.json" || name == "cache" || name.hasSuffix("_metadata.json")
    }

    /// Waits up to `timeout` ms for changes; true when something relevant changed.
    func wait(timeout: Int32) -> Bool {
        guard readEvents(timeout: timeout) else { return false }
        let first = monotonicNanoseconds()
        while monotonicNanoseconds() - first < maxDelay * 1_000_000 {
            if !readEvents(timeout: debounce) { break }
        }
        return true
    }

    /// Reads what is pending within `timeout` ms; true when a relevant event came.
    private func readEvents(timeout: Int32) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, timeout)
        guard ready > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        guard n > 0 else { return false }
        var relevantSeen = false
        var offset = 0
        let headerSize = MemoryLayout<inotify_event>.size
        while offset + headerSize <= n {
            let (wd, mask, length) = buffer.withUnsafeBytes { raw -> (Int32, UInt32, Int) in
                let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                return (event.wd, event.mask, Int(event.len))
            }
            let nameBytes = buffer[(offset + headerSize)..<min(offset + headerSize + length, n)]
            let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
            offset += headerSize + length
            if mask & UInt32(IN_Q_OVERFLOW) != 0 { relevantSeen = true; continue }
            if wd == homeWatch && name == "cache" && mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
                cacheWatch = inotify_add_watch(fd, home.cacheDirectory, Self.mask)
            }
            if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED) != 0 {
                relevantSeen = true
                if wd == homeWatch || wd == cacheWatch { try? home.createDirectories(); try? addWatches() }
                continue
            }
            if Self.relevant(name) { relevantSeen = true }
        }
        return relevantSeen
    }
}
