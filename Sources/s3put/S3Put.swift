import ArgumentParser
import ObjectStore
import StorageOptions
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

@main
struct S3Put: Tool {
    static let configuration = CommandConfiguration(
        commandName: "s3put",
        abstract: "Upload standard input as one object and print one JSON result line.",
        discussion: """
            Streams up to --multipart-threshold go as one PUT with Content-MD5; larger ones as a multipart \
            upload whose parts leave while the input still arrives. After completion a HEAD verifies size and \
            ETag. On failure or interruption an open multipart upload is aborted. Credentials come from \
            ARCHIVE_S3_ACCESS_KEY/ARCHIVE_S3_SECRET_KEY, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the shared \
            credentials file, never from the command line. The result line is documented in s3put(1).
            """,
        version: PGArchive.versionLine("s3put"))

    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("The object key.", valueName: "key"))
    var key: String?

    @Option(help: ArgumentHelp("Multipart part size (5MiB to 5GiB; grown to fit 10,000 parts when the size is known).", valueName: "size"))
    var partSize = ByteSize(bytes: 16 << 20)

    @Option(help: ArgumentHelp("The stream's expected size, when stdin is not a file: parts grow so that it fits 10,000 of them.",
                               valueName: "size"))
    var sizeHint: ByteSize?

    @Option(help: ArgumentHelp("Parts uploaded at once (1 to 64).", valueName: "n"))
    var concurrency = 4

    @Option(help: ArgumentHelp("Streams up to this size go as a single PUT.", valueName: "size"))
    var multipartThreshold = ByteSize(bytes: 100 << 20)

    @Option(help: ArgumentHelp("Content type of the object (default application/octet-stream).", valueName: "type"))
    var contentType: String?

    @Option(help: ArgumentHelp("Server-side encryption: AES256 or aws:kms.", valueName: "mode"))
    var sse: String?

    @Option(help: ArgumentHelp("The KMS key for --sse aws:kms.", valueName: "id"))
    var sseKmsKeyId: String?

    @Option(help: ArgumentHelp("Storage class (STANDARD, STANDARD_IA, …).", valueName: "class"))
    var storageClass: String?

    @Option(help: ArgumentHelp("User metadata NAME=VALUE, sent as x-amz-meta-NAME (repeatable).", valueName: "name=value"))
    var metadata: [String] = []

    @Flag(help: "Also compute the SHA-256 of the object and report it.")
    var sha256 = false

    @Flag(help: "Skip the upload when the object exists with the same size and ETag.")
    var ifDifferent = false

    @Flag(help: "Only compare the input with the object (size and ETag); upload and keep nothing.")
    var compare = false

    @Option(help: ArgumentHelp("After EOF, complete only once 'commit' is read from this descriptor; anything else aborts.", valueName: "fd"))
    var commitFd: Int32?

    @Flag(help: ArgumentHelp("Upload each frame of a framed stream as its own object (docs/framing.md): the key and optional size_hint, metadata and compare come from the frame's header; one result line per frame, with its id."))
    var framed = false

    @Flag(help: "Read and digest the input, upload nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Instead of uploading: abort the incomplete multipart uploads under this key prefix.", valueName: "prefix"))
    var abortIncomplete: String?

    @Option(help: ArgumentHelp("With --abort-incomplete: only uploads started at least this long ago (e.g. 3600, 90m, 6h, 2d).", valueName: "duration"))
    var olderThan: Duration?

    @Option(help: ArgumentHelp("With --abort-incomplete: abort the uploads of the keys listed in this file (one per line, - for standard input), and of other keys only when --older-than says so.", valueName: "file"))
    var keysFrom: String?

    func validate() throws {
        if framed && (key != nil || abortIncomplete != nil || compare) {
            throw ValidationError("--framed takes each key from its frame's header: --key, --compare and --abort-incomplete do not apply")
        }
        if abortIncomplete == nil && key == nil && !framed { throw ValidationError("missing --key") }
        if abortIncomplete != nil && key != nil { throw ValidationError("--abort-incomplete and --key exclude each other") }
        if olderThan != nil && abortIncomplete == nil { throw ValidationError("--older-than needs --abort-incomplete") }
        if keysFrom != nil && abortIncomplete == nil { throw ValidationError("--keys-from needs --abort-incomplete") }
        if compare && (ifDifferent || dryRun) { throw ValidationError("--compare excludes --if-different and --dry-run (it uploads nothing)") }
        if key?.isEmpty == true { throw ValidationError("--key is empty") }
        guard (MultipartLimits.minimumPartSize...MultipartLimits.maximumPartSize).contains(partSize.bytes) else {
            throw ValidationError("--part-size must be between 5MiB and 5GiB")
        }
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 64") }
        if let sse, sse != "AES256" && sse != "aws:kms" { throw ValidationError("--sse must be AES256 or aws:kms") }
        if sseKmsKeyId != nil && sse != "aws:kms" { throw ValidationError("--sse-kms-key-id needs --sse aws:kms") }
        _ = try parsedMetadata()
    }

    func parsedMetadata() throws -> [String: String] { try Self.parseMetadata(metadata) }

    /// `NAME=VALUE` items as metadata, checked.
    static func parseMetadata(_ items: [String]) throws -> [String: String] {
        var pairs: [String: String] = [:]
        for item in items {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("--metadata \"\(item)\": expected NAME=VALUE")
            }
            let name = item[..<eq].lowercased()
            let value = String(item[item.index(after: eq)...])
            guard name.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "_" || $0 == "." }) else {
                throw ValidationError("--metadata \"\(item)\": names are letters, digits, -, _ and .")
            }
            guard value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7f }) else {
                throw ValidationError("--metadata \"\(item)\": values are printable ASCII")
            }
            pairs[name] = value
        }
        return pairs
    }

    func run() throws {
        initializeObjectStores()
        let environment = StoreOptions.processEnvironment()
        let bucket = try store.openStore(environment: environment, onRetry: store.progress(stage: "s3put").retryReporter())
        let out = FileSink.standardOutput()
        if let prefix = abortIncomplete {
            let uploads: [PendingUpload]
            if let keysFrom {
                let own = try Set(FileSource.nonEmptyLines(of: keysFrom))
                let all = try bucket.listUploads(prefix: prefix)
                let stale = olderThan.map { Set(IncompleteUploads.started(all, atLeast: $0.seconds).map(\.uploadID)) } ?? []
                uploads = all.filter { own.contains($0.key) || stale.contains($0.uploadID) }
            } else {
                uploads = try IncompleteUploads.find(store: bucket, prefix: prefix, olderThan: olderThan?.seconds ?? 0)
            }
            for upload in uploads {
                try bucket.abortUpload(key: upload.key, uploadID: upload.uploadID)
                try out.write(StoreJSON.upload(upload, aborted: true) + "\n")
            }
            try out.flush()
            return
        }
        if framed { return try uploadFrames(bucket, environment: environment) }
        var st = stat()
        let sizeHint = fstat(0, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? UInt64(st.st_size) : self.sizeHint?.bytes
        var request = UploadRequest(
            key: key!,
            options: PutOptions(contentType: contentType, serverSideEncryption: sse, kmsKeyID: sseKmsKeyId,
                                storageClass: storageClass, metadata: try parsedMetadata()),
            partSize: partSize.bytes, concurrency: concurrency, multipartThreshold: multipartThreshold.bytes,
            sha256: sha256, ifDifferent: ifDifferent, commitGate: commitFd.map { CommitGate(fd: $0) }, dryRun: dryRun,
            sizeHint: sizeHint, temporaryDirectory: environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp")
        request.compareOnly = compare
        let result = try Uploader(store: bucket, request: request, progress: store.progress(stage: "s3put"))
            .run(source: .standardInput)
        try out.write(result.jsonLine + "\n")
        try out.flush()
    }
}

extension S3Put {
    /// `--framed`: each frame of standard input as its own object, one result line per frame.
    /// A failure confined to a frame (its upload, or a failed end record from an earlier stage)
    /// gives that frame an error line; only the streams themselves breaking stop the tool.
    func uploadFrames(_ bucket: any ObjectStore, environment: [String: String]) throws {
        let reader = FrameReader(input: .standardInput)
        let out = FileSink.standardOutput()
        let progress = store.progress(stage: "s3put")
        let temporary = environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        while let frame = try reader.next() {
            let frameProgress = progress.forFrame(frame.id)
            let fields = frame.header.fields
            let key = fields["key"]?.string
            let verdict = CommitGate.Verdict()
            var line: String
            do {
                guard let key, !key.isEmpty else { throw ToolError("the frame's header has no \"key\"") }
                var extra: [String] = []
                if case .object(let pairs)? = fields["metadata"] {
                    for (name, value) in pairs.sorted(by: { $0.key < $1.key }) {
                        guard let text = value.string else { throw ToolError("metadata \"\(name)\" in the frame's header is not a string") }
                        extra.append("\(name)=\(text)")
                    }
                }
                let pairs: [String: String]
                do { pairs = try Self.parseMetadata(metadata + extra) } catch let error as ValidationError { throw ToolError(error.message) }
                var request = UploadRequest(
                    key: key,
                    options: PutOptions(contentType: contentType, serverSideEncryption: sse, kmsKeyID: sseKmsKeyId,
                                        storageClass: storageClass, metadata: pairs),
                    partSize: partSize.bytes, concurrency: concurrency, multipartThreshold: multipartThreshold.bytes,
                    sha256: sha256, ifDifferent: ifDifferent, commitGate: commitFd.map { CommitGate(fd: $0, record: verdict) },
                    dryRun: dryRun, sizeHint: fields["size_hint"]?.unsigned ?? sizeHint?.bytes, temporaryDirectory: temporary)
                request.compareOnly = fields["compare"]?.bool ?? false
                let result = try Uploader(store: bucket, request: request, progress: frameProgress).run(source: frame.source)
                line = "{\"id\":\(JSON.quote(frame.id)),\(result.jsonLine.dropFirst())"
            } catch {
                if let broken = frame.streamError { throw broken }
                if frame.end == nil { try frame.skipRest() }
                if let broken = frame.streamError { throw broken }
                // Exactly one verdict per frame, whatever became of it.
                if let commitFd, !verdict.read { _ = CommitGate(fd: commitFd, record: verdict).awaitCommit() }
                let failure = frame.upstreamFailure
                let stage = failure.map { $0.end.stage ?? "an earlier stage" } ?? "s3put"
                let message = failure.map { $0.end.error ?? "failed" } ?? FramedFilter.message(error)
                let declined = verdict.read && !verdict.committed && failure == nil
                if failure == nil && !declined { writeStandardError("s3put: error: frame \(frame.id): \(message)\n") }
                frameProgress.failFrame(message)
                line = "{\"id\":\(JSON.quote(frame.id)),\"key\":\(JSON.quote(key ?? "")),\"error\":\(JSON.quote(message)),\"stage\":\(JSON.quote(stage))"
                if declined { line += ",\"declined\":true" }
                line += "}"
            }
            try out.write(line + "\n")
            try out.flush()
        }
    }
}
