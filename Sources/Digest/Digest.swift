import CCrypto
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The hash functions the toolbox uses (through OpenSSL's libcrypto).
public enum DigestAlgorithm: Sendable {
    /// MD5: S3 ETags and Content-MD5.
    case md5
    /// SHA-1: cache file names.
    case sha1
    /// SHA-256: SigV4 and `--sha256`.
    case sha256

    var evp: OpaquePointer? {
        switch self {
        case .md5: EVP_md5()
        case .sha1: EVP_sha1()
        case .sha256: EVP_sha256()
        }
    }
}

/// An incremental hash; owns one `EVP_MD_CTX`.
public final class Digest {
    private let context: OpaquePointer
    /// Which function this computes.
    public let algorithm: DigestAlgorithm

    /// A fresh hash of `algorithm`.
    public init(_ algorithm: DigestAlgorithm) {
        self.algorithm = algorithm
        guard let ctx = EVP_MD_CTX_new() else { Self.unavailable("could not allocate a digest context (out of memory)") }
        context = ctx
        reset()
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Starts over, as if new.
    public func reset() {
        guard EVP_DigestInit_ex(context, algorithm.evp, nil) == 1 else {
            Self.unavailable("libcrypto refused \(algorithm) (an OpenSSL configuration without it, such as FIPS mode?)")
        }
    }

    /// Every digest the toolbox takes is needed for correctness (ETags, Content-MD5, SigV4):
    /// without one there is nothing to fall back on, so the tool stops with one clear line and
    /// exit status 1 (no crash report), before anything was stored.
    private static func unavailable(_ reason: String) -> Never {
        let program = CommandLine.arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "pgarchive"
        let line = Array("\(program): error: \(reason)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(1)
    }

    /// Adds bytes.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        _ = EVP_DigestUpdate(context, bytes.baseAddress, bytes.count)
    }

    /// Adds a byte array.
    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// Adds the UTF-8 bytes of a string.
    public func update(_ text: String) {
        var text = text
        text.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// Returns the digest and resets for reuse.
    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = EVP_DigestFinal_ex(context, &out, &length)
        reset()
        return Array(out.prefix(Int(length)))
    }

    /// The digest of a whole buffer.
    public static func hash(_ algorithm: DigestAlgorithm, _ bytes: [UInt8]) -> [UInt8] {
        let d = Digest(algorithm)
        d.update(bytes)
        return d.finalize()
    }

    /// The digest of a string's UTF-8 bytes.
    public static func hash(_ algorithm: DigestAlgorithm, _ text: String) -> [UInt8] {
        hash(algorithm, Array(text.utf8))
    }
}

/// HMAC (RFC 2104) with SHA-256, as SigV4 uses it.
public func hmacSHA256(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    _ = key.withUnsafeBytes { k in
        message.withUnsafeBytes { m in
            HMAC(EVP_sha256(), k.baseAddress, Int32(key.count), m.bindMemory(to: UInt8.self).baseAddress, m.count, &out, &length)
        }
    }
    return Array(out.prefix(Int(length)))
}

/// Lower-case hexadecimal text of bytes.
public func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Standard base64 text of bytes (Content-MD5).
public func base64(_ bytes: [UInt8]) -> String {
    let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out = [UInt8]()
    var i = 0
    while i + 2 < bytes.count {
        let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
        out += [table[Int(n >> 18)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], table[Int(n & 63)]]
        i += 3
    }
    let rest = bytes.count - i
    if rest == 1 {
        let n = UInt32(bytes[i]) << 16
        out += [table[Int(n >> 18)], table[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
    } else if rest == 2 {
        let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
        out += [table[Int(n >> 18)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], UInt8(ascii: "=")]
    }
    return String(decoding: out, as: UTF8.self)
}
