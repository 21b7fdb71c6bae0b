import ArchiveLayout

/// One archived object chosen for restore, with how to decode it.
struct RestoreFile: Sendable {
    /// The object key.
    var key: String
    /// Its size in bytes (from the listing).
    var size: Int64
    /// The file name (last key segment).
    var name: String
    /// jsonl, csv or parquet.
    var format: String
    /// The outer codec: zstd, lz4, gzip or none.
    var codec: String
    /// Its ETag (from the listing), for the load ledger.
    var etag = ""
    /// The slice's stem (`<table>-<label>`), which `--shard` hashes.
    var stem: String
    /// 0 for a window's object, 1, 2, … for its late objects (docs/retire.md, "Late rows").
    var generation = 0
    /// The window the name says, start and exclusive end, RFC 3339 UTC.
    var windowStart = ""
    var windowEnd = ""
}

/// Which objects a restore takes: the table's files under the fixed prefix whose window overlaps
/// `[start-date, end-date + 1 day)`.
enum RestoreSelection {
    /// Chooses and orders (by key) the files of `table` among `listing`; `format`/`codec` override
    /// what the extension says when given.
    static func choose(_ listing: [String: ListedObject], table: String, prefix: String, startDate: String?, endDate: String?,
                       format: String?, codec: String?) -> [RestoreFile] {
        let from = startDate.flatMap { WindowLabel($0)?.start }
        let to = endDate.flatMap { WindowLabel($0)?.end }
        var files: [RestoreFile] = []
        for key in listing.keys.sorted() where key.hasPrefix(prefix) && !key.dropFirst(prefix.count).hasPrefix("_schema/")
            && !key.dropFirst(prefix.count).hasPrefix("_manifest/") {
            let name = String(key.split(separator: "/").last ?? "")
            guard let parsed = ArchivedFileName(name, table: table), let window = WindowLabel(parsed.label) else { continue }
            if let from, window.end <= from { continue }
            if let to, window.start >= to { continue }
            files.append(RestoreFile(key: key, size: listing[key]!.size, name: name, format: format ?? parsed.format,
                                     codec: codec ?? parsed.codec, etag: listing[key]!.etag, stem: "\(table)-\(parsed.label)",
                                     generation: parsed.generation, windowStart: window.start, windowEnd: window.end))
        }
        return files
    }

    /// Pairs of chosen window objects (late objects aside, which hold other rows by design) whose
    /// windows overlap: both hold the same rows — an archive run again with another format, codec
    /// or `--output-duration` writes a second object beside the first — so a restore of both
    /// would insert those rows twice.
    static func overlaps(_ files: [RestoreFile]) -> [(RestoreFile, RestoreFile)] {
        let windows = files.filter { $0.generation == 0 }.sorted { ($0.windowStart, $0.key) < ($1.windowStart, $1.key) }
        var pairs: [(RestoreFile, RestoreFile)] = []
        var reaching: RestoreFile?  // of the files so far, the one whose window ends last
        for file in windows {
            if let earlier = reaching, file.windowStart < earlier.windowEnd { pairs.append((earlier, file)) }
            if reaching.map({ file.windowEnd > $0.windowEnd }) ?? true { reaching = file }
        }
        return pairs
    }
}
