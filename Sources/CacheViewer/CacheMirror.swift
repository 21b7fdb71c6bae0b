import ArchiveCache
import Synchronization
import ToolSupport

/// The viewer's copy of the cache, kept current by reading only what changed.
///
/// The database is asked `PRAGMA data_version` on every poll; when another process committed,
/// the entries and removals with a change number past the last one seen are read (O(changes)),
/// applied, and handed back as a `Delta` for the WebSocket clients. Pages (`/api/cache?…`) are
/// filtered, sorted and cut here, server-side, so a browser never holds 100,000 rows.
final class CacheMirror: Sendable {
    /// One entry as the viewer shows it.
    struct Row: Sendable {
        let scope: CacheFileName
        let key: String
        let entry: CacheEntry
        /// The API's entry object with `file`, as compact JSON.
        let json: String
        /// partition, s3Key, MD5, multipart ETag, error and, once retired, "retired", the retire
        /// mode and digest, lower-cased: what search looks in.
        let haystack: String

        var id: String { scope.fileName + "\u{0}" + key }
    }

    /// What one poll found changed.
    struct Delta: Sendable {
        var version: Int
        var changed: [Row]
        var removed: [(file: String, key: String)]
        /// The changed entries as they were before (absent when new), for the metrics counters.
        var previous: [String: CacheEntry]
        /// Whether this is the first reading (everything is new).
        var initial: Bool
    }

    private struct State {
        var rows: [String: Row] = [:]
        var scopes: [CacheFileName] = []
        var unreadable: [String: String] = [:]
        var last: Int64 = 0
        var version = 0
        var dataVersion: Int64 = -2
        var full: (version: Int, text: String)?
        var sorted: (query: PageQuery, version: Int, ids: [String])?
    }

    private let store: CacheStore
    private let state = Mutex(State())

    init(home: ArchiveHome) { store = CacheStore(home: home) }

    /// Reads what changed since the last call; nil when nothing did.
    func refresh() -> Delta? {
        state.withLock { s in
            let dataVersion = (try? store.dataVersion()) ?? -1
            if dataVersion >= 0 && dataVersion == s.dataVersion { return nil }
            guard let changes = try? store.changes(after: s.last) else {
                s.dataVersion = -1
                return nil
            }
            s.dataVersion = dataVersion
            let initial = s.version == 0
            guard initial || !changes.changed.isEmpty || !changes.removed.isEmpty || changes.scopes != s.scopes else {
                s.last = changes.last
                return nil
            }
            var delta = Delta(version: s.version + 1, changed: [], removed: [], previous: [:], initial: initial)
            for (file, key) in changes.removed {
                let id = file + "\u{0}" + key
                if let old = s.rows.removeValue(forKey: id) {
                    delta.previous[id] = old.entry
                    delta.removed.append((file, key))
                }
                s.unreadable[id] = nil
            }
            for change in changes.changed {
                let id = change.scope.fileName + "\u{0}" + change.key
                guard let entry = change.entry else {
                    s.unreadable[id] = change.error ?? "unreadable entry"
                    continue
                }
                s.unreadable[id] = nil
                let row = Self.row(change.scope, key: change.key, entry)
                if let old = s.rows.updateValue(row, forKey: id) { delta.previous[id] = old.entry }
                delta.changed.append(row)
            }
            s.scopes = changes.scopes
            s.last = changes.last
            s.version += 1
            return delta
        }
    }

    private static func row(_ scope: CacheFileName, key: String, _ e: CacheEntry) -> Row {
        var json = ViewerDocuments.entry(table: scope.table, key: key, e)
        if case .object(var members) = json {
            members.append(("file", .string(scope.fileName)))
            json = .object(members)
        }
        var words = [key, e.s3Key, e.fileMD5, e.multipartETag, e.lastError]
        if !e.retiredTime.isZero { words += ["retired " + e.retireMode, e.retiredDigest] }
        let haystack = words.joined(separator: "\u{0}").lowercased()
        return Row(scope: scope, key: key, entry: e, json: json.compact, haystack: haystack)
    }

    /// The number of entries and the current version.
    var counts: (entries: Int, version: Int) { state.withLock { ($0.rows.count, $0.version) } }

    /// Every scope with its entries (for `/metrics` and the unpaged `/api/cache`); O(entries).
    var files: [(name: CacheFileName, cache: CacheFile?, error: String?)] {
        state.withLock { s in Self.files(s) }
    }

    private static func files(_ s: State) -> [(name: CacheFileName, cache: CacheFile?, error: String?)] {
        var byFile: [String: [String: CacheEntry]] = [:]
        for row in s.rows.values { byFile[row.scope.fileName, default: [:]][row.key] = row.entry }
        var errors: [String: String] = [:]
        for (id, message) in s.unreadable { errors[String(id.prefix { $0 != "\u{0}" })] = message }
        return s.scopes.map { ($0, CacheFile(entries: byFile[$0.fileName] ?? [:]), errors[$0.fileName]) }
    }

    /// `/api/cache` without a query: every entry, grouped by scope (the original's shape).
    func fullDocument() -> String {
        state.withLock { s in
            if let full = s.full, full.version == s.version { return full.text }
            let text = ViewerDocuments.cache(Self.files(s), now: .now()).compact
            s.full = (s.version, text)
            return text
        }
    }

    /// `{"tables":[{"tableName","command","file","count"}],"count","version","timestamp","paged":true}`:
    /// what a WebSocket client gets on connect; it then asks for pages.
    func summaryDocument() -> String {
        state.withLock { s in
            var counts: [String: Int] = [:]
            for row in s.rows.values { counts[row.scope.fileName, default: 0] += 1 }
            return JSONValue.object([
                ("tables", .array(s.scopes.map { name in
                    .object([("tableName", .string(name.table)), ("command", .string(name.command)), ("file", .string(name.fileName)),
                             ("count", .int(Int64(counts[name.fileName] ?? 0)))])
                })),
                ("count", .int(Int64(s.rows.count))), ("version", .int(Int64(s.version))), ("timestamp", .time(.now())),
                ("paged", .bool(true)),
            ]).compact
        }
    }

    /// One page of entries: filtered by table and search, sorted, cut; with the filtered set's stats.
    func page(_ query: PageQuery) -> String {
        state.withLock { s in
            let ids: [String]
            if let sorted = s.sorted, sorted.version == s.version, sorted.query.sameSelection(as: query) {
                ids = sorted.ids
            } else {
                ids = Self.select(s.rows, query)
                s.sorted = (query, s.version, ids)
            }
            var stats = PageStats()
            for id in ids { if let row = s.rows[id] { stats.add(row.entry) } }
            let end = min(ids.count, query.offset + query.limit)
            let slice = query.offset < end ? ids[query.offset..<end] : []
            var text = "{\"entries\":[" + slice.compactMap { s.rows[$0]?.json }.joined(separator: ",") + "]"
            let tables = Array(Set(s.scopes.map(\.table))).sorted()
            text += "," + String(JSONValue.object([
                ("total", .int(Int64(ids.count))), ("count", .int(Int64(s.rows.count))), ("offset", .int(Int64(query.offset))),
                ("limit", .int(Int64(query.limit))), ("sort", .string(query.sort)), ("order", .string(query.descending ? "desc" : "asc")),
                ("stats", stats.json), ("tables", .array(tables.map { .string($0) })), ("version", .int(Int64(s.version))),
                ("timestamp", .time(.now())),
            ]).compact.dropFirst())
            return text
        }
    }

    private static func select(_ rows: [String: Row], _ query: PageQuery) -> [String] {
        var chosen = rows.values.filter { row in
            (query.table.isEmpty || row.scope.table == query.table) && (query.search.isEmpty || row.haystack.contains(query.search))
        }
        let key = query.sort
        chosen.sort { a, b in
            let order = compare(a, b, by: key)
            if order != 0 { return query.descending ? order > 0 : order < 0 }
            if a.key != b.key { return query.descending ? a.key > b.key : a.key < b.key }
            return a.scope.fileName < b.scope.fileName
        }
        return chosen.map(\.id)
    }

    /// -1, 0 or 1: `a` against `b` by the page's sort key (the page's columns).
    private static func compare(_ a: Row, _ b: Row, by key: String) -> Int {
        func cmp<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x > y ? 1 : 0) }
        let x = a.entry, y = b.entry
        switch key {
        case "table": return cmp(a.scope.table, b.scope.table)
        case "rowCount": return cmp(x.rowCount, y.rowCount)
        case "fileSize": return cmp(x.fileSize, y.fileSize)
        case "uncompressedSize": return cmp(x.uncompressedSize, y.uncompressedSize)
        case "ratio": return cmp(ratio(x), ratio(y))
        case "fileMD5": return cmp(x.fileMD5, y.fileMD5)
        // Newest first when ascending, as the page's age column reads.
        case "age": return cmp(-entryTime(x), -entryTime(y))
        case "s3": return cmp(x.s3Uploaded ? 2 : (x.fileSize > 0 ? 1 : 0), y.s3Uploaded ? 2 : (y.fileSize > 0 ? 1 : 0))
        case "lastError": return cmp(x.lastError, y.lastError)
        case "errorTime": return cmp(x.lastError.isEmpty ? 0 : x.errorTime.seconds, y.lastError.isEmpty ? 0 : y.errorTime.seconds)
        // Retired entries first when ascending, the latest retirement first (as the age column).
        case "retired": return cmp(retiredOrder(x), retiredOrder(y))
        default: return cmp(a.key, b.key)
        }
    }

    private static func ratio(_ e: CacheEntry) -> Double {
        e.fileSize > 0 && e.uncompressedSize > 0 ? Double(e.uncompressedSize) / Double(e.fileSize) : 0
    }

    private static func retiredOrder(_ e: CacheEntry) -> Int64 {
        e.retiredTime.isZero ? Int64.max : -e.retiredTime.seconds
    }

    private static func entryTime(_ e: CacheEntry) -> Int64 {
        let t = e.s3UploadTime.isZero ? e.fileTime : e.s3UploadTime
        return t.isZero ? Int64.min / 2 : t.seconds
    }
}

/// `/api/cache?offset=&limit=&sort=&order=&q=&table=`: which page of which selection.
struct PageQuery: Sendable, Equatable {
    var offset = 0
    var limit = 100
    var sort = "partition"
    var descending = false
    /// Lower-cased search text (empty: no search).
    var search = ""
    var table = ""

    /// Sort keys the page offers.
    static let sortKeys: Set = ["partition", "table", "rowCount", "fileSize", "uncompressedSize", "ratio", "fileMD5", "age", "s3",
                                "lastError", "errorTime", "retired"]

    /// The query of a request target; nil when it asks for no page (no query at all).
    init?(target: String) {
        guard let mark = target.firstIndex(of: "?") else { return nil }
        let pairs = target[target.index(after: mark)...].split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (Self.decode(parts[0]), parts.count > 1 ? Self.decode(parts[1]) : "")
        }
        guard !pairs.isEmpty else { return nil }
        for (name, value) in pairs {
            switch name {
            case "offset": offset = max(0, Int(value) ?? 0)
            case "limit": limit = min(1_000, max(1, Int(value) ?? 100))
            case "sort": sort = Self.sortKeys.contains(value) ? value : "partition"
            case "order": descending = value == "desc"
            case "q": search = value.lowercased()
            case "table": table = value
            default: break
            }
        }
    }

    /// Same filter and order (offset and limit may differ).
    func sameSelection(as other: PageQuery) -> Bool {
        sort == other.sort && descending == other.descending && search == other.search && table == other.table
    }

    /// Percent-decoding with `+` as space (form encoding); invalid escapes are kept as they are.
    static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(32)
            } else if byte == UInt8(ascii: "%"), utf8.count >= 2,
                      let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The cards above the table, over a page's whole selection.
struct PageStats {
    var total = 0, processed = 0, uploaded = 0, errors = 0, retired = 0
    var compressed: Int64 = 0, uncompressed: Int64 = 0, compressedWithUncompressed: Int64 = 0, rows: Int64 = 0, retiredRows: Int64 = 0

    mutating func add(_ e: CacheEntry) {
        total += 1
        if e.fileSize > 0 || !e.fileTime.isZero { processed += 1 }
        if e.s3Uploaded { uploaded += 1 }
        if !e.lastError.isEmpty { errors += 1 }
        if !e.retiredTime.isZero {
            retired += 1
            retiredRows += e.retiredRows
        }
        compressed += e.fileSize
        rows += e.rowCount
        if e.uncompressedSize > 0 && e.fileSize > 0 {
            uncompressed += e.uncompressedSize
            compressedWithUncompressed += e.fileSize
        }
    }

    var json: JSONValue {
        .object([("total", .int(Int64(total))), ("processed", .int(Int64(processed))), ("uploaded", .int(Int64(uploaded))),
                 ("errors", .int(Int64(errors))), ("compressed", .int(compressed)), ("uncompressed", .int(uncompressed)),
                 ("compressedWithUncompressed", .int(compressedWithUncompressed)), ("rows", .int(rows)),
                 ("retired", .int(Int64(retired))), ("retiredRows", .int(retiredRows))])
    }
}
