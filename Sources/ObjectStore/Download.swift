import Digest
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// Streams an object to a sink and checks it arrived whole: its length, and its content against
/// the ETag (`ContentCheck`: the MD5 of a single-part object, the multipart ETag recomputed from
/// the part size in the object's metadata). An object whose content cannot be checked is said so
/// through `warn`.
public struct Downloader {
    private let store: any ObjectStore
    private let progress: ProgressReporter
    private let warn: (String) -> Void

    /// A downloader from `store`, reporting bytes written to `progress` and unchecked content to `warn`.
    public init(store: any ObjectStore, progress: ProgressReporter, warn: @escaping (String) -> Void = { _ in }) {
        self.store = store
        self.progress = progress
        self.warn = warn
    }

    /// Writes the object `key` to `sink` (nil: reads it only, to verify it); returns its metadata.
    /// Throws `ContentMismatch` when the length or the content does not match: the sink has then
    /// received bytes that must not be used (a pipeline's commit gate, an atomic file).
    public func run(key: String, sink: FileSink?) throws -> ObjectInfo {
        try store.check(key: key)
        let name = store.describe(key: key)
        // The metadata first: the part size decides how the content is digested on its way.
        guard let expected = try store.head(key: key) else { throw ToolError("\(name): not found", status: .notFound) }
        let check = ContentCheck(info: expected)
        var count: UInt64 = 0
        let info = try store.get(key: key) { bytes in
            check.update(bytes)
            try sink?.write(bytes)
            count += UInt64(bytes.count)
            progress.update(bytes: count)
        }
        try sink?.flush()
        guard count == info.size else {
            throw ContentMismatch("\(name): received \(count) of \(info.size) bytes")
        }
        guard info.etag == expected.etag else {
            throw ContentMismatch("\(name): the object was replaced while it was read (ETag \(expected.etag), then \(info.etag))")
        }
        if let problem = check.mismatch(name: name, etag: info.etag) { throw ContentMismatch(problem) }
        if case .unchecked(let why) = check.plan, info.size > 0 {
            warn("\(name): content not checked against the ETag: \(why); only its length was (compression frames carry their own checksums)")
        }
        progress.finish(bytes: count)
        return info
    }
}

/// The JSON lines `s3get` prints, in one place.
public enum StoreJSON {
    /// `--head`: the object's metadata.
    public static func head(bucket: String, key: String, info: ObjectInfo, partSize: UInt64?) -> String {
        var line = "{\"bucket\":\(JSON.quote(bucket)),\"key\":\(JSON.quote(key)),\"size\":\(info.size),"
            + "\"etag\":\(JSON.quote(info.etag)),\"last_modified\":\(JSON.quote(info.lastModified))"
        line += ",\"parts\":\(info.multipartCount ?? 0)"
        if let partSize { line += ",\"part_size\":\(partSize)" }
        if let type = info.contentType { line += ",\"content_type\":\(JSON.quote(type))" }
        if let sse = info.serverSideEncryption { line += ",\"server_side_encryption\":\(JSON.quote(sse))" }
        if info.customerKeyEncryption { line += ",\"sse_customer_key\":true" }
        // Whether the ETag is a digest of the content (not with SSE-KMS or SSE-C): callers then
        // rely on sizes and their own digests (data-archiver's manifests), never on ETag = MD5.
        line += ",\"etag_is_digest\":\(info.etagIsContentDigest)"
        if let cls = info.storageClass { line += ",\"storage_class\":\(JSON.quote(cls))" }
        let pairs = info.metadata.sorted { $0.key < $1.key }.map { "\(JSON.quote($0.key)):\(JSON.quote($0.value))" }
        return line + ",\"metadata\":{\(pairs.joined(separator: ","))}}"
    }

    /// `--verify`: what the content check found (`content`: `ok`, `mismatch`, or `unchecked`
    /// when the ETag cannot be recomputed; `error` says why for the last two).
    public static func verified(bucket: String, key: String, info: ObjectInfo, plan: ContentCheck.Plan, mismatch: String?) -> String {
        var line = "{\"bucket\":\(JSON.quote(bucket)),\"key\":\(JSON.quote(key)),\"size\":\(info.size),"
            + "\"etag\":\(JSON.quote(info.etag)),\"parts\":\(info.multipartCount ?? 0)"
        if case .multipart(let partSize, _) = plan { line += ",\"part_size\":\(partSize)" }
        line += ",\"check\":\(JSON.quote(plan.name))"
        if let mismatch {
            line += ",\"content\":\"mismatch\",\"error\":\(JSON.quote(mismatch))"
        } else if case .unchecked(let why) = plan {
            line += ",\"content\":\"unchecked\",\"error\":\(JSON.quote(why))"
        } else {
            line += ",\"content\":\"ok\""
        }
        return line + "}"
    }

    /// `--list`: one object.
    public static func listed(_ object: ListedObject) -> String {
        "{\"key\":\(JSON.quote(object.key)),\"size\":\(object.size),\"etag\":\(JSON.quote(object.etag)),"
            + "\"last_modified\":\(JSON.quote(object.lastModified))}"
    }

    /// `--list-uploads` and `--abort-incomplete`: one pending multipart upload.
    public static func upload(_ upload: PendingUpload, aborted: Bool? = nil) -> String {
        var line = "{\"key\":\(JSON.quote(upload.key)),\"upload_id\":\(JSON.quote(upload.uploadID)),"
            + "\"initiated\":\(JSON.quote(upload.initiated))"
        if let aborted { line += ",\"aborted\":\(aborted)" }
        return line + "}"
    }
}

/// Clean-up of multipart uploads a killed process left behind.
public enum IncompleteUploads {
    /// The uploads under `prefix` started at least `olderThan` seconds before `now`.
    public static func find(store: any ObjectStore, prefix: String, olderThan: UInt64, now: Int = time(nil)) throws -> [PendingUpload] {
        started(try store.listUploads(prefix: prefix), atLeast: olderThan, now: now)
    }

    /// Those of `uploads` started at least `seconds` before `now` (all of them for 0; an upload
    /// whose start time cannot be read is never old).
    public static func started(_ uploads: [PendingUpload], atLeast seconds: UInt64, now: Int = time(nil)) -> [PendingUpload] {
        uploads.filter { upload in
            guard seconds > 0 else { return true }
            guard let started = epochSeconds(rfc3339: upload.initiated) else { return false }
            return now - started >= Int(seconds)
        }
    }

    /// Seconds since the epoch of an RFC 3339 UTC time (`2024-01-02T03:04:05[.123]Z`).
    static func epochSeconds(rfc3339 text: String) -> Int? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int32? {
            guard bytes.count >= range.upperBound else { return nil }
            return Int32(String(decoding: bytes[range], as: UTF8.self))
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        return timegm(&parts)
    }
}
