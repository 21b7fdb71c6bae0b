/// What a slice just produced holds, as its stages reported it: the facts a manifest is
/// compared with when the stored object's ETag is no digest of its content.
public struct ProducedSlice: Sendable, Equatable {
    public var key: String
    public var window: String
    public var format: String
    public var codec: String
    public var schemaHash: String
    /// Rows and row digest (pg-extract's final progress line).
    public var rows: Int64
    public var digest: String
    /// Bytes of the encoded stream (s3put's count).
    public var size: Int64

    public init(key: String, window: String, format: String, codec: String, schemaHash: String, rows: Int64, digest: String, size: Int64) {
        self.key = key
        self.window = window
        self.format = format
        self.codec = codec
        self.schemaHash = schemaHash
        self.rows = rows
        self.digest = digest
        self.size = size
    }
}

extension SliceManifest {
    /// Whether a stored object whose ETag is no MD5 of its bytes (SSE-KMS, SSE-C) already holds
    /// `slice`, decided by this manifest instead of the ETag: the object is still the one the
    /// manifest describes (the size and ETag the store reports now), and the manifest records the
    /// slice's rows, row digest and size, for the same key, closed window, format, codec and
    /// schema. Nil when it does; else the first difference, for the log.
    public func mismatch(storedSize: Int64, storedETag: String, slice: ProducedSlice) -> String? {
        func unquoted(_ s: String) -> Substring {
            var t = Substring(s)
            if t.hasPrefix("\"") { t = t.dropFirst() }
            if t.hasSuffix("\"") { t = t.dropLast() }
            return t
        }
        if key != slice.key { return "the manifest describes \(key)" }
        if size != storedSize || unquoted(etag) != unquoted(storedETag) {
            return "the object (size \(storedSize), ETag \(unquoted(storedETag))) is not the one the manifest describes (size \(size), ETag \(etag))"
        }
        if open { return "the manifest was written while the window was open" }
        if window != slice.window { return "the manifest's window \(window) is not \(slice.window)" }
        if format != slice.format || codec != slice.codec { return "the manifest records \(format)/\(codec), the slice is \(slice.format)/\(slice.codec)" }
        if schemaHash != slice.schemaHash { return "the manifest records schema \(schemaHash), the table's is \(slice.schemaHash)" }
        if rows != slice.rows || digest != slice.digest {
            return "the manifest records \(rows) rows, digest \(digest); the slice has \(slice.rows) rows, digest \(slice.digest)"
        }
        if size != slice.size { return "the manifest records \(size) bytes, the slice encodes to \(slice.size)" }
        return nil
    }
}
