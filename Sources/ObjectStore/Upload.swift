import Digest
import ToolSupport

/// What `s3put` was asked to do with its input stream.
public struct UploadRequest: Sendable {
    /// The object key.
    public var key: String
    /// Content type, encryption, storage class, user metadata.
    public var options: PutOptions
    /// The requested part size (grown to fit 10,000 parts when the size is known).
    public var partSize: UInt64
    /// Parts in flight at once.
    public var concurrency: Int
    /// Streams up to this size go as one PUT.
    public var multipartThreshold: UInt64
    /// Whether to report the SHA-256 too.
    public var sha256: Bool
    /// Skip the upload when the object exists with the same size and ETag.
    public var ifDifferent: Bool
    /// Complete only after `commit` arrives on this descriptor.
    public var commitGate: CommitGate?
    /// Read and digest everything, upload nothing.
    public var dryRun: Bool
    /// Compare the stream with the existing object (size and ETag in the object's own part
    /// size), upload nothing and keep nothing: `skipped` says whether they are the same.
    public var compareOnly = false
    /// The input's size when known in advance (a regular file on stdin).
    public var sizeHint: UInt64?
    /// Where bytes read ahead are parked.
    public var temporaryDirectory: String

    /// A request with the toolbox defaults (16 MiB parts, 4 at a time, 100 MiB threshold).
    public init(key: String, options: PutOptions = PutOptions(), partSize: UInt64 = 16 << 20, concurrency: Int = 4,
                multipartThreshold: UInt64 = 100 << 20, sha256: Bool = false, ifDifferent: Bool = false,
                commitGate: CommitGate? = nil, dryRun: Bool = false, sizeHint: UInt64? = nil, temporaryDirectory: String = "/tmp") {
        self.key = key
        self.options = options
        self.partSize = partSize
        self.concurrency = concurrency
        self.multipartThreshold = multipartThreshold
        self.sha256 = sha256
        self.ifDifferent = ifDifferent
        self.commitGate = commitGate
        self.dryRun = dryRun
        self.sizeHint = sizeHint
        self.temporaryDirectory = temporaryDirectory
    }
}

/// The one JSON line `s3put` prints (see man/s3put.1).
public struct UploadResult: Sendable, Equatable {
    public var bucket: String
    public var key: String
    /// Bytes in the object.
    public var size: UInt64
    /// Hex MD5 of the whole object.
    public var md5: String
    /// The object's ETag, unquoted.
    public var etag: String
    /// Parts of the multipart upload; 0 for a single PUT.
    public var parts: Int
    /// The part size of the multipart upload; 0 for a single PUT.
    public var partSize: UInt64
    /// Whether `--if-different` found the same object and uploaded nothing.
    public var skipped: Bool
    /// Hex SHA-256 of the object, when asked.
    public var sha256: String?
    /// `--compare`: nothing was uploaded; `skipped` says whether the stream equals the object.
    public var compared = false
    /// `--compare` of an object that exists but whose ETag the stream cannot be compared with
    /// (SSE-KMS, SSE-C, unknown part size): its size and ETag, for a caller that knows the
    /// object's content by other means (data-archiver's manifests).
    public var incomparable: StoredObject?

    /// The size and ETag the store reports for an object.
    public struct StoredObject: Sendable, Equatable {
        public var size: UInt64
        public var etag: String
    }

    /// The result line, fields in their documented order, without the newline.
    public var jsonLine: String {
        var line = "{\"bucket\":\(JSON.quote(bucket)),\"key\":\(JSON.quote(key)),\"size\":\(size),\"md5\":\"\(md5)\","
            + "\"etag\":\(JSON.quote(etag)),\"parts\":\(parts),\"part_size\":\(partSize),\"skipped\":\(skipped)"
        if let sha256 { line += ",\"sha256\":\"\(sha256)\"" }
        if compared { line += ",\"compared\":true" }
        if let incomparable {
            line += ",\"comparable\":false,\"object_size\":\(incomparable.size),\"object_etag\":\(JSON.quote(incomparable.etag))"
        }
        return line + "}"
    }
}

/// Uploads a stream as one object: a single PUT up to the threshold, else a streaming
/// multipart upload; verifies the result with a HEAD; never leaves a partial object.
public struct Uploader {
    private let store: any ObjectStore
    private let request: UploadRequest
    private let progress: ProgressReporter

    /// An uploader to `store`, reporting acknowledged bytes to `progress`.
    public init(store: any ObjectStore, request: UploadRequest, progress: ProgressReporter) {
        self.store = store
        self.request = request
        self.progress = progress
    }

    /// Reads `source` to its end and stores it; returns the result line's values.
    public func run(source: FileSource) throws -> UploadResult {
        try WritableKey.check(request.key, in: store)
        try store.check(key: request.key)
        var partSize = MultipartLimits.partSize(requested: request.partSize, forSize: request.sizeHint)
        if request.compareOnly { return try compare(source: source, partSize: partSize) }
        var existing: ObjectInfo?
        if request.ifDifferent, !request.dryRun, let found = try comparableObject() {
            existing = found.info
            if let cut = found.partSize { partSize = cut }
        }
        let input = StreamInput(source: source, partSize: partSize, sha256: request.sha256,
                                temporaryDirectory: request.temporaryDirectory)
        // Parts read into memory before the upload's shape is known (part size each).
        var filled: [(buffer: UnsafeMutableRawBufferPointer, count: Int)] = []

        if let existing {
            try input.spool(until: existing.size)
            if input.ended && input.total == existing.size,
               input.etagSoFar(multipart: existing.multipartCount != nil) == existing.etag {
                try awaitCommit(abort: nil)
                let digests = input.digests()
                progress.finish(bytes: 0)
                return UploadResult(bucket: store.bucket, key: request.key, size: existing.size, md5: hex(digests.md5),
                                    etag: existing.etag, parts: existing.multipartCount ?? 0,
                                    partSize: existing.multipartCount == nil ? 0 : partSize, skipped: true, sha256: digests.sha256)
            }
        }
        if input.spooled == 0 {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(partSize), alignment: 4096)
            filled.append((buffer, 0))
            filled[0].count = try input.readStream(into: buffer)
            // A threshold within two parts: the second part is read into memory too, so the
            // stream goes as one PUT or in parts without ever touching a spool file (the
            // multipart upload would hold two part buffers anyway).
            if !input.ended, request.multipartThreshold >= partSize, request.multipartThreshold <= 2 * partSize {
                let second = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(partSize), alignment: 4096)
                filled.append((second, 0))
                filled[1].count = try input.readStream(into: second)
                if filled[1].count == second.count { _ = try input.probeEnd() }
            }
        }
        if filled.count < 2 { try input.spool(until: request.multipartThreshold) }
        if input.ended && input.total <= request.multipartThreshold {
            defer { filled.forEach { $0.buffer.deallocate() } }
            return try single(input: input, heads: filled.map { UnsafeRawBufferPointer(rebasing: $0.buffer[0..<$0.count]) })
        }
        return try multipart(input: input, partSize: partSize, filled: filled)
    }

    /// The object under the key in terms a stream can be compared with: its size and ETag, and
    /// the part size it was cut in (nil: one PUT). Nil when absent, when its ETag is no MD5
    /// (SSE-KMS) or when its part size cannot be learnt.
    private func comparableObject() throws -> (info: ObjectInfo, partSize: UInt64?)? {
        guard let found = try store.head(key: request.key), found.etagIsContentDigest else { return nil }
        guard found.multipartCount != nil else { return (found, nil) }
        guard let cut = try store.partSize(key: request.key, info: found) else { return nil }
        return (found, cut)
    }

    /// `--compare`: reads the stream to its end, digesting it as the existing object was cut
    /// (its part size, or one PUT), and uploads nothing. An object that is not comparable
    /// (see `comparableObject`) never counts as the same.
    private func compare(source: FileSource, partSize requested: UInt64) throws -> UploadResult {
        let existing = try comparableObject()
        let partSize = existing?.partSize ?? requested
        let multipart = existing?.partSize != nil
        let input = StreamInput(source: source, partSize: partSize, sha256: request.sha256,
                                temporaryDirectory: request.temporaryDirectory)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while try input.readStream(into: chunk) > 0 {
            progress.update(bytes: input.total)
        }
        try awaitCommit(abort: nil)
        let etag = input.etagSoFar(multipart: multipart)
        let same = existing.map { $0.info.size == input.total && $0.info.etag == etag } ?? false
        let digests = input.digests()
        progress.finish(bytes: 0)
        let parts = multipart ? Int(max(1, (input.total + partSize - 1) / partSize)) : 0
        var result = UploadResult(bucket: store.bucket, key: request.key, size: input.total, md5: hex(digests.md5), etag: etag,
                                  parts: parts, partSize: multipart ? partSize : 0, skipped: same, sha256: digests.sha256)
        result.compared = true
        // Present but not comparable: say so, with what the store reports of it (asked now, at
        // the end, so a caller's decision concerns the object as it is after the read).
        if existing == nil, let present = try store.head(key: request.key) {
            result.incomparable = UploadResult.StoredObject(size: present.size, etag: present.etag)
        }
        return result
    }

    private func single(input: StreamInput, heads: [UnsafeRawBufferPointer]) throws -> UploadResult {
        let digests = input.digests()
        let md5 = hex(digests.md5)
        var result = UploadResult(bucket: store.bucket, key: request.key, size: input.total, md5: md5, etag: md5,
                                  parts: 0, partSize: 0, skipped: false, sha256: digests.sha256)
        try awaitCommit(abort: nil)
        if request.dryRun {
            progress.finish(bytes: input.total)
            return result
        }
        _ = try store.put(key: request.key, body: SpooledBody(heads: heads, input: input), md5: digests.md5, options: request.options)
        progress.update(bytes: input.total)
        result.etag = try verify(size: input.total, etag: md5)
        progress.finish(bytes: input.total)
        return result
    }

    private func multipart(input: StreamInput, partSize: UInt64, filled: [(buffer: UnsafeMutableRawBufferPointer, count: Int)]) throws -> UploadResult {
        let key = request.key
        var uploadID = ""
        var stores: [(any ObjectStore)?] = Array(repeating: nil, count: request.concurrency)
        var cleanup: Int?
        if !request.dryRun {
            // Connections first: once the upload exists, nothing may fail before the abort is armed.
            stores = try (0..<request.concurrency).map { _ in try store.clone() }
            let aborter = StoreBox(try store.clone())
            var options = request.options
            options.partSize = partSize
            // Recorded at the start (metadata cannot be added later): s3get recomputes the
            // multipart ETag from the content with it.
            options.metadata[ObjectMetadata.partSize] = String(partSize)
            uploadID = try store.createUpload(key: key, options: options)
            let id = uploadID
            cleanup = Interrupts.shared.add { try? aborter.store?.abortUpload(key: key, uploadID: id) }
        }
        defer { if let cleanup { Interrupts.shared.remove(cleanup) } }
        let abort = { [store] in
            if !request.dryRun { try? store.abortUpload(key: key, uploadID: uploadID) }
        }
        let pipeline = PartPipeline(partSize: Int(partSize), concurrency: request.concurrency, filled: filled.map(\.buffer), progress: progress)
        pipeline.start(stores: stores, key: key, uploadID: uploadID)
        var number = 0
        var readError: (any Error)?
        do {
            // The parts already in memory go first; reading continues while the last was full.
            var lastFull = true
            for part in filled {
                guard part.count > 0 else { pipeline.release(part.buffer); continue }
                number += 1
                pipeline.submit(PartJob(number: number, buffer: part.buffer, count: part.count, md5: input.takePartDigest()))
                lastFull = part.count == Int(partSize)
            }
            while lastFull {
                guard let buffer = pipeline.acquire() else { break }
                let (n, md5) = try input.nextPart(into: buffer)
                if n == 0 {
                    pipeline.release(buffer)
                    break
                }
                number += 1
                guard number <= MultipartLimits.maximumParts else {
                    pipeline.release(buffer)
                    throw ToolError("\(store.describe(key: key)): the stream needs more than \(MultipartLimits.maximumParts) parts of \(partSize) bytes; use a larger --part-size")
                }
                pipeline.submit(PartJob(number: number, buffer: buffer, count: n, md5: md5))
                lastFull = n == Int(partSize)
            }
        } catch {
            readError = error
        }
        let parts: (digests: [[UInt8]], parts: [CompletedPart])
        do {
            parts = try pipeline.finish()
            if let readError { throw readError }
            // Every part is stored: the displays say the upload is being completed.
            progress.updateNow(bytes: input.total, extra: ["parts": String(parts.parts.count)])
            try awaitCommit(abort: abort)
        } catch {
            abort()
            throw error
        }
        let digests = input.digests()
        let etag = ETag.multipart(partDigests: parts.digests)
        var result = UploadResult(bucket: store.bucket, key: key, size: input.total, md5: hex(digests.md5), etag: etag,
                                  parts: parts.parts.count, partSize: partSize, skipped: false, sha256: digests.sha256)
        if request.dryRun {
            progress.finish(bytes: input.total)
            return result
        }
        do {
            try store.completeUpload(key: key, uploadID: uploadID, parts: parts.parts)
        } catch {
            abort()
            throw error
        }
        result.etag = try verify(size: input.total, etag: etag)
        progress.finish(bytes: input.total)
        return result
    }

    /// Holds completion until the commit gate opens; a closed gate aborts.
    private func awaitCommit(abort: (() -> Void)?) throws {
        guard let gate = request.commitGate else { return }
        if !gate.awaitCommit() {
            abort?()
            throw ToolError.consequence("\(store.describe(key: request.key)): not committed (no \"commit\" on descriptor \(gate.fd)); nothing was stored")
        }
    }

    /// HEADs the new object and checks size and ETag; returns the ETag the store reports.
    private func verify(size: UInt64, etag: String) throws -> String {
        guard let info = try store.head(key: request.key) else {
            throw ToolError("\(store.describe(key: request.key)): the object is missing right after the upload")
        }
        guard info.size == size else {
            throw ToolError("\(store.describe(key: request.key)): the store reports \(info.size) bytes, \(size) were sent")
        }
        if info.etagIsContentDigest && info.etag != etag {
            throw ToolError("\(store.describe(key: request.key)): the store reports ETag \(info.etag), expected \(etag)")
        }
        return info.etag
    }
}
