import ToolSupport

/// One s3put result line (see man/s3put.1): what was uploaded, or found already there.
public struct UploadResult: Sendable, Equatable {
    /// The bucket.
    public var bucket: String
    /// The object key.
    public var key: String
    /// Object size in bytes.
    public var size: Int64
    /// Hex MD5 of the object's bytes.
    public var md5: String
    /// The ETag without quotes (`hex` or `hex-N`).
    public var etag: String
    /// Parts uploaded (0 or 1 for a single PUT).
    public var parts: Int64
    /// The part size used, in bytes.
    public var partSize: Int64
    /// The object was already there with the same content and was not uploaded again.
    public var skipped: Bool
    /// Hex SHA-256, when s3put was asked for it.
    public var sha256: String?
    /// `s3put --compare`: nothing was uploaded; `skipped` says whether the stream equals the object.
    public var compared: Bool
    /// `s3put --compare` of an object whose ETag is no digest of its content (SSE-KMS, SSE-C):
    /// the object's size and ETag as the store reports them (`comparable: false`), else nil.
    public var incomparable: (size: Int64, etag: String)?

    public static func == (a: UploadResult, b: UploadResult) -> Bool {
        a.bucket == b.bucket && a.key == b.key && a.size == b.size && a.md5 == b.md5 && a.etag == b.etag && a.parts == b.parts
            && a.partSize == b.partSize && a.skipped == b.skipped && a.sha256 == b.sha256 && a.compared == b.compared
            && a.incomparable?.size == b.incomparable?.size && a.incomparable?.etag == b.incomparable?.etag
    }

    /// Reads a result object; every field but `sha256` and `compared` is required.
    public init(json: JSONValue) throws(JSONShapeError) {
        guard case .object = json else { throw JSONShapeError("expected a JSON object") }
        bucket = try json.member("bucket", "").text("bucket")
        key = try json.member("key", "").text("key")
        size = try json.member("size", "").integer("size")
        md5 = try json.member("md5", "").text("md5")
        etag = try json.member("etag", "").text("etag")
        parts = try json.member("parts", "").integer("parts")
        partSize = try json.member("part_size", "").integer("part_size")
        skipped = try json.member("skipped", "").flag("skipped")
        sha256 = try json["sha256"].map { value throws(JSONShapeError) in try value.text("sha256") }
        compared = try json["compared"].map { value throws(JSONShapeError) in try value.flag("compared") } ?? false
        if try json["comparable"].map({ value throws(JSONShapeError) in try value.flag("comparable") }) == false {
            incomparable = (try json.member("object_size", "").integer("object_size"), try json.member("object_etag", "").text("object_etag"))
        }
    }

    /// Whether the object now holds these bytes: uploaded, or found identical.
    public var objectMatches: Bool { !compared || skipped }

    /// Parses and checks one line; errors name the line's source.
    public static func parse(_ line: [UInt8], source: String) throws -> UploadResult {
        let result: UploadResult
        do {
            result = try UploadResult(json: JSONValue.parse(line))
        } catch {
            throw ToolError("\(source): \(error)")
        }
        if let problem = result.problem { throw ToolError("\(source): \(problem)") }
        return result
    }

    /// What is wrong with the values, or nil.
    public var problem: String? {
        if bucket.isEmpty { return "empty \"bucket\"" }
        if key.isEmpty { return "empty \"key\"" }
        if size < 0 { return "negative \"size\"" }
        if parts < 0 || partSize < 0 { return "negative \"parts\" or \"part_size\"" }
        if !md5.isEmpty, md5.utf8.count != 32 || !md5.allSatisfy(\.isHexDigit) {
            return "\"md5\" is not 32 hex digits: \"\(md5)\""
        }
        if etag.hasPrefix("\"") { return "\"etag\" must be unquoted: \(etag)" }
        return nil
    }

    /// Whether the object was uploaded in parts (its ETag is `hex-N`).
    public var isMultipart: Bool { parts > 1 || etag.contains("-") }

    /// Stores the result in `entry`: sizes, MD5, ETag, upload state; clears the last error.
    ///
    /// `rowCount` and `uncompressedSize` come from the earlier stages' progress lines when known.
    public func apply(to entry: inout CacheEntry, now: Timestamp, rowCount: Int64? = nil,
                      uncompressedSize: Int64? = nil, processStart: Timestamp? = nil) {
        entry.s3Key = key
        entry.fileSize = size
        if !md5.isEmpty { entry.fileMD5 = md5.lowercased() }
        entry.multipartETag = isMultipart ? etag : ""
        entry.s3Uploaded = true
        if skipped {
            entry.lastSkipTime = now
            if entry.s3UploadTime.isZero { entry.s3UploadTime = now }
        } else {
            entry.s3UploadTime = now
        }
        entry.fileTime = now
        entry.lastError = ""
        entry.errorTime = .zero
        if let rowCount {
            entry.rowCount = rowCount
            entry.countTime = now
        }
        if let uncompressedSize { entry.uncompressedSize = uncompressedSize }
        if let processStart { entry.processStartTime = processStart }
    }
}
