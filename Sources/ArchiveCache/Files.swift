import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive advisory lock (flock) on a lock file, held until `unlock()` or deinit.
public final class FileLock {
    /// The lock file.
    public let path: String
    /// The open descriptor holding the lock.
    public let fd: Int32
    private var held = true

    /// Waits for the lock on `path` (created if missing).
    public static func exclusive(_ path: String) throws -> FileLock {
        try FileLock(path: path, wait: true)!
    }

    /// Takes the lock on `path`; without `wait`, nil when another process holds it.
    public init?(path: String, wait: Bool) throws {
        self.path = path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ToolError("could not open lock file \"\(path)\": \(systemErrorText(errno))") }
        while flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            let code = errno
            if code == EINTR { continue }
            close(fd)
            if code == EWOULDBLOCK { return nil }
            throw ToolError("could not lock \"\(path)\": \(systemErrorText(code))")
        }
        self.fd = fd
    }

    /// Releases the lock.
    public func unlock() {
        guard held else { return }
        held = false
        close(fd)
    }

    deinit { unlock() }
}

/// Writes `text` to `path` atomically: temp file, fsync, rename, fsync of the folder.
public func writeFileAtomically(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
    let output = try AtomicOutput(path: path, mode: mode)
    do {
        try output.sink.write(text)
        try output.commit()
    } catch {
        output.discard()
        throw error
    }
    syncDirectory(of: path)
}

/// fsyncs the folder holding `path`, so a rename survives a crash (best effort).
func syncDirectory(of path: String) {
    let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    let fd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { return }
    _ = fsync(fd)
    close(fd)
}

/// The whole content of a file; nil when it does not exist.
public func readFileIfPresent(_ path: String) throws -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
        if errno == ENOENT { return nil }
        throw ToolError("could not open \"\(path)\": \(systemErrorText(errno))")
    }
    defer { close(fd) }
    var out = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw ToolError("could not read \"\(path)\": \(systemErrorText(errno))")
        }
        if n == 0 { return out }
        out += chunk[0..<n]
    }
}

/// Creates a folder (mode 0700 for private state) unless it exists.
func makeDirectory(_ path: String) throws {
    if mkdir(path, 0o700) != 0, errno != EEXIST {
        throw ToolError("could not create \"\(path)\": \(systemErrorText(errno))")
    }
}

/// The names in a folder (empty when it cannot be read).
func listDirectory(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// UTF-8 text of bytes without surrounding white space.
func trimmedText(_ bytes: [UInt8]) -> String {
    let isSpace: (UInt8) -> Bool = { $0 == 32 || ($0 >= 9 && $0 <= 13) }
    guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else { return "" }
    return String(decoding: bytes[first...last], as: UTF8.self)
}
