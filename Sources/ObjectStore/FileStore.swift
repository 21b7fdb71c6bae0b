import Digest
import FoundationEssentials
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// A bucket kept as a directory: `ROOT/BUCKET/KEY`, with S3's semantics.
///
/// Objects appear atomically (written under `ROOT/.tmp`, then renamed), carry the same ETag
/// as on S3, and keep their metadata apart in `ROOT/.meta/BUCKET/KEY.json`. Multipart uploads
/// collect parts in `ROOT/.uploads/BUCKET/ID/`. None of these show in listings.
public final class FileStore: ObjectStore {
    public let bucket: String
    /// The directory holding the buckets.
    public let root: String

    /// A store for `bucket` under `root`; the root must exist, the bucket folder is made on demand.
    public init(root: String, bucket: String) throws {
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        guard !bucket.isEmpty, !bucket.hasPrefix("."), !bucket.contains("/") else {
            throw ToolError.usage("bucket \"\(bucket)\" is not a valid name for the file store")
        }
        var st = stat()
        guard stat(root, &st) == 0 else {
            // The root is the store itself (like a server): made by the user, never on demand.
            throw ToolError("file store \"\(root)\": \(systemErrorText(errno)) (create the folder first: the buckets go inside it)")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw ToolError("file store \"\(root)\": not a directory") }
        self.root = root
        self.bucket = bucket
    }

    /// The root of a `file:///dir` endpoint, or nil when it is not a file URL.
    public static func root(ofEndpoint endpoint: String) -> String? {
        guard let parts = splitScheme(endpoint), parts.scheme == "file" else { return nil }
        let path = String(parts.rest)
        guard path.hasPrefix("/") else { return nil }
        return percentDecoded(path) ?? path
    }

    /// `%XX` escapes of a URL path decoded as UTF-8; nil when an escape is malformed.
    static func percentDecoded(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var rest = Substring(text).utf8[...]
        while let byte = rest.popFirst() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard rest.count >= 2, let value = UInt8(String(decoding: rest.prefix(2), as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
            rest = rest.dropFirst(2)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// A part number as the five-digit file name its bytes are stored under.
    private static func partName(_ number: Int) -> String { TextFormat.zeroPadded(number, width: 5) }

    public func clone() throws -> any ObjectStore { self }

    public func describe(key: String) -> String { "file://\(root)/\(bucket)/\(key)" }

    public func check(key: String) throws { try Self.validate(key: key) }

    /// Refuses keys the file system cannot hold faithfully: empty, `..`/`.` or empty segments, a leading `/`.
    public static func validate(key: String) throws {
        func refuse(_ why: String) -> ToolError { ToolError("key \"\(key)\" is refused by the file store: \(why)") }
        if key.isEmpty { throw refuse("it is empty") }
        if key.hasPrefix("/") { throw refuse("it starts with /") }
        if key.utf8.contains(0) { throw refuse("it contains a NUL byte") }
        for segment in key.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty { throw refuse("it has an empty path segment") }
            if segment == ".." || segment == "." { throw refuse("it has a \"\(segment)\" segment") }
            if segment.utf8.count > 240 { throw refuse("a segment is longer than 240 bytes") }
        }
    }

    private var bucketPath: String { "\(root)/\(bucket)" }
    private func objectPath(_ key: String) -> String { "\(bucketPath)/\(key)" }
    private func metaPath(_ key: String) -> String { "\(root)/.meta/\(bucket)/\(key).json" }
    private var uploadsPath: String { "\(root)/.uploads/\(bucket)" }

    // MARK: Objects

    public func head(key: String) throws -> ObjectInfo? {
        try Self.validate(key: key)
        var st = stat()
        guard stat(objectPath(key), &st) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw ToolError("HEAD \(describe(key: key)): \(systemErrorText(errno))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let size = UInt64(st.st_size)
        let modified = rfc3339(st.st_mtim.tv_sec)
        if let meta = readMeta(key), meta.inode == UInt64(st.st_ino), meta.size == size {
            return ObjectInfo(size: size, etag: meta.etag, lastModified: modified, contentType: meta.contentType,
                              metadata: meta.metadata, serverSideEncryption: nil)
        }
        // No (or stale) metadata: the file was put there by other means; its ETag is its MD5.
        let md5 = try digestFile(objectPath(key), what: "HEAD \(describe(key: key))")
        return ObjectInfo(size: size, etag: hex(md5), lastModified: modified)
    }

    public func partSize(key: String, info: ObjectInfo) throws -> UInt64? {
        guard info.multipartCount != nil else { return nil }
        return readMeta(key)?.partSize
    }

    public func get(key: String, consumer: (UnsafeRawBufferPointer) throws -> Void) throws -> ObjectInfo {
        guard let info = try head(key: key) else {
            throw ToolError("GET \(describe(key: key)): not found", status: .notFound)
        }
        let source = try FileSource.open(path: objectPath(key))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            try consumer(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return info
    }

    public func list(prefix: String, each: (ListedObject) throws -> Void) throws {
        // Walk only below the deepest folder the prefix names.
        let folder = prefix.lastIndex(of: "/").map { String(prefix[..<$0]) } ?? ""
        var keys: [String] = []
        collectKeys(folder: folder, prefix: prefix, into: &keys)
        keys.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for key in keys {
            guard let info = try head(key: key) else { continue }
            try each(ListedObject(key: key, size: info.size, etag: info.etag, lastModified: info.lastModified))
        }
    }

    private func collectKeys(folder: String, prefix: String, into keys: inout [String]) {
        let path = folder.isEmpty ? bucketPath : "\(bucketPath)/\(folder)"
        guard let dir = opendir(path) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let key = folder.isEmpty ? name : "\(folder)/\(name)"
            var st = stat()
            guard lstat("\(bucketPath)/\(key)", &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                if key.hasPrefix(prefix) || prefix.hasPrefix(key + "/") { collectKeys(folder: key, prefix: prefix, into: &keys) }
            } else if (st.st_mode & S_IFMT) == S_IFREG, key.hasPrefix(prefix) {
                keys.append(key)
            }
        }
    }

    public func put(key: String, body: any ByteSource, md5: [UInt8], options: PutOptions) throws -> String {
        try Self.validate(key: key)
        let what = "PUT \(describe(key: key))"
        let temp = try TempFile(root: root, what: what)
        let size = try temp.write(body, md5: md5, what: what)
        let etag = hex(md5)
        try install(temp, key: key, meta: Meta(size: size, etag: etag, partSize: nil, options: options), what: what)
        return etag
    }

    /// Moves a finished temp file into place, its metadata first (tied to the file by inode).
    private func install(_ temp: TempFile, key: String, meta: Meta, what: String) throws {
        var meta = meta
        meta.inode = try temp.finish()
        try makeParents(metaPath(key), what: what)
        let metaTemp = try TempFile(root: root, what: what)
        try metaTemp.sink.write(meta.json())
        _ = try metaTemp.finish()
        try rename(metaTemp, to: metaPath(key), what: what)
        try makeParents(objectPath(key), what: what)
        try rename(temp, to: objectPath(key), what: what)
    }

    private func rename(_ temp: TempFile, to path: String, what: String) throws {
        guard Glibc.rename(temp.path, path) == 0 else {
            throw ToolError("\(what): could not rename into \"\(path)\": \(systemErrorText(errno))")
        }
        temp.keep()
    }

    private func makeParents(_ path: String, what: String) throws {
        guard let slash = path.lastIndex(of: "/") else { return }
        do {
            try FileManager.default.createDirectory(atPath: String(path[..<slash]), withIntermediateDirectories: true)
        } catch {
            throw ToolError("\(what): could not create the folder for \"\(path)\" (a key in the way?)")
        }
    }

    // MARK: Multipart

    public func createUpload(key: String, options: PutOptions) throws -> String {
        try Self.validate(key: key)
        let id = hex((0..<16).map { _ in UInt8.random(in: 0...255) })
        let dir = "\(uploadsPath)/\(id)"
        let what = "POST \(describe(key: key))"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw ToolError("\(what): could not create \"\(dir)\"")
        }
        var meta = Meta(size: 0, etag: "", partSize: options.partSize, options: options)
        meta.key = key
        meta.initiated = rfc3339(time(nil))
        let temp = try TempFile(root: root, what: what)
        try temp.sink.write(meta.json())
        _ = try temp.finish()
        try rename(temp, to: "\(dir)/upload.json", what: what)
        return id
    }

    private func uploadMeta(key: String, uploadID: String, what: String) throws -> Meta {
        guard !uploadID.contains("/"), let meta = Meta.read("\(uploadsPath)/\(uploadID)/upload.json"), meta.key == key else {
            throw ToolError("\(what): NoSuchUpload: the multipart upload \(uploadID) does not exist")
        }
        return meta
    }

    public func uploadPart(key: String, uploadID: String, number: Int, body: any ByteSource, md5: [UInt8]) throws -> String {
        let what = "PUT \(describe(key: key)) part \(number)"
        _ = try uploadMeta(key: key, uploadID: uploadID, what: what)
        guard (1...MultipartLimits.maximumParts).contains(number) else { throw ToolError("\(what): InvalidArgument: part number") }
        let temp = try TempFile(root: root, what: what)
        _ = try temp.write(body, md5: md5, what: what)
        // Not synced: a part becomes durable inside the completed object, which is; after a
        // crash the upload is incomplete and gets aborted anyway.
        _ = try temp.finish(sync: false)
        let dir = "\(uploadsPath)/\(uploadID)"
        let name = Self.partName(number)
        for old in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where old.hasPrefix(name + ".") {
            _ = unlink("\(dir)/\(old)")
        }
        try rename(temp, to: "\(dir)/\(name).\(hex(md5))", what: what)
        return hex(md5)
    }

    public func completeUpload(key: String, uploadID: String, parts: [CompletedPart]) throws {
        let what = "POST \(describe(key: key))"
        var meta = try uploadMeta(key: key, uploadID: uploadID, what: what)
        let dir = "\(uploadsPath)/\(uploadID)"
        guard !parts.isEmpty else { throw ToolError("\(what): MalformedXML: no parts") }
        let temp = try TempFile(root: root, what: what)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var digests: [[UInt8]] = []
        var total: UInt64 = 0
        var firstPartSize: UInt64 = 0
        for (index, part) in parts.enumerated() {
            guard index == 0 || part.number > parts[index - 1].number else {
                throw ToolError("\(what): InvalidPartOrder: parts must be in ascending order")
            }
            let path = "\(dir)/\(Self.partName(part.number)).\(part.etag)"
            guard let source = try? FileSource.open(path: path) else {
                throw ToolError("\(what): InvalidPart: part \(part.number) with ETag \(part.etag) was not uploaded")
            }
            var partSize: UInt64 = 0
            while true {
                let n = try source.read(into: buffer)
                if n == 0 { break }
                try temp.sink.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                partSize += UInt64(n)
            }
            if index < parts.count - 1 && partSize < MultipartLimits.minimumPartSize {
                throw ToolError("\(what): EntityTooSmall: part \(part.number) is smaller than 5 MiB")
            }
            if index == 0 { firstPartSize = partSize }
            total += partSize
            digests.append(hexBytes(part.etag))
        }
        meta.size = total
        meta.etag = ETag.multipart(partDigests: digests)
        meta.partSize = firstPartSize
        meta.key = nil
        meta.initiated = nil
        try install(temp, key: key, meta: meta, what: what)
        try? FileManager.default.removeItem(atPath: dir)
    }

    public func abortUpload(key: String, uploadID: String) throws {
        guard !uploadID.contains("/"), !uploadID.isEmpty else { return }
        let dir = "\(uploadsPath)/\(uploadID)"
        guard FileManager.default.fileExists(atPath: dir) else { return }
        do {
            try FileManager.default.removeItem(atPath: dir)
        } catch {
            throw ToolError("DELETE \(describe(key: key)): could not remove \"\(dir)\": \(error)")
        }
    }

    public func listUploads(prefix: String) throws -> [PendingUpload] {
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: uploadsPath)) ?? []
        var uploads: [PendingUpload] = []
        for id in ids {
            guard let meta = Meta.read("\(uploadsPath)/\(id)/upload.json"), let key = meta.key, key.hasPrefix(prefix) else { continue }
            uploads.append(PendingUpload(key: key, uploadID: id, initiated: meta.initiated ?? ""))
        }
        return uploads.sorted { ($0.key, $0.uploadID) < ($1.key, $1.uploadID) }
    }

    // MARK: Helpers

    private func readMeta(_ key: String) -> Meta? { Meta.read(metaPath(key)) }

    private func digestFile(_ path: String, what: String) throws -> [UInt8] {
        let source = try FileSource.open(path: path)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        let digest = Digest(.md5)
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            digest.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return digest.finalize()
    }
}

/// The bytes of a hex string (a part's ETag, which this store wrote itself).
private func hexBytes(_ text: String) -> [UInt8] {
    let digits = text.utf8.map { hexDigitValue($0) ?? 0 }
    return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}

/// A temp file under `ROOT/.tmp`, removed unless renamed into place (also on SIGINT/SIGTERM).
private final class TempFile {
    let path: String
    let sink: FileSink
    private var token: Int?
    private var kept = false

    init(root: String, what: String) throws {
        let dir = "\(root)/.tmp"
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw ToolError("\(what): could not create \"\(dir)\": \(systemErrorText(errno))")
        }
        path = "\(dir)/\(getpid())-\(hex((0..<8).map { _ in UInt8.random(in: 0...255) }))"
        sink = try FileSink.create(path: path)
        let path = self.path
        token = Interrupts.shared.add { _ = unlink(path) }
    }

    /// Copies `body` in, checking it against `md5` as S3 checks Content-MD5; returns the size.
    func write(_ body: any ByteSource, md5: [UInt8], what: String) throws -> UInt64 {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        let digest = Digest(.md5)
        var offset: UInt64 = 0
        while offset < body.size {
            let n = try body.read(at: offset, into: buffer)
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            digest.update(chunk)
            try sink.write(chunk)
            offset += UInt64(n)
        }
        guard digest.finalize() == md5 else { throw ToolError("\(what): BadDigest: the Content-MD5 does not match the body") }
        return offset
    }

    /// Flushes and (unless told not to) syncs; returns the file's inode number.
    func finish(sync: Bool = true) throws -> UInt64 {
        try sink.close(sync: sync)
        var st = stat()
        fstat(sink.fd, &st)
        return UInt64(st.st_ino)
    }

    func keep() {
        kept = true
        if let token { Interrupts.shared.remove(token) }
    }

    deinit {
        if !kept {
            _ = unlink(path)
            if let token { Interrupts.shared.remove(token) }
        }
    }
}

/// The JSON kept beside an object (and for a pending upload).
private struct Meta {
    var size: UInt64
    var etag: String
    var partSize: UInt64?
    var contentType: String?
    var metadata: [String: String]
    var inode: UInt64 = 0
    var key: String?
    var initiated: String?

    init(size: UInt64, etag: String, partSize: UInt64?, options: PutOptions) {
        self.size = size
        self.etag = etag
        self.partSize = partSize
        contentType = options.contentType
        metadata = options.metadata
    }

    func json() -> String {
        var fields = ["\"size\":\(size)", "\"etag\":\(JSON.quote(etag))", "\"inode\":\(inode)"]
        if let partSize { fields.append("\"part_size\":\(partSize)") }
        if let contentType { fields.append("\"content_type\":\(JSON.quote(contentType))") }
        let pairs = metadata.sorted { $0.key < $1.key }.map { "\(JSON.quote($0.key)):\(JSON.quote($0.value))" }
        fields.append("\"metadata\":{\(pairs.joined(separator: ","))}")
        if let key { fields.append("\"key\":\(JSON.quote(key))") }
        if let initiated { fields.append("\"initiated\":\(JSON.quote(initiated))") }
        return "{\(fields.joined(separator: ","))}\n"
    }

    /// The fields of a meta file as written by `json()`.
    private struct Stored: Decodable {
        var size: UInt64?
        var etag: String?
        var inode: UInt64?
        var part_size: UInt64?
        var content_type: String?
        var metadata: [String: String]?
        var key: String?
        var initiated: String?
    }

    static func read(_ path: String) -> Meta? {
        guard let data = FileManager.default.contents(atPath: path),
              let stored = try? JSONDecoder().decode(Stored.self, from: data) else { return nil }
        var meta = Meta(size: stored.size ?? 0, etag: stored.etag ?? "", partSize: stored.part_size,
                        options: PutOptions(contentType: stored.content_type, metadata: stored.metadata ?? [:]))
        meta.inode = stored.inode ?? 0
        meta.key = stored.key
        meta.initiated = stored.initiated
        return meta
    }

}
