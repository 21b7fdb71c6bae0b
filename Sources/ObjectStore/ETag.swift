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
