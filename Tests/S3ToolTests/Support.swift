import Foundation
import Testing
import TestSupport

/// Where a test stores objects: the moto S3 endpoint or a file:// directory.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case s3
    case file

    var testDescription: String { rawValue }

    /// Both backends when the S3 service is there; the file store always.
    static var available: [Backend] { Services.s3Enabled ? [.s3, .file] : [.file] }
}

/// A fresh bucket on one backend, with what the tools need to reach it.
final class Bucket: @unchecked Sendable {
    let backend: Backend
    let endpoint: String
    let name: String
    let environment: [String: String]
    /// Scratch space for the test (inputs, outputs) and, for file://, the store itself.
    let scratch: TemporaryDirectory

    init(_ backend: Backend) throws {
        self.backend = backend
        scratch = try TemporaryDirectory()
        switch backend {
        case .s3:
            let s3 = try Services.requireS3()
            endpoint = s3.endpoint
            name = try s3.createBucket()
            environment = s3.environment
        case .file:
            try FileManager.default.createDirectory(atPath: scratch.path("store"), withIntermediateDirectories: true)
            endpoint = "file://" + scratch.path("store")
            name = "bucket"
            environment = [:]
        }
    }

    /// `--endpoint … --bucket …` for the tools.
    var location: [String] { ["--endpoint", endpoint, "--bucket", name] }

    /// Runs s3put with `arguments` on `input` (a file path).
    func put(_ arguments: [String], input: String, environment extra: [String: String] = [:]) throws -> ProcessResult {
        try run(Package.tool("s3put"), location + arguments, stdinFile: input, environment: environment.merging(extra) { $1 })
    }

    /// Runs s3get with `arguments`.
    func get(_ arguments: [String], stdoutFile: String? = nil) throws -> ProcessResult {
        try run(Package.tool("s3get"), location + arguments, stdoutFile: stdoutFile, environment: environment)
    }

    /// Fetches `key` with an independent reader (boto3 for S3, the file itself for file://)
    /// into `out`; returns the ETag and metadata the store reports.
    func independentFetch(key: String, to out: String, partSize: Int) throws -> (etag: String, metadata: [String: String]) {
        switch backend {
        case .s3:
            let result = try run("python3", [helper("s3helper.py"), "download", endpoint, name, key, out], environment: environment)
            guard result.status == 0 else { throw TestFailure("boto3 download of \(key) failed: \(result.err)") }
            let json = try JSONSerialization.jsonObject(with: result.stdout) as! [String: Any]
            return (json["etag"] as! String, json["metadata"] as? [String: String] ?? [:])
        case .file:
            let path = scratch.path("store") + "/\(name)/\(key)"
            try FileManager.default.copyItem(atPath: path, toPath: out)
            let meta = scratch.path("store") + "/.meta/\(name)/\(key).json"
            let json = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: meta)))) as? [String: Any]
            return (try referenceETag(file: out, partSize: partSize), json?["metadata"] as? [String: String] ?? [:])
        }
    }

    /// Whether an object exists, asked independently.
    func exists(_ key: String) throws -> Bool {
        switch backend {
        case .s3:
            let result = try run("python3", [helper("s3helper.py"), "exists", endpoint, name, key], environment: environment)
            return result.out.contains("true")
        case .file:
            return FileManager.default.fileExists(atPath: scratch.path("store") + "/\(name)/\(key)")
        }
    }

    /// Multipart uploads in progress, asked independently.
    func pendingUploads() throws -> Int {
        switch backend {
        case .s3:
            let result = try run("python3", [helper("s3helper.py"), "uploads", endpoint, name], environment: environment)
            let json = try JSONSerialization.jsonObject(with: result.stdout) as! [String: Any]
            return (json["uploads"] as! [Any]).count
        case .file:
            let dir = scratch.path("store") + "/.uploads/\(name)"
            return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).count
        }
    }

    /// Frees the server's memory for a large object.
    func delete(_ key: String) {
        if backend == .s3 {
            _ = try? run("python3", [helper("s3helper.py"), "delete", endpoint, name, key], environment: environment)
        }
    }
}

/// The path of a test helper script.
func helper(_ name: String) -> String {
    Package.root.appendingPathComponent("Tests/S3ToolTests/helpers/\(name)").path
}

/// A file of `size` random bytes.
func randomFile(_ dir: TemporaryDirectory, _ name: String, size: Int) throws -> String {
    let path = dir.path(name)
    let result = try shell("head -c \(size) /dev/urandom > '\(path)'")
    guard result.status == 0 else { throw TestFailure("could not make \(path): \(result.err)") }
    return path
}

/// The ETag S3 gives `file` uploaded with `partSize` (0: single PUT), computed by Python's hashlib.
func referenceETag(file: String, partSize: Int) throws -> String {
    let script = """
        import hashlib, sys
        path, part = sys.argv[1], int(sys.argv[2])
        data = open(path, 'rb')
        if part == 0:
            print(hashlib.md5(data.read()).hexdigest())
        else:
            digests = []
            while True:
                chunk = data.read(part)
                if not chunk and digests: break
                digests.append(hashlib.md5(chunk).digest())
                if len(chunk) < part: break
            print(hashlib.md5(b''.join(digests)).hexdigest() + '-' + str(len(digests)))
        """
    return try run("python3", ["-c", script, file, String(partSize)]).out.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// The MD5 of a file, by md5sum.
func md5sum(_ path: String) throws -> String {
    String(try run("md5sum", [path]).out.prefix(32))
}

/// Whether two files are byte-identical, by cmp.
func sameBytes(_ a: String, _ b: String) throws -> Bool {
    try run("cmp", ["-s", a, b]).status == 0
}

/// The one JSON object on a tool's stdout.
func resultLine(_ result: ProcessResult) throws -> [String: Any] {
    let lines = result.out.split(separator: "\n")
    guard result.status == 0, lines.count == 1 else {
        throw TestFailure("expected one result line, status 0; got \(result.status): \(result.out) \(result.err)")
    }
    return try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
}

