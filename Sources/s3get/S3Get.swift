import ArgumentParser
import ObjectStore
import StorageOptions
import ToolSupport

@main
struct S3Get: Tool {
    static let configuration = CommandConfiguration(
        commandName: "s3get",
        abstract: "Stream an object to standard output, or print its metadata or a listing as JSON lines.",
        discussion: """
            A download checks the length and the content against the ETag (the MD5 of a single-part \
            object; a multipart ETag recomputed in the part size recorded in the object's pgarchive-part-size \
            metadata; an object without it is downloaded with a warning) and resumes an interrupted transfer \
            with a Range request. A mismatch exits 1 after the last byte: a pipeline must not use the bytes \
            before s3get exited 0. --verify reads and checks the object without writing it. --head exits 3 when the object does not exist; any other failure \
            (403, network, 5xx) exits 1. --keys-from prints {"key","size","etag","text"} per key read whole \
            (up to 1 MiB, UTF-8, checked like a download) or {"key","missing":true}. Credentials as for s3put(1).
            """,
        version: PGArchive.versionLine("s3get"))

    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("The object key to download (or to --head).", valueName: "key"))
    var key: String?

    @Flag(help: "Print the object's metadata as one JSON line instead of its content; exit 3 if it does not exist.")
    var head = false

    @Flag(help: "Read the object and check its content against its ETag without writing it; print one JSON line (exit 1 on a mismatch).")
    var verify = false

    @Flag(help: "Print the region requests to the bucket are signed for as one JSON line (with --region auto: the one the bucket reports).")
    var bucketRegion = false

    @Option(help: ArgumentHelp("Print one JSON line per object whose key starts with this prefix (\"\" for all).", valueName: "prefix"))
    var list: String?

    @Option(help: ArgumentHelp("Print one JSON line per incomplete multipart upload under this key prefix.", valueName: "prefix"))
    var listUploads: String?

    @Option(help: ArgumentHelp("Read each key listed in this file (one a line, - for standard input) and print one JSON line per key with its text (small text objects: manifests, sidecars).", valueName: "file"))
    var keysFrom: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Write the object to this file (atomically) instead of standard output.", valueName: "file"))
    var output: String?

    @Flag(name: [.short, .long], help: "Write object data to a terminal anyway.")
    var force = false

    func validate() throws {
        let modes = [key != nil && !head && !verify, head, verify, list != nil, listUploads != nil, bucketRegion, keysFrom != nil].filter { $0 }.count
        if modes != 1 { throw ValidationError("give exactly one of --key, --head --key, --verify --key, --list, --list-uploads, --keys-from or --bucket-region") }
        if head && key == nil { throw ValidationError("--head needs --key") }
        if verify && key == nil { throw ValidationError("--verify needs --key") }
        if key != nil && (list != nil || listUploads != nil) { throw ValidationError("--key and --list/--list-uploads exclude each other") }
        if output != nil && (head || verify || key == nil) { throw ValidationError("--output applies to downloads only") }
    }

    func run() throws {
        if let key, !head, !verify, output == nil {
            _ = key
            try refuseBinaryToTerminal(force: force, what: "object data")
        }
        initializeObjectStores()
        let bucket = try store.openStore(environment: StoreOptions.processEnvironment(),
                                         onRetry: store.progress(stage: "s3get").retryReporter())
        let out = FileSink.standardOutput()
        if bucketRegion {
            guard let s3 = bucket as? S3Store else { throw ToolError.usage("--bucket-region needs an S3 endpoint (a file:// store has no region)") }
            try out.write("{\"bucket\":\(JSON.quote(s3.bucket)),\"region\":\(JSON.quote(s3.settings.region == "auto" ? "us-east-1" : s3.settings.region))}\n")
        } else if let keysFrom {
            for key in try FileSource.nonEmptyLines(of: keysFrom) {
                try out.write(StoreJSON.small(key: key, found: try SmallObjects.read(store: bucket, key: key)) + "\n")
            }
        } else if let prefix = list {
            try bucket.list(prefix: prefix) { try out.write(StoreJSON.listed($0) + "\n") }
        } else if let prefix = listUploads {
            for upload in try bucket.listUploads(prefix: prefix) { try out.write(StoreJSON.upload(upload) + "\n") }
        } else if let key, head {
            guard let info = try bucket.head(key: key) else {
                throw ToolError("\(bucket.describe(key: key)): not found", status: .notFound)
            }
            let partSize = try bucket.partSize(key: key, info: info)
            try out.write(StoreJSON.head(bucket: bucket.bucket, key: key, info: info, partSize: partSize) + "\n")
        } else if let key, verify {
            guard let info = try bucket.head(key: key) else {
                throw ToolError("\(bucket.describe(key: key)): not found", status: .notFound)
            }
            let plan = ContentCheck.plan(for: info)
            var mismatch: String?
            do {
                _ = try Downloader(store: bucket, progress: store.progress(stage: "s3get")).run(key: key, sink: nil)
            } catch let error as ContentMismatch {
                mismatch = error.message
            }
            try out.write(StoreJSON.verified(bucket: bucket.bucket, key: key, info: info, plan: plan, mismatch: mismatch) + "\n")
            try out.flush()
            if let mismatch { throw ToolError(mismatch) }
        } else if let key {
            let downloader = Downloader(store: bucket, progress: store.progress(stage: "s3get")) { warn("s3get", $0) }
            do {
                if let output {
                    let file = try AtomicOutput(path: output)
                    _ = try downloader.run(key: key, sink: file.sink)
                    try file.commit()
                } else {
                    _ = try downloader.run(key: key, sink: out)
                }
            } catch let error as ContentMismatch {
                throw ToolError(error.message)
            }
        }
        try out.flush()
    }
}
