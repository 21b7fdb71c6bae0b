import Digest

/// S3's ETag rules, in one place.
///
/// A single PUT's ETag is the hex MD5 of the object; a multipart upload's is
/// `hex(md5(md5(part 1) ‖ … ‖ md5(part N)))-N`.
public enum ETag {
    /// The ETag of a multipart object from its parts' binary MD5 digests.
    public static func multipart(partDigests: [[UInt8]]) -> String {
        let d = Digest(.md5)
        for digest in partDigests { d.update(digest) }
        return "\(hex(d.finalize()))-\(partDigests.count)"
    }

    /// An ETag as a server sends it, without the surrounding quotes.
    public static func unquote(_ text: String) -> String {
        var t = Substring(text)
        if t.hasPrefix("W/") { t = t.dropFirst(2) }
        if t.hasPrefix("\""), t.hasSuffix("\""), t.count >= 2 { t = t.dropFirst().dropLast() }
        if t.hasPrefix("&quot;"), t.hasSuffix("&quot;"), t.count >= 12 { t = t.dropFirst(6).dropLast(6) }
        return String(t)
    }
}

/// Computes, over a stream fed in order, the ETag it would get when uploaded in parts of
/// `partSize` bytes (or as one PUT when `partSize` is nil).
public final class ETagCalculator {
    /// The part size, or nil for a single-part ETag.
    public let partSize: UInt64?
    private let whole = Digest(.md5)
    private let part = Digest(.md5)
    private var partFill: UInt64 = 0
    private var partDigests: [[UInt8]] = []
    /// Bytes seen.
    public private(set) var size: UInt64 = 0

    /// A calculator for parts of `partSize` bytes (nil: single PUT).
    public init(partSize: UInt64?) { self.partSize = partSize }

    /// Adds bytes.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        size += UInt64(bytes.count)
        whole.update(bytes)
        guard let partSize else { return }
        var rest = bytes
        while rest.count > 0 {
            let n = Int(min(UInt64(rest.count), partSize - partFill))
            part.update(UnsafeRawBufferPointer(rebasing: rest[0..<n]))
            partFill += UInt64(n)
            if partFill == partSize {
                partDigests.append(part.finalize())
                partFill = 0
            }
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        }
    }

    /// The MD5 of everything (binary) and the ETag; call once, at the end.
    public func finish() -> (md5: [UInt8], etag: String, parts: Int) {
        let md5 = whole.finalize()
        guard partSize != nil else { return (md5, hex(md5), 0) }
        if partFill > 0 || partDigests.isEmpty { partDigests.append(part.finalize()) }
        return (md5, ETag.multipart(partDigests: partDigests), partDigests.count)
    }
}
