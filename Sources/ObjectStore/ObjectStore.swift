import ToolSupport

/// One bucket of an object store: S3 over HTTP(S) or a directory (`file://`), used alike.
///
/// An instance is used by one thread at a time; `clone()` gives another thread its own
/// connection. Errors are `ToolError`s whose message names the key and the server's text.
public protocol ObjectStore: AnyObject {
    /// The bucket every call addresses.
    var bucket: String { get }
    /// A display form of the object's address (`s3://bucket/key`, `file:///dir/bucket/key`).
    func describe(key: String) -> String
    /// Refuses a key this store cannot hold, before any byte moves.
    func check(key: String) throws
    /// A fresh instance with the same settings and its own connection, for another thread.
    func clone() throws -> any ObjectStore
    /// The object's metadata, or nil when it does not exist (404). Any other failure throws.
    func head(key: String) throws -> ObjectInfo?
    /// The part size a multipart object was uploaded with (nil for a single-part object).
    func partSize(key: String, info: ObjectInfo) throws -> UInt64?
    /// Streams the object to `consumer`; returns its metadata (from the response).
    ///
    /// A retried transfer resumes where the consumer stopped, so no byte is delivered twice.
    func get(key: String, consumer: (UnsafeRawBufferPointer) throws -> Void) throws -> ObjectInfo
    /// Calls `each` for every object whose key starts with `prefix`, in key order.
    func list(prefix: String, each: (ListedObject) throws -> Void) throws
    /// Stores `body` as one object in one request; returns the ETag (unquoted).
    func put(key: String, body: any ByteSource, md5: [UInt8], options: PutOptions) throws -> String
    /// Starts a multipart upload; returns its upload ID.
    func createUpload(key: String, options: PutOptions) throws -> String
    /// Uploads part `number` (1-based); returns the part's ETag (unquoted).
    func uploadPart(key: String, uploadID: String, number: Int, body: any ByteSource, md5: [UInt8]) throws -> String
    /// Assembles the parts into the object.
    func completeUpload(key: String, uploadID: String, parts: [CompletedPart]) throws
    /// Abandons a multipart upload and frees its parts.
    func abortUpload(key: String, uploadID: String) throws
    /// The multipart uploads in progress whose key starts with `prefix`.
    func listUploads(prefix: String) throws -> [PendingUpload]
}

/// What a HEAD (or the headers of a GET) says about an object.
public struct ObjectInfo: Sendable, Equatable {
    /// Size in bytes.
    public var size: UInt64
    /// The ETag without quotes.
    public var etag: String
    /// Last modification, RFC 3339 (`2024-01-02T03:04:05Z`) or the server's own text.
    public var lastModified: String
    /// Content type, when the store keeps one.
    public var contentType: String?
    /// User metadata (`x-amz-meta-*`), names lower-case without the prefix.
    public var metadata: [String: String]
    /// Server-side encryption (`AES256`, `aws:kms`), when reported.
    public var serverSideEncryption: String?
    /// Whether the object is encrypted with a customer key (SSE-C).
    public var customerKeyEncryption: Bool
    /// The storage class when the store reports one (S3 sends it for all but STANDARD).
    public var storageClass: String?

    /// An info value.
    public init(size: UInt64, etag: String, lastModified: String = "", contentType: String? = nil,
                metadata: [String: String] = [:], serverSideEncryption: String? = nil, customerKeyEncryption: Bool = false) {
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
        self.contentType = contentType
        self.metadata = metadata
        self.serverSideEncryption = serverSideEncryption
        self.customerKeyEncryption = customerKeyEncryption
    }

    /// The number of parts the ETag names (`…-N`), or nil for a single-part ETag.
    public var multipartCount: Int? {
        guard let dash = etag.lastIndex(of: "-") else { return nil }
        return Int(etag[etag.index(after: dash)...])
    }

    /// Whether the ETag is an MD5 of the content (not with SSE-KMS or SSE-C).
    public var etagIsContentDigest: Bool {
        serverSideEncryption != "aws:kms" && serverSideEncryption != "aws:kms:dsse" && !customerKeyEncryption
    }
}

/// One object of a listing.
public struct ListedObject: Sendable, Equatable {
    /// The key.
    public var key: String
    /// Size in bytes.
    public var size: UInt64
    /// The ETag without quotes.
    public var etag: String
    /// Last modification, RFC 3339.
    public var lastModified: String

    /// A listing entry.
    public init(key: String, size: UInt64, etag: String, lastModified: String) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// A multipart upload that was started and neither completed nor aborted.
public struct PendingUpload: Sendable, Equatable {
    /// The key it would create.
    public var key: String
    /// Its upload ID.
    public var uploadID: String
    /// When it started, RFC 3339.
    public var initiated: String

    /// A pending upload.
    public init(key: String, uploadID: String, initiated: String) {
        self.key = key
        self.uploadID = uploadID
        self.initiated = initiated
    }
}

/// A part as CompleteMultipartUpload names it.
public struct CompletedPart: Sendable, Equatable {
    /// 1-based part number.
    public var number: Int
    /// The part's ETag (unquoted).
    public var etag: String

    /// A completed part.
    public init(number: Int, etag: String) {
        self.number = number
        self.etag = etag
    }
}

/// Settings for a new object.
public struct PutOptions: Sendable, Equatable {
    /// Content type (default `application/octet-stream`).
    public var contentType: String?
    /// Server-side encryption: `AES256` or `aws:kms`.
    public var serverSideEncryption: String?
    /// The KMS key for `aws:kms`.
    public var kmsKeyID: String?
    /// Storage class (`STANDARD`, `STANDARD_IA`, …).
    public var storageClass: String?
    /// User metadata: names without `x-amz-meta-`.
    public var metadata: [String: String]
    /// The part size of a multipart upload, recorded by stores that keep it (file://).
    public var partSize: UInt64?

    /// Options for a new object.
    public init(contentType: String? = nil, serverSideEncryption: String? = nil, kmsKeyID: String? = nil,
                storageClass: String? = nil, metadata: [String: String] = [:], partSize: UInt64? = nil) {
        self.contentType = contentType
        self.serverSideEncryption = serverSideEncryption
        self.kmsKeyID = kmsKeyID
        self.storageClass = storageClass
        self.metadata = metadata
        self.partSize = partSize
    }
}

/// Bytes that can be read at any position, so a retried request can start over.
public protocol ByteSource {
    /// Total size in bytes.
    var size: UInt64 { get }
    /// Copies bytes from `offset` into `buffer`; returns how many (0 only at the end).
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A `ByteSource` over memory the caller keeps alive for the duration of the request.
public struct MemoryBytes: ByteSource {
    /// The bytes.
    public let bytes: UnsafeRawBufferPointer

    /// A source over `bytes`.
    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public var size: UInt64 { UInt64(bytes.count) }

    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let start = Int(offset)
        let n = min(buffer.count, bytes.count - start)
        guard n > 0 else { return 0 }
        buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + start, byteCount: n)
        return n
    }
}

/// S3's limits on multipart uploads.
public enum MultipartLimits {
    /// The smallest part except the last (5 MiB).
    public static let minimumPartSize: UInt64 = 5 * 1024 * 1024
    /// The largest part (5 GiB).
    public static let maximumPartSize: UInt64 = 5 * 1024 * 1024 * 1024
    /// The most parts in one upload.
    public static let maximumParts = 10_000

    /// `requested` grown (in whole MiB) so that `size` bytes fit in 10,000 parts.
    public static func partSize(requested: UInt64, forSize size: UInt64?) -> UInt64 {
        guard let size else { return requested }
        let mib: UInt64 = 1024 * 1024
        let needed = (size + UInt64(maximumParts) - 1) / UInt64(maximumParts)
        let grown = (needed + mib - 1) / mib * mib
        return max(requested, grown)
    }
}

/// Rules for keys this toolbox writes, whatever the store.
public enum WritableKey {
    /// Refuses a key with a `.` or `..` segment: on a path-style store such a key would escape
    /// its bucket (`x/../../other/k` is `s3://other/k` once a path is normalised), and no store
    /// should hold a name that means something else elsewhere. Empty segments (`a//b`) are left
    /// to the store: S3 holds them, and foreign keys with them still list and read.
    public static func check(_ key: String, in store: any ObjectStore) throws {
        for segment in key.split(separator: "/", omittingEmptySubsequences: false) where segment == "." || segment == ".." {
            throw ToolError("\(store.describe(key: key)): refusing a key with a \"\(segment)\" segment (it would name another place)",
                            status: .usage)
        }
    }
}
