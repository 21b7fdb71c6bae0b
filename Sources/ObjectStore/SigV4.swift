import Digest

#if canImport(Glibc)
import Glibc
#endif

/// Access key, secret and optional session token; the secret is never printed.
public struct Credentials: Sendable, Equatable, CustomStringConvertible {
    /// The access key ID.
    public var accessKey: String
    /// The secret access key.
    public var secretKey: String
    /// A temporary session token (`x-amz-security-token`).
    public var sessionToken: String?

    /// Credentials from their parts.
    public init(accessKey: String, secretKey: String, sessionToken: String? = nil) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken
    }

    /// The access key only, so a stray interpolation never leaks the secret.
    public var description: String { "Credentials(\(accessKey), secret hidden)" }
}

/// AWS Signature Version 4 for S3 requests (header-based, `AWS4-HMAC-SHA256`).
public struct SigV4Signer: Sendable {
    /// The key that signs.
    public var credentials: Credentials
    /// The region in the credential scope (`auto` signs as `us-east-1`).
    public var region: String
    /// The service in the credential scope.
    public var service: String = "s3"

    /// The payload hash S3 accepts for a body whose integrity Content-MD5 protects.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// A signer for `region`.
    public init(credentials: Credentials, region: String) {
        self.credentials = credentials
        self.region = region == "auto" || region.isEmpty ? "us-east-1" : region
    }

    /// Headers to add to a request: `x-amz-date`, `x-amz-content-sha256`, the session token
    /// and `Authorization`. `path` is already URI-encoded; query values are raw.
    ///
    /// Every header in `headers` is signed, with `host`.
    public func sign(method: String, host: String, path: String, query: [(String, String)],
                     headers: [(String, String)], payloadHash: String, date: AMZDate) -> [(String, String)] {
        var added: [(String, String)] = [("x-amz-content-sha256", payloadHash), ("x-amz-date", date.stamp)]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        var canonical: [(String, String)] = [("host", host)]
        for (name, value) in headers + added {
            canonical.append((name.lowercased(), Self.trimmed(value)))
        }
        canonical.sort { $0.0 < $1.0 }
        let signedHeaders = canonical.map(\.0).joined(separator: ";")
        let canonicalHeaders = canonical.map { "\($0.0):\($0.1)\n" }.joined()
        let request = [method, path, Self.canonicalQuery(query), canonicalHeaders, signedHeaders, payloadHash]
            .joined(separator: "\n")
        let scope = "\(date.day)/\(region)/\(service)/aws4_request"
        let toSign = "AWS4-HMAC-SHA256\n\(date.stamp)\n\(scope)\n\(hex(Digest.hash(.sha256, request)))"
        var key = hmacSHA256(key: Array("AWS4\(credentials.secretKey)".utf8), Array(date.day.utf8))
        for part in [region, service, "aws4_request"] { key = hmacSHA256(key: key, Array(part.utf8)) }
        let signature = hex(hmacSHA256(key: key, Array(toSign.utf8)))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKey)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return added + [("Authorization", authorization)]
    }

    /// The query string in canonical form: keys sorted, keys and values percent-encoded.
    public static func canonicalQuery(_ query: [(String, String)]) -> String {
        query.map { (uriEncode($0.0, keepSlash: false), uriEncode($0.1, keepSlash: false)) }
            .sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// RFC 3986 encoding as SigV4 wants it: every byte but `A-Za-z0-9-_.~` (and `/` when kept).
    public static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                 UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(b)
            case UInt8(ascii: "/") where keepSlash:
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), digits[Int(b >> 4)], digits[Int(b & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func trimmed(_ value: String) -> String {
        // Leading and trailing spaces go; inner runs of spaces become one.
        var out = ""
        var pendingSpace = false
        for ch in value {
            if ch == " " || ch == "\t" {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(ch)
            }
        }
        return out
    }
}

/// A SigV4 timestamp: `20240102T030405Z` and its day `20240102`.
public struct AMZDate: Sendable, Equatable {
    /// The full stamp, `YYYYMMDDTHHMMSSZ`.
    public let stamp: String
    /// The day, `YYYYMMDD`.
    public var day: String { String(stamp.prefix(8)) }

    /// A date from its stamp text.
    public init(stamp: String) { self.stamp = stamp }

    /// The current time.
    public static func now() -> AMZDate { AMZDate(stamp: utcText(time(nil), format: "%Y%m%dT%H%M%SZ")) }
}

/// `seconds` since the epoch formatted in UTC with strftime's `format`.
func utcText(_ seconds: time_t, format: String) -> String {
    var t = seconds
    var parts = tm()
    gmtime_r(&t, &parts)
    var buffer = [CChar](repeating: 0, count: 64)
    let n = strftime(&buffer, buffer.count, format, &parts)
    return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// RFC 3339 UTC text for seconds since the epoch.
func rfc3339(_ seconds: time_t) -> String { utcText(seconds, format: "%Y-%m-%dT%H:%M:%SZ") }
