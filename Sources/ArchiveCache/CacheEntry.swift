import ToolSupport

/// What the cache knows about one slice (an object key) or one dump window.
///
/// Field names and meaning follow the original's cache files, so its users' files load:
/// unset times are Go's zero time, missing fields take their zero values.
public struct CacheEntry: Sendable, Equatable {
    /// Rows counted in the source (valid 24 h, see `trustedRowCount`).
    public var rowCount: Int64 = 0
    /// When `rowCount` was counted.
    public var countTime: Timestamp = .zero
    /// Compressed size in bytes, as uploaded.
    public var fileSize: Int64 = 0
    /// Bytes before compression.
    public var uncompressedSize: Int64 = 0
    /// Hex MD5 of the uploaded bytes.
    public var fileMD5: String = ""
    /// The multipart ETag (`hex-N`) when the object was uploaded in parts, else empty.
    public var multipartETag: String = ""
    /// When the file metadata was last written.
    public var fileTime: Timestamp = .zero
    /// The object key in the bucket.
    public var s3Key: String = ""
    /// Whether the object is known to be in the bucket.
    public var s3Uploaded: Bool = false
    /// When the object was uploaded (or first seen there).
    public var s3UploadTime: Timestamp = .zero
    /// The last failure, `kind: message` (query, format, upload, verification, …).
    public var lastError: String = ""
    /// When `lastError` happened.
    public var errorTime: Timestamp = .zero
    /// When the run that processed this entry started.
    public var processStartTime: Timestamp = .zero
    /// When a run last skipped the slice because the bucket already held it (ours; the
    /// original ignores the field).
    public var lastSkipTime: Timestamp = .zero
    /// The window the object's rows cover, `start/end` (RFC 3339, end exclusive): a window cut
    /// by the date range is narrower than its calendar window (ours; the original ignores the
    /// field; an entry without it covers the whole calendar window).
    public var window: String = ""
    /// The row digest of the object's rows (docs/rowstream.md, "Row digest"), 32 hex digits, as
    /// in its manifest (docs/manifest.md); empty when unknown (ours, like the four below).
    public var digest: String = ""
    /// The schema sidecar's hash the object was written with.
    public var schemaHash: String = ""
    /// The part size of the object's multipart upload (0: one PUT, or unknown).
    public var partSize: Int64 = 0
    /// The object's format (`jsonl`, `csv`, `parquet`).
    public var format: String = ""
    /// The object's codec (`zstd`, `lz4`, `gzip`, `none`).
    public var codec: String = ""

    /// When `data-archiver retire` removed the slice's rows from PostgreSQL (zero: not retired; ours, like the three below).
    public var retiredTime: Timestamp = .zero
    /// The rows retire removed (equal to the object's).
    public var retiredRows: Int64 = 0
    /// Their row digest, recomputed under lock (equal to the manifest's).
    public var retiredDigest: String = ""
    /// How: `drop`, `detach`, `move:SCHEMA` or `delete`.
    public var retireMode: String = ""

    /// An empty entry.
    public init() {}

    enum CodingKeys: String {
        case rowCount = "row_count", countTime = "count_time", fileSize = "file_size"
        case uncompressedSize = "uncompressed_size", fileMD5 = "file_md5", multipartETag = "multipart_etag"
        case fileTime = "file_time", s3Key = "s3_key", s3Uploaded = "s3_uploaded", s3UploadTime = "s3_upload_time"
        case lastError = "last_error", errorTime = "error_time", processStartTime = "process_start_time"
        case lastSkipTime = "last_skip_time"
        case window
        case digest, schemaHash = "schema_hash", partSize = "part_size", format, codec
        case retiredTime = "retired_time", retiredRows = "retired_rows", retiredDigest = "retired_digest", retireMode = "retire_mode"
    }

    /// Reads an entry leniently: absent fields and `null` take their zero values; a field of
    /// the wrong type is an error naming `path`.
    public init(json: JSONValue, path: String) throws(JSONShapeError) {
        self.init()
        try apply(json: json, path: path)
    }

    /// Sets the fields present in `json` (a cache file's entry, or a `put` patch).
    ///
    /// With `stamp`, a `row_count` without `count_time` and a `last_error` without
    /// `error_time` get that time (an empty error clears the time).
    public mutating func apply(json: JSONValue, path: String, stamp: Timestamp? = nil) throws(JSONShapeError) {
        guard case .object(let members) = json else {
            throw JSONShapeError(path.isEmpty ? "expected a JSON object" : "\(path.dropLast()): expected an object")
        }
        var stampRowCount = false, stampError = false
        for (name, value) in members {
            guard let key = CodingKeys(rawValue: name) else { continue }
            if key == .rowCount { stampRowCount = true }
            let at = path + name
            switch key {
            case .rowCount: rowCount = try value.integer(at)
            case .countTime: countTime = try value.timestamp(at)
            case .fileSize: fileSize = try value.integer(at)
            case .uncompressedSize: uncompressedSize = try value.integer(at)
            case .fileMD5: fileMD5 = try value.text(at)
            case .multipartETag: multipartETag = try value.text(at)
            case .fileTime: fileTime = try value.timestamp(at)
            case .s3Key: s3Key = try value.text(at)
            case .s3Uploaded: s3Uploaded = try value.flag(at)
            case .s3UploadTime: s3UploadTime = try value.timestamp(at)
            case .lastError:
                lastError = try value.text(at)
                stampError = true
            case .errorTime: errorTime = try value.timestamp(at)
            case .processStartTime: processStartTime = try value.timestamp(at)
            case .lastSkipTime: lastSkipTime = try value.timestamp(at)
            case .window: window = try value.text(at)
            case .digest: digest = try value.text(at)
            case .schemaHash: schemaHash = try value.text(at)
            case .partSize: partSize = try value.integer(at)
            case .format: format = try value.text(at)
            case .codec: codec = try value.text(at)
            case .retiredTime: retiredTime = try value.timestamp(at)
            case .retiredRows: retiredRows = try value.integer(at)
            case .retiredDigest: retiredDigest = try value.text(at)
            case .retireMode: retireMode = try value.text(at)
            }
        }
        guard let stamp else { return }
        if stampRowCount && json["count_time"] == nil { countTime = stamp }
        if stampError && json["error_time"] == nil { errorTime = lastError.isEmpty ? .zero : stamp }
    }

    /// The entry as the cache file writes it (the original's field order; zero times included).
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("row_count", .int(rowCount)), ("count_time", .time(countTime)), ("file_size", .int(fileSize)),
            ("uncompressed_size", .int(uncompressedSize)), ("file_md5", .string(fileMD5)),
            ("multipart_etag", .string(multipartETag)), ("file_time", .time(fileTime)), ("s3_key", .string(s3Key)),
            ("s3_uploaded", .bool(s3Uploaded)), ("s3_upload_time", .time(s3UploadTime)),
            ("last_error", .string(lastError)), ("error_time", .time(errorTime)),
            ("process_start_time", .time(processStartTime)),
        ]
        if !lastSkipTime.isZero { members.append(("last_skip_time", .time(lastSkipTime))) }
        if !window.isEmpty { members.append(("window", .string(window))) }
        if !digest.isEmpty { members.append(("digest", .string(digest))) }
        if !schemaHash.isEmpty { members.append(("schema_hash", .string(schemaHash))) }
        if partSize != 0 { members.append(("part_size", .int(partSize))) }
        if !format.isEmpty { members.append(("format", .string(format))) }
        if !codec.isEmpty { members.append(("codec", .string(codec))) }
        if !retiredTime.isZero {
            members += [("retired_time", .time(retiredTime)), ("retired_rows", .int(retiredRows)),
                        ("retired_digest", .string(retiredDigest)), ("retire_mode", .string(retireMode))]
        }
        return .object(members)
    }

    /// How long a row count stays valid.
    public static let rowCountLifetime: Int64 = 24 * 3600

    /// The cached row count if it may be trusted for a window ending (exclusive) at `windowEnd`.
    ///
    /// A count is trusted when it is younger than 24 h and the window ended before today
    /// (UTC): today's and future windows still grow, so their counts never are.
    public func trustedRowCount(windowEnd: Timestamp, now: Timestamp) -> Int64? {
        guard !countTime.isZero, countTime <= now, now.seconds - countTime.seconds < Self.rowCountLifetime,
              windowEnd <= now.startOfDayUTC
        else { return nil }
        return rowCount
    }

    /// Whether the row count is older than its lifetime (or was never taken).
    public func rowCountExpired(now: Timestamp) -> Bool {
        countTime.isZero || now.seconds - countTime.seconds >= Self.rowCountLifetime
    }

    /// Records a failure of `kind` (query, format, upload, verification, …) at `time`.
    public mutating func recordError(kind: String, message: String, at time: Timestamp) {
        lastError = kind.isEmpty ? message : "\(kind): \(message)"
        errorTime = time
    }
}

/// One cache file: entries by key (object key for archive slices, `table:window` for dumps).
public struct CacheFile: Sendable, Equatable {
    /// The entries by key.
    public var entries: [String: CacheEntry] = [:]

    /// An empty cache.
    public init(entries: [String: CacheEntry] = [:]) { self.entries = entries }

    /// Reads a cache file's JSON; a missing or `null` `entries` is an empty cache.
    public init(json: JSONValue) throws(JSONShapeError) {
        guard case .object = json else { throw JSONShapeError("expected a JSON object") }
        switch json["entries"] {
        case nil, .null?:
            break
        case .object(let members)?:
            for (key, value) in members {
                entries[key] = try CacheEntry(json: value, path: "entries.\(JSON.quote(key)).")
            }
        default:
            throw JSONShapeError("entries: expected an object")
        }
    }

    /// The file's JSON (entries sorted by key).
    public var json: JSONValue {
        .object([("entries", .object(entries.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) }))])
    }
}
