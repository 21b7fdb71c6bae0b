import ToolSupport

/// Many small text objects (manifests, sidecars) read in one process over one connection: what
/// `s3get --keys-from` prints. Each object is one GET (no HEAD first), held in memory, checked
/// for its length and, where the ETag is an MD5 of the content, against it.
public enum SmallObjects {
    /// The largest object read this way.
    public static let limit: UInt64 = 1 << 20

    /// Reads `key`: nil when it does not exist; throws when it cannot be read, is larger than
    /// `limit`, does not match its ETag, or is not UTF-8 text.
    public static func read(store: any ObjectStore, key: String) throws -> (info: ObjectInfo, text: String)? {
        try store.check(key: key)
        let name = store.describe(key: key)
        var bytes: [UInt8] = []
        let info: ObjectInfo
        do {
            info = try store.get(key: key) { chunk in
                guard UInt64(bytes.count + chunk.count) <= limit else {
                    throw ToolError("\(name): larger than \(limit) bytes; --keys-from reads small objects only")
                }
                bytes += chunk
            }
        } catch let error as ToolError where error.status == .notFound {
            return nil
        }
        guard UInt64(bytes.count) == info.size else {
            throw ToolError("\(name): received \(bytes.count) of \(info.size) bytes")
        }
        let check = ContentCheck(info: info)
        bytes.withUnsafeBytes { check.update($0) }
        if let problem = check.mismatch(name: name, etag: info.etag) { throw ToolError(problem) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ToolError("\(name): not UTF-8 text; --keys-from reads text objects only")
        }
        return (info, text)
    }
}

extension StoreJSON {
    /// `--keys-from`: one object's content, or that it does not exist.
    public static func small(key: String, found: (info: ObjectInfo, text: String)?) -> String {
        guard let found else { return "{\"key\":\(JSON.quote(key)),\"missing\":true}" }
        return "{\"key\":\(JSON.quote(key)),\"size\":\(found.info.size),\"etag\":\(JSON.quote(found.info.etag)),"
            + "\"text\":\(JSON.quote(found.text))}"
    }
}
