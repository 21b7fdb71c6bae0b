import Digest
import ToolSupport
#if canImport(Glibc)
import Glibc
#endif

/// The state folder (`~/.data-archiver`, or `$ARCHIVE_HOME`) and the names of its files.
public struct ArchiveHome: Sendable, Equatable {
    /// The folder itself.
    public let path: String

    /// The state folder at `path`.
    public init(path: String) {
        var p = path
        while p.count > 1, p.hasSuffix("/") { p.removeLast() }
        self.path = p
    }

    /// The folder the tools use: `archiveHome` (from `$ARCHIVE_HOME`) when set, else
    /// `<home>/.data-archiver`; neither set is a configuration error (never a world-writable
    /// fallback such as /tmp, where another user could plant or read the state).
    public static func resolve(archiveHome: String?, home: String?) throws -> ArchiveHome {
        if let archiveHome, !archiveHome.isEmpty { return ArchiveHome(path: archiveHome) }
        guard let home, !home.isEmpty else {
            throw ToolError("neither ARCHIVE_HOME nor HOME is set: set ARCHIVE_HOME to the folder for the cache, locks and task file",
                            status: .configuration)
        }
        return ArchiveHome(path: home + "/.data-archiver")
    }

    /// `cache/`: one metadata file per (command, table, destination).
    public var cacheDirectory: String { path + "/cache" }
    /// `locks/`: one run-lock file per scope.
    public var lockDirectory: String { path + "/locks" }
    /// `archiver.pid`: the decimal PID of the running archiver.
    public var pidFile: String { path + "/archiver.pid" }
    /// `current_task.json`: what the running archiver is doing.
    public var taskFile: String { path + "/current_task.json" }

    /// The cache file of a scope.
    public func cacheFile(_ scope: CacheScope) -> String { cacheDirectory + "/" + scope.fileName }

    /// `tmp/`: private scratch folders of running processes (mode 0700, like the home).
    public var temporaryDirectory: String { path + "/tmp" }

    /// Creates a private scratch folder `tmp/<prefix>-<pid>-<n>` (0700) for this process, after
    /// removing the folders of that prefix whose process is gone (a killed run's leftovers).
    public func makeScratchFolder(prefix: String) throws -> String {
        try makeDirectory(path)
        try makeDirectory(temporaryDirectory)
        chmod(temporaryDirectory, 0o700)
        for name in listDirectory(temporaryDirectory) where name.hasPrefix(prefix + "-") {
            let fields = name.dropFirst(prefix.count + 1).split(separator: "-")
            guard let pid = fields.first.flatMap({ pid_t($0) }), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { removeTree(temporaryDirectory + "/" + name) }
        }
        var n = 0
        while true {
            let folder = temporaryDirectory + "/\(prefix)-\(getpid())-\(n)"
            if mkdir(folder, 0o700) == 0 { return folder }
            guard errno == EEXIST else { throw ToolError("could not create \"\(folder)\": \(systemErrorText(errno))") }
            n += 1
        }
    }

    /// Creates the folder and `cache/` if missing.
    public func createDirectories() throws {
        try makeDirectory(path)
        try makeDirectory(cacheDirectory)
    }

    /// The cache files present, sorted by name (temp, lock and set-aside files excluded).
    public func cacheFiles() -> [CacheFileName] {
        listDirectory(cacheDirectory).compactMap(CacheFileName.init(fileName:)).sorted { $0.fileName < $1.fileName }
    }
}

/// What one cache file covers: a command, a table and a destination.
public struct CacheScope: Sendable, Equatable {
    /// `archive`, `dump` or `dump-hybrid`.
    public var command: String
    /// The base table name.
    public var table: String
    /// The bucket.
    public var bucket: String
    /// The object path template (`archives/{table}/{YYYY}/{MM}`).
    public var pathTemplate: String

    /// A scope.
    public init(command: String, table: String, bucket: String, pathTemplate: String) {
        self.command = command
        self.table = table
        self.bucket = bucket
        self.pathTemplate = pathTemplate
    }

    /// The destination the name hash is taken over: `s3://bucket/template` without leading slashes.
    public var destination: String {
        "s3://\(bucket)/\(pathTemplate.drop { $0 == "/" })"
    }

    /// The first 16 hex digits of the SHA-1 of `destination`.
    public var destinationHash: String {
        String(hex(Digest.hash(.sha1, destination)).prefix(16))
    }

    /// `<command>_<table>_<h16>_metadata.json`.
    public var fileName: String { "\(command)_\(table)_\(destinationHash)_metadata.json" }

    /// Checks that the parts make a safe file name; returns the problem or nil.
    public var problem: String? {
        if command.isEmpty || command.contains("_") || command.contains("/") { return "invalid command \"\(command)\"" }
        if table.isEmpty || table.contains("/") || table.utf8.count > 200 { return "invalid table name \"\(table)\"" }
        if bucket.isEmpty { return "empty bucket name" }
        return nil
    }
}

/// A cache file's name taken apart: `<command>_<table>_<h16>_metadata.json`.
public struct CacheFileName: Sendable, Equatable {
    /// The file name.
    public let fileName: String
    /// The command part.
    public let command: String
    /// The table part (may itself contain `_`).
    public let table: String
    /// The 16 hex digits of the destination hash.
    public let hash: String

    /// Parses a name; nil for anything else in the folder.
    public init?(fileName: String) {
        let suffix = "_metadata.json"
        guard fileName.hasSuffix(suffix), !fileName.hasPrefix(".") else { return nil }
        let stem = fileName.dropLast(suffix.count)
        guard let lastUnderscore = stem.lastIndex(of: "_"),
              let firstUnderscore = stem.firstIndex(of: "_"), firstUnderscore < lastUnderscore
        else { return nil }
        let hash = stem[stem.index(after: lastUnderscore)...]
        guard hash.count == 16, hash.allSatisfy(\.isHexDigit) else { return nil }
        self.fileName = fileName
        command = String(stem[..<firstUnderscore])
        table = String(stem[stem.index(after: firstUnderscore)..<lastUnderscore])
        self.hash = String(hash)
    }
}

/// Removes a folder and everything in it (best effort, no symlinks followed).
public func removeTree(_ path: String) {
    var st = stat()
    guard lstat(path, &st) == 0 else { return }
    if (st.st_mode & S_IFMT) == S_IFDIR {
        for name in listDirectory(path) where name != "." && name != ".." { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}
