import ArgumentParser
import FoundationEssentials
import ObjectStore
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// The command-line edge shared by s3put and s3get: where the bucket is and how to reach it.
///
/// Precedence: flag, then `ARCHIVE_S3_*`, then `AWS_*`. This is the one place that reads the
/// process environment for the object-store tools; the library gets plain values.
public struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp("S3 endpoint URL, or file:///DIR for a local store (default: $ARCHIVE_S3_ENDPOINT, $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else AWS).", valueName: "url"))
    public var endpoint: String?

    @Option(help: ArgumentHelp("Bucket name (default: $ARCHIVE_S3_BUCKET).", valueName: "name"))
    public var bucket: String?

    @Option(help: ArgumentHelp("Signing region; auto asks the bucket's region once (HeadBucket), else signs as us-east-1 (default: $ARCHIVE_S3_REGION, $AWS_REGION, $AWS_DEFAULT_REGION, the AWS profile's region, else auto).", valueName: "region"))
    public var region: String?

    @Flag(help: "Address objects as ENDPOINT/BUCKET/KEY (the default for a custom endpoint).")
    public var pathStyle = false

    @Flag(help: "Address objects as BUCKET.HOST/KEY (the default for AWS).")
    public var virtualHost = false

    @Option(help: ArgumentHelp("Trust the CA certificates in this PEM file.", valueName: "file"))
    public var caBundle: String?

    @Option(help: ArgumentHelp("SSE-C: encrypt (s3put) and read (s3get) objects with the 256-bit key in this file (32 bytes, or their base64).",
                               valueName: "file"))
    public var sseCustomerKeyFile: String?

    @Option(help: ArgumentHelp("Attempts per request before a transient failure is final.", valueName: "n"))
    public var maxAttempts = 8

    @Option(help: ArgumentHelp("Write progress JSON lines to this descriptor (see docs/progress.md).", valueName: "fd"))
    public var progressFd: Int32?

    public init() {}

    public func validate() throws {
        if pathStyle && virtualHost { throw ValidationError("--path-style and --virtual-host exclude each other") }
        if maxAttempts < 1 || maxAttempts > 50 { throw ValidationError("--max-attempts must be between 1 and 50") }
        if let region, region != "auto", region.isEmpty || !region.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            throw ValidationError("--region must be auto or letters, digits, - and _")
        }
    }

    /// The environment variables these options consult.
    static let variableNames = ["ARCHIVE_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "ARCHIVE_S3_BUCKET",
                                "ARCHIVE_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION", "TMPDIR"]

    /// The values of the variables the object-store tools consult (this process's environment).
    public static func processEnvironment() -> [String: String] {
        var values: [String: String] = [:]
        for name in variableNames + CredentialSource.variableNames {
            if let value = getenv(name) { values[name] = String(cString: value) }
        }
        return values
    }

    /// Opens the bucket these options name; retries are reported through `onRetry` (see
    /// `ProgressReporter.retryReporter`).
    public func openStore(environment: [String: String],
                          onRetry: (@Sendable (Int, Int, Double, String) -> Void)? = nil) throws -> any ObjectStore {
        func first(_ names: String...) -> String? {
            names.lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        }
        guard let bucket = bucket ?? first("ARCHIVE_S3_BUCKET") else {
            throw ToolError.usage("no bucket: give --bucket or set ARCHIVE_S3_BUCKET")
        }
        let endpoint = endpoint ?? first("ARCHIVE_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
        if let endpoint, endpoint.lowercased().hasPrefix("file:") {
            guard let root = FileStore.root(ofEndpoint: endpoint) else {
                throw ToolError.usage("endpoint \"\(endpoint)\": a file endpoint is file:///absolute/dir")
            }
            if sseCustomerKeyFile != nil { throw ToolError.usage("--sse-customer-key-file needs an S3 endpoint: a file:// store does not encrypt") }
            return try FileStore(root: root, bucket: bucket)
        }
        var customerKey: [UInt8]?
        if let path = sseCustomerKeyFile {
            customerKey = try Self.customerKey(path: path)
            // S3 refuses SSE-C over plain HTTP; say so before sending the key in clear.
            if let endpoint, endpoint.lowercased().hasPrefix("http://"), endpoint.lowercased().contains("amazonaws.com") {
                throw ToolError.usage("--sse-customer-key-file needs HTTPS on AWS (endpoint \(endpoint))")
            }
        }
        let credentials = try CredentialSource.resolve(environment: environment, readFile: readTextFile)
        let region = region ?? first("ARCHIVE_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")
            ?? CredentialSource.profileRegion(environment: environment, readFile: readTextFile) ?? "auto"
        var retry = RetryPolicy(maxAttempts: maxAttempts)
        retry.onRetry = onRetry
        let settings = S3Settings(
            endpoint: endpoint, region: region,
            pathStyle: pathStyle ? true : virtualHost ? false : nil, credentials: credentials, caBundle: caBundle,
            retry: retry)
        var withKey = settings
        withKey.customerKey = customerKey
        let store = try S3Store(bucket: bucket, settings: withKey)
        // `auto`: the bucket's own region, asked once (HeadBucket), signs every request and, on
        // AWS, picks the regional endpoint; a store that does not say keeps us-east-1.
        guard region == "auto", let found = try store.reportedRegion() else { return store }
        withKey.region = found
        return try S3Store(bucket: bucket, settings: withKey)
    }

    /// The SSE-C key in `path`: exactly 32 bytes, or text whose base64 decodes to 32 bytes.
    static func customerKey(path: String) throws -> [UInt8] {
        guard let source = try? FileSource.open(path: path) else { throw ToolError("cannot read the SSE-C key file \(path)") }
        var bytes: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { buffer.deallocate() }
        while let n = try? source.read(into: buffer), n > 0, bytes.count < 4096 { bytes += buffer[0..<n] }
        if bytes.count == 32 { return bytes }
        let text = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
        guard let decoded = Data(base64Encoded: text), decoded.count == 32 else {
            throw ToolError("the SSE-C key file \(path) holds neither 32 bytes nor the base64 of 32 bytes")
        }
        return Array(decoded)
    }

    /// The progress reporter for `--progress-fd`.
    public func progress(stage: String) -> ProgressReporter { ProgressReporter(fd: progressFd, stage: stage) }
}

/// A byte count on the command line: `16777216`, `16M`, `16MiB`, `1G`, `512k` (binary units).
public struct ByteSize: ExpressibleByArgument, Sendable {
    /// The count.
    public var bytes: UInt64

    /// A size of `bytes`.
    public init(bytes: UInt64) { self.bytes = bytes }

    public init?(argument: String) {
        var text = Substring(argument.lowercased())
        for suffix in ["ib", "b"] where text.hasSuffix(suffix) { text = text.dropLast(suffix.count); break }
        var multiplier: UInt64 = 1
        if let last = text.last, let power = ["k": 10, "m": 20, "g": 30, "t": 40][String(last)] {
            multiplier = 1 << UInt64(power)
            text = text.dropLast()
        }
        guard let value = UInt64(text) else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        bytes = product
    }

    /// The size as help shows it: the largest binary unit that divides it (`16MiB`).
    public var defaultValueDescription: String {
        for (unit, power) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] where bytes >= 1 << power && bytes % (1 << power) == 0 {
            return "\(bytes >> power)\(unit)"
        }
        return String(bytes)
    }
}

/// A duration on the command line: seconds, or a number with `s`, `m`, `h` or `d`.
public struct Duration: ExpressibleByArgument, Sendable {
    /// The length in seconds.
    public var seconds: UInt64

    public init?(argument: String) {
        var text = Substring(argument.lowercased())
        var unit: UInt64 = 1
        if let last = text.last, let scale = ["s": 1, "m": 60, "h": 3600, "d": 86400][String(last)] {
            unit = UInt64(scale)
            text = text.dropLast()
        }
        guard let value = UInt64(text) else { return nil }
        seconds = value * unit
    }
}
