import ArchiveCache
import ArgumentParser
import CacheViewer
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

@main
struct ArchiveCacheTool: Tool {
    static let configuration = CommandConfiguration(
        commandName: "archive-cache",
        abstract: "Keep the archive cache (row counts, file metadata, errors) and serve its live viewer.",
        discussion: """
            State lives in $ARCHIVE_HOME (default ~/.data-archiver): cache/cache.db (SQLite, WAL mode; \
            needs a local filesystem), archiver.pid and current_task.json. JSON cache files \
            (cache/<command>_<table>_<h16>_metadata.json) are imported on first use. Every update is \
            one transaction. JSON in, JSON out; see archive-cache(1).
            """,
        version: PGArchive.version,
        subcommands: [Get.self, Put.self, List.self, Export.self, Expire.self, Record.self, RecordError.self, SetTask.self,
                      ClearTask.self, Status.self, Lock.self, PathCommand.self, Serve.self])
}

/// The state folder from the environment (`ARCHIVE_HOME`, else `$HOME/.data-archiver`).
func stateHome() -> ArchiveHome {
    let env = { (name: String) -> String? in getenv(name).map { String(cString: $0) } }
    return ArchiveHome.resolve(archiveHome: env("ARCHIVE_HOME"), home: env("HOME"))
}

/// A store that warns on stderr.
func store() -> CacheStore {
    CacheStore(home: stateHome()) { warn("archive-cache", $0) }
}

/// Writes lines to stdout and flushes (a failed write is an error).
func output(_ lines: [String]) throws {
    let sink = FileSink.standardOutput()
    for line in lines { try sink.write(line + "\n") }
    try sink.flush()
}

/// Reads all of standard input.
func readStandardInput() throws -> [UInt8] {
    let source = FileSource.standardInput
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
        if n == 0 { return out }
        out += chunk[0..<n]
    }
}

/// An entry as one JSON line, with its key first.
func entryLine(key: String, _ entry: CacheEntry, extra: [(String, JSONValue)] = []) -> String {
    guard case .object(let members) = entry.json else { return "" }
    return JSONValue.object(extra + [("key", .string(key))] + members).compact
}

/// The options naming one cache file.
struct ScopeOptions: ParsableArguments {
    @Option(name: .customLong("command"), help: "The archiver command the cache belongs to: archive, dump or dump-hybrid.")
    var command = "archive"
    @Option(help: "The base table name.")
    var table: String
    @Option(help: "The destination bucket.")
    var bucket: String
    @Option(help: "The object path template, e.g. 'archives/{table}/{YYYY}/{MM}'.")
    var pathTemplate: String

    var scope: CacheScope { CacheScope(command: command, table: table, bucket: bucket, pathTemplate: pathTemplate) }

    func validate() throws {
        if let problem = scope.problem { throw ValidationError(problem) }
    }
}

/// Parses a `YYYY-MM-DD` or RFC 3339 option value.
func parseTime(_ text: String, option: String) throws -> Timestamp {
    if let t = Timestamp(date: text) ?? Timestamp(rfc3339: text) { return t }
    throw ValidationError("\(option): not a date (YYYY-MM-DD) or RFC 3339 time: '\(text)'")
}

struct PathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "path", abstract: "Print the path of the cache database (one for every scope).",
        discussion: "The scope options are accepted for compatibility; every scope lives in the same database.")
    @Option(name: .customLong("command"), help: "The archiver command of the scope (ignored).")
    var command = "archive"
    @Option(help: "The base table name (ignored).")
    var table: String?
    @Option(help: "The destination bucket (ignored).")
    var bucket: String?
    @Option(help: "The object path template (ignored).")
    var pathTemplate: String?

    func run() throws {
        try output([store().databasePath])
    }
}

struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print one entry as a JSON line (exit 3 when absent).",
        discussion: "With --row-count, print only the row count, and only when it may be trusted: younger than 24 h and for a window that ended before today (UTC).")
    @OptionGroup var scope: ScopeOptions
    @Option(help: "The entry key (object key, or <table>:<window> for dumps).")
    var key: String
    @Flag(help: "Print the trusted row count alone.")
    var rowCount = false
    @Option(help: "The end (exclusive) of the entry's window, YYYY-MM-DD or RFC 3339; required with --row-count.")
    var windowEnd: String?

    func validate() throws {
        if rowCount && windowEnd == nil { throw ValidationError("--row-count needs --window-end") }
    }

    func run() throws {
        guard let entry = try store().entry(scope.scope, key: key) else { throw ToolError("no entry for key \"\(key)\"", status: .notFound) }
        if rowCount, let windowEnd {
            let end = try parseTime(windowEnd, option: "--window-end")
            guard let count = entry.trustedRowCount(windowEnd: end, now: .now()) else {
                throw ToolError("no trusted row count for key \"\(key)\"", status: .notFound)
            }
            try output([String(count)])
        } else {
            try output([entryLine(key: key, entry)])
        }
    }
}

struct Put: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge a JSON object of entry fields (stdin) into an entry; print the result.",
        discussion: "Fields are the cache file's (row_count, file_size, file_md5, …). A row_count without count_time is stamped now, as is a last_error without error_time.")
    @OptionGroup var scope: ScopeOptions
    @Option(help: "The entry key.")
    var key: String

    func run() throws {
        let input = try readStandardInput()
        let patch: JSONValue
        do {
            patch = try JSONValue.parse(input)
        } catch {
            throw ToolError("standard input: \(error)")
        }
        let now = Timestamp.now()
        let entry = try store().updateEntry(scope.scope, key: key) { entry in
            do {
                try entry.apply(json: patch, path: "", stamp: now)
            } catch {
                throw ToolError("standard input: \(error)")
            }
        }
        try output([entryLine(key: key, entry)])
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print every entry as a JSON line: of one scope, or of every cache file.")
    @Option(name: .customLong("command"), help: "The archiver command of the scope.")
    var command = "archive"
    @Option(help: "The base table name (with --bucket and --path-template: one scope only).")
    var table: String?
    @Option(help: "The destination bucket.")
    var bucket: String?
    @Option(help: "The object path template.")
    var pathTemplate: String?

    func validate() throws {
        let given = [table, bucket, pathTemplate].filter { $0 != nil }.count
        if given != 0 && given != 3 { throw ValidationError("--table, --bucket and --path-template go together") }
    }

    func run() throws {
        let s = store()
        if let table, let bucket, let pathTemplate {
            let cache = try s.load(CacheScope(command: command, table: table, bucket: bucket, pathTemplate: pathTemplate))
            try output(cache.entries.sorted { $0.key < $1.key }.map { entryLine(key: $0.key, $0.value) })
            return
        }
        var lines: [String] = []
        for file in s.loadAll() {
            guard let cache = file.cache else {
                warn("archive-cache", file.error ?? "could not read \(file.name.fileName)")
                continue
            }
            let extra: [(String, JSONValue)] = [("file", .string(file.name.fileName)), ("command", .string(file.name.command)),
                                                ("table", .string(file.name.table))]
            lines += cache.entries.sorted { $0.key < $1.key }.map { entryLine(key: $0.key, $0.value, extra: extra) }
        }
        try output(lines)
    }
}

struct Expire: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drop row counts older than 24 h, and remove entries by key.",
        discussion: "File metadata is never expired by age; remove an entry when its key changed. Prints {\"expired\":N,\"removed\":M}.")
    @OptionGroup var scope: ScopeOptions
    @Option(help: "Remove this entry (repeatable).")
    var removeKey: [String] = []

    func run() throws {
        let now = Timestamp.now()
        let (expired, removed) = try store().update(scope.scope) { cache -> (Int, Int) in
            var expired = 0, removed = 0
            for key in removeKey where cache.entries.removeValue(forKey: key) != nil { removed += 1 }
            for (key, var entry) in cache.entries where !entry.countTime.isZero && entry.rowCountExpired(now: now) {
                entry.rowCount = 0
                entry.countTime = .zero
                cache.entries[key] = entry
                expired += 1
            }
            return (expired, removed)
        }
        try output([JSONValue.object([("expired", .int(Int64(expired))), ("removed", .int(Int64(removed)))]).compact])
    }
}

struct RecordError: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record-error", abstract: "Record a failure of an entry with its time; print the entry.")
    @OptionGroup var scope: ScopeOptions
    @Option(help: "The entry key.")
    var key: String
    @Option(help: "What failed: query, format, compress, upload, verification, … (free text, one word).")
    var kind: String
    @Option(help: "The error message.")
    var message: String

    func validate() throws {
        if kind.isEmpty || kind.contains(where: { $0 == " " || $0 == ":" }) { throw ValidationError("--kind must be one word") }
    }

    func run() throws {
        let now = Timestamp.now()
        let entry = try store().updateEntry(scope.scope, key: key) { $0.recordError(kind: kind, message: message, at: now) }
        try output([entryLine(key: key, entry)])
    }
}
