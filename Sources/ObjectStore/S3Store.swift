import Digest
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// How an S3 client reaches its endpoint; built once by the executable from flags and environment.
public struct S3Settings: Sendable {
    /// `scheme://host[:port][/path]`; nil means AWS (`https://s3.REGION.amazonaws.com`).
    public var endpoint: String?
    /// The signing region (`auto` signs as `us-east-1`).
    public var region: String
    /// Path-style (`host/bucket/key`) or virtual-hosted (`bucket.host/key`) addressing;
    /// nil chooses path-style for a custom endpoint and virtual-hosted for AWS.
    public var pathStyle: Bool?
    /// The keys that sign, refreshed before they expire (shared by clones); nil sends unsigned requests.
    public var credentials: CredentialProvider?
    /// A CA bundle to trust.
    public var caBundle: String?
    /// Retry rules for transient failures.
    public var retry: RetryPolicy
    /// SSE-C: the 256-bit customer key every object is encrypted with (sent on PUT, on
    /// CreateMultipartUpload and UploadPart, on GET and HEAD); nil: none.
    public var customerKey: [UInt8]? = nil

    /// Settings from their parts.
    public init(endpoint: String?, region: String, pathStyle: Bool? = nil, credentials: CredentialProvider?,
                caBundle: String? = nil, retry: RetryPolicy = RetryPolicy()) {
        self.endpoint = endpoint
        self.region = region
        self.pathStyle = pathStyle
        self.credentials = credentials
        self.caBundle = caBundle
        self.retry = retry
    }
}

/// Bounded retries with exponential backoff and full jitter.
public struct RetryPolicy: Sendable {
    /// Attempts per request, the first included.
    public var maxAttempts: Int
    /// The first backoff ceiling, in seconds; it doubles per attempt.
    public var baseDelay: Double
    /// The largest backoff ceiling, in seconds.
    public var maxDelay: Double
    /// Told of every retry before its pause: (the attempt about to start, attempts allowed,
    /// the pause in seconds, the reason), so no retry is silent.
    public var onRetry: (@Sendable (_ attempt: Int, _ of: Int, _ delay: Double, _ reason: String) -> Void)?

    /// A policy (default: 8 attempts, 0.2 s doubling to at most 10 s — under a minute in all).
    public init(maxAttempts: Int = 8, baseDelay: Double = 0.2, maxDelay: Double = 10) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Reports and sleeps before attempt `attempt + 1` (attempt counts from 1).
    func pause(after attempt: Int, reason: String) {
        let ceiling = min(maxDelay, baseDelay * Double(1 << min(attempt - 1, 20)))
        let seconds = Double.random(in: 0...ceiling)
        onRetry?(attempt + 1, maxAttempts, seconds, reason)
        var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var rest = timespec()
        while nanosleep(&ts, &rest) != 0 && errno == EINTR { ts = rest }
    }
}

/// An S3 (or S3-compatible) bucket over libcurl, signed with SigV4.
public final class S3Store: ObjectStore {
    public let bucket: String
    /// The settings it was made with.
    public let settings: S3Settings
    private let scheme: String
    private let hostPort: String
    private let basePath: String
    private let pathStyle: Bool
    private let curl: CurlHandle
    /// The SSE-C headers, empty without a customer key.
    private let customerKeyHeaders: [(String, String)]

    /// A client for `bucket`; fails on an endpoint it cannot parse.
    public init(bucket: String, settings: S3Settings) throws {
        self.bucket = bucket
        self.settings = settings
        let endpoint = settings.endpoint ?? "https://s3.\(settings.region == "auto" ? "us-east-1" : settings.region).amazonaws.com"
        guard let sep = splitScheme(endpoint) else {
            throw ToolError.usage("endpoint \"\(endpoint)\" is not a URL (expected http://, https:// or file://)")
        }
        scheme = sep.scheme
        guard scheme == "http" || scheme == "https" else {
            throw ToolError.usage("endpoint \"\(endpoint)\": unsupported scheme \"\(scheme)\"")
        }
        let rest = sep.rest
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var host = String(rest[..<slash])
        if (scheme == "http" && host.hasSuffix(":80")) || (scheme == "https" && host.hasSuffix(":443")) {
            host = String(host[..<host.lastIndex(of: ":")!])
        }
        guard !host.isEmpty else { throw ToolError.usage("endpoint \"\(endpoint)\" has no host") }
        hostPort = host
        var path = String(rest[slash...])
        while path.hasSuffix("/") { path.removeLast() }
        basePath = path
        pathStyle = settings.pathStyle ?? (settings.endpoint != nil)
        curl = try CurlHandle(caBundle: settings.caBundle)
        if let key = settings.customerKey {
            guard key.count == 32 else { throw ToolError.usage("an SSE-C key is 32 bytes, this one \(key.count)") }
            customerKeyHeaders = [("x-amz-server-side-encryption-customer-algorithm", "AES256"),
                                  ("x-amz-server-side-encryption-customer-key", base64(key)),
                                  ("x-amz-server-side-encryption-customer-key-MD5", base64(Digest.hash(.md5, key)))]
        } else {
            customerKeyHeaders = []
        }
    }

    public func clone() throws -> any ObjectStore { try S3Store(bucket: bucket, settings: settings) }

    public func describe(key: String) -> String { "s3://\(bucket)/\(key)" }

    public func check(key: String) throws {
        guard !key.isEmpty, key.utf8.count <= 1024 else {
            throw ToolError("key \"\(key)\" is refused: S3 keys are 1 to 1024 bytes of UTF-8")
        }
    }

    // MARK: Requests

    /// The host and URI-encoded path a request for `key` (nil: the bucket) goes to.
    func address(key: String?) -> (host: String, path: String) {
        let encodedKey = key.map { SigV4Signer.uriEncode($0, keepSlash: true) }
        if pathStyle {
            let path = basePath + "/" + bucket + (encodedKey.map { "/" + $0 } ?? "")
            return (hostPort, path)
        }
        return ("\(bucket).\(hostPort)", basePath + "/" + (encodedKey ?? ""))
    }

    /// A response together with whether an earlier attempt of the same request failed.
    struct Outcome {
        var response: HTTPResponse
        var retried: Bool
    }

    /// Sends a request with retries; statuses in `allow` come back instead of throwing.
    func send(_ method: String, key: String?, query: [(String, String)] = [], headers: () -> [(String, String)] = { [] },
              body: (any ByteSource)? = nil, consumer: ((UnsafeRawBufferPointer) throws -> Void)? = nil,
              onHeaders: ((Int, [String: String]) -> Void)? = nil, checkBodyForError: Bool = false, allow: Set<Int> = []) throws -> Outcome {
        let (host, path) = address(key: key)
        let queryText = SigV4Signer.canonicalQuery(query)
        let url = "\(scheme)://\(host)\(path)" + (queryText.isEmpty ? "" : "?\(queryText)")
        let what = "\(method) \(describe(key: key ?? ""))"
        var attempt = 0
        var retried = false
        var refreshed = false
        while true {
            attempt += 1
            var requestHeaders = headers()
            if let provider = settings.credentials {
                let signer = SigV4Signer(credentials: try provider.current(), region: settings.region)
                requestHeaders += signer.sign(method: method, host: host, path: path, query: query, headers: requestHeaders,
                                              payloadHash: SigV4Signer.unsignedPayload, date: .now())
            }
            var request = HTTPRequest(method: method, url: url, headers: requestHeaders, body: body, consumer: consumer)
            request.onHeaders = onHeaders
            let response: HTTPResponse
            do {
                response = try curl.perform(request)
            } catch let error as TransportError {
                if error.retryable && attempt < settings.retry.maxAttempts {
                    settings.retry.pause(after: attempt, reason: "\(what): \(error.message)")
                    retried = true
                    continue
                }
                let tries = attempt > 1 ? " (after \(attempt) attempts)" : ""
                throw ToolError("\(what): \(error.message)\(tries)")
            }
            var failure: (code: String, message: String)?
            if !(200..<300).contains(response.status) {
                failure = Self.errorFields(response)
            } else if checkBodyForError, XMLScanner(response.body).elements("Error").first != nil {
                failure = Self.errorFields(response)
            }
            guard let failure else { return Outcome(response: response, retried: retried) }
            if allow.contains(response.status) { return Outcome(response: response, retried: retried) }
            let message = failure.message.isEmpty ? "" : ": \(failure.message)"
            if Self.expiredTokenCodes.contains(failure.code), !refreshed, let provider = settings.credentials, try provider.refreshNow() {
                // A temporary token ran out: fetch the credentials again from their source and retry once.
                refreshed = true
                settings.retry.onRetry?(attempt + 1, attempt + 1, 0, "\(what): \(failure.code): credentials read again")
                continue
            }
            if Self.authenticationCodes.contains(failure.code) || Self.expiredTokenCodes.contains(failure.code) {
                // Final: never retried (a retry cannot fix a key, and may lock it out).
                throw ToolError("\(what): \(failure.code)\(message) (HTTP \(response.status)); not retried", status: .authentication)
            }
            if Self.isTransient(status: response.status, code: failure.code) && attempt < settings.retry.maxAttempts {
                settings.retry.pause(after: attempt, reason: "\(what): \(failure.code) (HTTP \(response.status))")
                retried = true
                continue
            }
            let tries = attempt > 1 ? ", after \(attempt) attempts" : ""
            throw ToolError("\(what): \(failure.code)\(message) (HTTP \(response.status)\(tries))")
        }
    }

    /// Codes that say the key, its signature or its rights are wrong: final, never retried.
    static let authenticationCodes: Set<String> = ["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken",
                                                   "AuthorizationHeaderMalformed", "InvalidSecurity", "AccountProblem"]
    /// Codes that say a temporary token expired: the credentials are read again once.
    static let expiredTokenCodes: Set<String> = ["ExpiredToken", "TokenRefreshRequired"]

    private static func isTransient(status: Int, code: String) -> Bool {
        status >= 500 || status == 429
            || ["SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling", "ThrottlingException",
                "RequestTimeTooSkewed", "RequestExpired"].contains(code)
    }

    private static func errorFields(_ response: HTTPResponse) -> (code: String, message: String) {
        let xml = XMLScanner(response.body)
        let scope = xml.elements("Error").first
        if let code = xml.text("Code", in: scope) {
            return (code, xml.text("Message", in: scope) ?? "")
        }
        let names = [301: "PermanentRedirect", 400: "BadRequest", 403: "AccessDenied", 404: "NotFound",
                     405: "MethodNotAllowed", 409: "Conflict", 412: "PreconditionFailed", 416: "InvalidRange",
                     429: "SlowDown", 500: "InternalError", 503: "ServiceUnavailable"]
        return (names[response.status] ?? "HTTP\(response.status)", "")
    }

    private static func objectHeaders(_ options: PutOptions) -> [(String, String)] {
        var headers: [(String, String)] = [("Content-Type", options.contentType ?? "application/octet-stream")]
        if let sse = options.serverSideEncryption { headers.append(("x-amz-server-side-encryption", sse)) }
        if let kms = options.kmsKeyID { headers.append(("x-amz-server-side-encryption-aws-kms-key-id", kms)) }
        if let cls = options.storageClass { headers.append(("x-amz-storage-class", cls)) }
        for (name, value) in options.metadata.sorted(by: { $0.key < $1.key }) {
            headers.append(("x-amz-meta-\(name.lowercased())", value))
        }
        return headers
    }

    private static func info(from headers: [String: String], size: UInt64? = nil) -> ObjectInfo {
        var metadata: [String: String] = [:]
        for (name, value) in headers where name.hasPrefix("x-amz-meta-") {
            metadata[String(name.dropFirst("x-amz-meta-".count))] = value
        }
        var info = ObjectInfo(
            size: size ?? headers["content-length"].flatMap { UInt64($0) } ?? 0,
            etag: ETag.unquote(headers["etag"] ?? ""),
            lastModified: headers["last-modified"].map(httpDateToRFC3339) ?? "",
            contentType: headers["content-type"],
            metadata: metadata,
            serverSideEncryption: headers["x-amz-server-side-encryption"],
            customerKeyEncryption: headers["x-amz-server-side-encryption-customer-algorithm"] != nil)
        info.storageClass = headers["x-amz-storage-class"]
        return info
    }

    // MARK: Objects

    /// The bucket's region as the store reports it (`--region auto`): a HeadBucket, signed as
    /// this store signs, whose answer carries `x-amz-bucket-region` on AWS whatever its status
    /// (200; 301 from another region's endpoint; 400 when signed for the wrong region; 403
    /// without the right to HeadBucket). Nil when the answer has none (an S3-compatible store
    /// that does not say, a missing bucket) or names no valid region.
    public func reportedRegion() throws -> String? {
        let outcome = try send("HEAD", key: nil, allow: [301, 307, 400, 403, 404])
        guard let region = outcome.response.headers["x-amz-bucket-region"], !region.isEmpty, region.utf8.count <= 64,
              region.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        return region
    }

    public func head(key: String) throws -> ObjectInfo? {
        let outcome = try send("HEAD", key: key, headers: { self.customerKeyHeaders }, allow: [404])
        guard outcome.response.status != 404 else { return nil }
        return Self.info(from: outcome.response.headers)
    }

    public func partSize(key: String, info: ObjectInfo) throws -> UInt64? {
        guard let count = info.multipartCount else { return nil }
        let outcome = try send("HEAD", key: key, query: [("partNumber", "1")], headers: { self.customerKeyHeaders }, allow: [400, 404, 416])
        let response = outcome.response
        guard response.status == 206 || response.status == 200,
              let length = response.headers["content-length"].flatMap({ UInt64($0) }) else { return nil }
        // A server that ignores partNumber answers with the whole object.
        if count > 1 && length >= info.size { return nil }
        return length
    }

    public func get(key: String, consumer: (UnsafeRawBufferPointer) throws -> Void) throws -> ObjectInfo {
        var delivered: UInt64 = 0
        var info: ObjectInfo?
        var problem: ToolError?
        let what = "GET \(describe(key: key))"
        try withoutActuallyEscaping(consumer) { consumer in
            let outcome = try send("GET", key: key, headers: {
                guard delivered > 0, let etag = info?.etag else { return self.customerKeyHeaders }
                return [("Range", "bytes=\(delivered)-"), ("If-Match", "\"\(etag)\"")] + self.customerKeyHeaders
            }, consumer: { bytes in
                delivered += UInt64(bytes.count)
                try consumer(bytes)
            }, onHeaders: { status, headers in
                if status == 200 || info == nil { info = Self.info(from: headers) }
            }, allow: [404])
            if outcome.response.status == 404 {
                problem = ToolError("\(what): not found", status: .notFound)
                return
            }
            let headers = outcome.response.headers
            if outcome.response.status == 206 {
                // A resumed transfer: the total is after the slash of Content-Range.
                let total = headers["content-range"].flatMap { $0.split(separator: "/").last }.flatMap { UInt64($0) }
                info = Self.info(from: headers, size: total)
            } else {
                info = Self.info(from: headers)
            }
        }
        if let problem { throw problem }
        guard let result = info else { throw ToolError("\(what): no response") }
        return result
    }

    public func list(prefix: String, each: (ListedObject) throws -> Void) throws {
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let body = try send("GET", key: nil, query: query).response.body
            let xml = XMLScanner(body)
            for item in xml.elements("Contents") {
                try each(ListedObject(
                    key: xml.text("Key", in: item) ?? "",
                    size: xml.text("Size", in: item).flatMap { UInt64($0) } ?? 0,
                    etag: ETag.unquote(xml.text("ETag", in: item) ?? ""),
                    lastModified: xml.text("LastModified", in: item) ?? ""))
            }
            token = xml.text("IsTruncated") == "true" ? xml.text("NextContinuationToken") : nil
        } while token != nil
    }

    public func put(key: String, body: any ByteSource, md5: [UInt8], options: PutOptions) throws -> String {
        let outcome = try send("PUT", key: key, headers: {
            [("Content-MD5", base64(md5))] + Self.objectHeaders(options) + self.customerKeyHeaders
        }, body: body)
        return ETag.unquote(outcome.response.headers["etag"] ?? "")
    }

    // MARK: Multipart

    public func createUpload(key: String, options: PutOptions) throws -> String {
        let outcome = try send("POST", key: key, query: [("uploads", "")], headers: { Self.objectHeaders(options) + self.customerKeyHeaders },
                               checkBodyForError: true)
        guard let id = XMLScanner(outcome.response.body).text("UploadId"), !id.isEmpty else {
            throw ToolError("POST \(describe(key: key)): no UploadId in the response to CreateMultipartUpload")
        }
        if outcome.retried {
            // An attempt whose response was lost may have opened an upload nobody will finish.
            // s3put owns its key, so every other pending upload of exactly this key goes.
            for other in try listUploads(prefix: key) where other.key == key && other.uploadID != id {
                try? abortUpload(key: key, uploadID: other.uploadID)
            }
        }
        return id
    }

    public func uploadPart(key: String, uploadID: String, number: Int, body: any ByteSource, md5: [UInt8]) throws -> String {
        let outcome = try send("PUT", key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)],
                               headers: { [("Content-MD5", base64(md5))] + self.customerKeyHeaders }, body: body)
        guard let etag = outcome.response.headers["etag"] else {
            throw ToolError("PUT \(describe(key: key)) part \(number): no ETag in the response")
        }
        return ETag.unquote(etag)
    }

    public func completeUpload(key: String, uploadID: String, parts: [CompletedPart]) throws {
        var xml = "<CompleteMultipartUpload>"
        for part in parts {
            xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\"\(xmlEscape(part.etag))\"</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let bytes = Array(xml.utf8)
        let outcome = try bytes.withUnsafeBytes { raw in
            try send("POST", key: key, query: [("uploadId", uploadID)], headers: { [("Content-Type", "application/xml")] },
                     body: MemoryBytes(raw), checkBodyForError: true, allow: [404])
        }
        // After a lost response, the retry finds the upload already completed: the caller's
        // verification HEAD decides. Without an earlier failure a 404 is a real error.
        if outcome.response.status == 404 && !outcome.retried {
            throw ToolError("POST \(describe(key: key)): NoSuchUpload: the multipart upload \(uploadID) does not exist")
        }
    }

    public func abortUpload(key: String, uploadID: String) throws {
        _ = try send("DELETE", key: key, query: [("uploadId", uploadID)], allow: [404])
    }

    public func listUploads(prefix: String) throws -> [PendingUpload] {
        var uploads: [PendingUpload] = []
        var keyMarker: String?
        var idMarker: String?
        repeat {
            var query = [("uploads", ""), ("prefix", prefix)]
            if let keyMarker { query.append(("key-marker", keyMarker)) }
            if let idMarker { query.append(("upload-id-marker", idMarker)) }
            let body = try send("GET", key: nil, query: query).response.body
            let xml = XMLScanner(body)
            for item in xml.elements("Upload") {
                uploads.append(PendingUpload(key: xml.text("Key", in: item) ?? "", uploadID: xml.text("UploadId", in: item) ?? "",
                                             initiated: xml.text("Initiated", in: item) ?? ""))
            }
            if xml.text("IsTruncated") == "true" {
                keyMarker = xml.text("NextKeyMarker")
                idMarker = xml.text("NextUploadIdMarker")
                if keyMarker == nil && idMarker == nil { break }
            } else {
                keyMarker = nil
                idMarker = nil
            }
        } while keyMarker != nil || idMarker != nil
        return uploads
    }
}

/// Splits `scheme://rest`; nil when there is no scheme.
func splitScheme(_ url: String) -> (scheme: String, rest: Substring)? {
    guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return nil }
    return (url[..<colon].lowercased(), url[url.index(colon, offsetBy: 3)...])
}

/// `Wed, 25 Nov 2026 09:46:59 GMT` (an HTTP date) as `2026-11-25T09:46:59Z`; other text unchanged.
func httpDateToRFC3339(_ text: String) -> String {
    let fields = text.split(separator: " ")
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    guard fields.count == 6, let day = Int(fields[1]), let month = months.firstIndex(of: String(fields[2])),
          let year = Int(fields[3]), fields[4].count == 8 else { return text }
    let two = { (n: Int) in n < 10 ? "0\(n)" : "\(n)" }
    return "\(year)-\(two(month + 1))-\(two(day))T\(fields[4])Z"
}
