import FoundationEssentials
import ToolSupport

/// What the cache knows about one slice (an object key) or one dump window.
///
/// Field names and meaning follow the original's cache files, so its users' files load:
/// unset times are Go's zero time, missing fields take their zero values.
public struct CacheEntry: Decodable, Sendable, Equatable {
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

    /// An empty entry.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case rowCount = "row_count", countTime = "count_time", fileSize = "file_size"
        case uncompressedSize = "uncompressed_size", fileMD5 = "file_md5", multipartETag = "multipart_etag"
        case fileTime = "file_time", s3Key = "s3_key", s3Uploaded = "s3_uploaded", s3UploadTime = "s3_upload_time"
        case lastError = "last_error", errorTime = "error_time", processStartTime = "process_start_time"
        case lastSkipTime = "last_skip_time"
    }

    /// Decodes leniently: absent fields and `null` take their zero values.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try c.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        rowCount = try get(.rowCount, 0)
        countTime = try get(.countTime, .zero)
        fileSize = try get(.fileSize, 0)
        uncompressedSize = try get(.uncompressedSize, 0)
        fileMD5 = try get(.fileMD5, "")
        multipartETag = try get(.multipartETag, "")
        fileTime = try get(.fileTime, .zero)
        s3Key = try get(.s3Key, "")
        s3Uploaded = try get(.s3Uploaded, false)
        s3UploadTime = try get(.s3UploadTime, .zero)
        lastError = try get(.lastError, "")
        errorTime = try get(.errorTime, .zero)
        processStartTime = try get(.processStartTime, .zero)
        lastSkipTime = try get(.lastSkipTime, .zero)
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
public struct CacheFile: Decodable, Sendable, Equatable {
    /// The entries by key.
    public var entries: [String: CacheEntry] = [:]

    /// An empty cache.
    public init(entries: [String: CacheEntry] = [:]) { self.entries = entries }

    enum CodingKeys: String, CodingKey { case entries }

    /// Decodes a cache file; a missing or `null` `entries` is an empty cache.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        entries = try c.decodeIfPresent([String: CacheEntry].self, forKey: .entries) ?? [:]
    }

    /// The file's JSON (entries sorted by key).
    public var json: JSONValue {
        .object([("entries", .object(entries.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) }))])
    }
}

/// A partial entry (`archive-cache put`): fields present replace those stored.
public struct CacheEntryPatch: Decodable, Sendable {
    var rowCount: Int64?
    var countTime: Timestamp?
    var fileSize: Int64?
    var uncompressedSize: Int64?
    var fileMD5: String?
    var multipartETag: String?
    var fileTime: Timestamp?
    var s3Key: String?
    var s3Uploaded: Bool?
    var s3UploadTime: Timestamp?
    var lastError: String?
    var errorTime: Timestamp?
    var processStartTime: Timestamp?
    var lastSkipTime: Timestamp?

    typealias CodingKeys = CacheEntry.CodingKeys

    /// Parses a JSON object of entry fields; errors name `source`.
    public static func decode(_ bytes: [UInt8], source: String) throws -> CacheEntryPatch {
        do {
            return try JSONDecoder().decode(CacheEntryPatch.self, from: Data(bytes))
        } catch {
            throw ToolError("\(source): \(describe(error))")
        }
    }

    /// Applies the fields present; a row count without a count time is stamped `now`.
    public func apply(to entry: inout CacheEntry, now: Timestamp) {
        if let v = rowCount {
            entry.rowCount = v
            entry.countTime = countTime ?? now
        } else if let v = countTime {
            entry.countTime = v
        }
        if let v = fileSize { entry.fileSize = v }
        if let v = uncompressedSize { entry.uncompressedSize = v }
        if let v = fileMD5 { entry.fileMD5 = v }
        if let v = multipartETag { entry.multipartETag = v }
        if let v = fileTime { entry.fileTime = v }
        if let v = s3Key { entry.s3Key = v }
        if let v = s3Uploaded { entry.s3Uploaded = v }
        if let v = s3UploadTime { entry.s3UploadTime = v }
        if let v = lastError {
            entry.lastError = v
            entry.errorTime = errorTime ?? (v.isEmpty ? .zero : now)
        } else if let v = errorTime {
            entry.errorTime = v
        }
        if let v = processStartTime { entry.processStartTime = v }
        if let v = lastSkipTime { entry.lastSkipTime = v }
    }
}
