import Foundation
import Testing
import TestSupport

/// s3put/s3get encryption and storage options against moto: SSE-KMS and the storage class as
/// boto3's head_object reports them, SSE-C as the requests carry it (moto records no SSE-C, so
/// credstub.py's proxy logs the key MD5 header of every request).
@Suite("encryption and storage options")
struct EncryptionTests {
    static let kmsKey = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"

    /// boto3's head_object of `key` as JSON.
    static func head(_ s3: S3Service, bucket: String, key: String) throws -> [String: Any] {
        let script = """
            import boto3, json, sys
            h = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1").head_object(Bucket=sys.argv[2], Key=sys.argv[3])
            print(json.dumps({k: h.get(k) for k in ["ServerSideEncryption", "SSEKMSKeyId", "StorageClass", "ContentLength"]}))
            """
        let result = try run("python3", ["-c", script, s3.endpoint, bucket, key], environment: s3.environment)
        guard result.status == 0 else { throw TestFailure("head_object failed: \(result.err)") }
        return try JSONSerialization.jsonObject(with: result.stdout) as! [String: Any]
    }

    @Test("--sse aws:kms, --sse-kms-key-id and --storage-class reach the object, single PUT and multipart")
    func kmsAndStorageClass() throws {
        let bucket = try Bucket(.s3)
        let s3 = try Services.requireS3()
        for (key, size) in [("small", 1000), ("large", 12 << 20)] {
            let input = try randomFile(bucket.scratch, key, size: size)
            let put = try bucket.put(["--key", key, "--sse", "aws:kms", "--sse-kms-key-id", Self.kmsKey, "--storage-class", "STANDARD_IA",
                                      "--part-size", "5MiB", "--multipart-threshold", "10MiB"], input: input)
            #expect(put.status == 0, "\(put.err)")
            let head = try Self.head(s3, bucket: bucket.name, key: key)
            #expect(head["ServerSideEncryption"] as? String == "aws:kms", "\(key): \(head)")
            #expect(head["SSEKMSKeyId"] as? String == Self.kmsKey, "\(key): \(head)")
            #expect(head["StorageClass"] as? String == "STANDARD_IA", "\(key): \(head)")
            #expect(head["ContentLength"] as? Int == size)
        }
        let aes = try bucket.put(["--key", "aes", "--sse", "AES256"], input: try randomFile(bucket.scratch, "aes", size: 100))
        #expect(aes.status == 0, "\(aes.err)")
        #expect(try Self.head(s3, bucket: bucket.name, key: "aes")["ServerSideEncryption"] as? String == "AES256")
    }

    @Test("SSE-C: the key file's key goes with every PUT, CreateMultipartUpload, UploadPart, GET and HEAD, never in argv")
    func customerKey() throws {
        let s3 = try Services.requireS3()
        let bucket = try s3.createBucket(prefix: "ssec")
        let scratch = try TemporaryDirectory()
        let log = scratch.path("proxy.log")
        let proxy = try HelperProcess([helper("credstub.py"), s3.endpoint, log, "3600"])
        let endpoint = "http://127.0.0.1:\(proxy.firstLine)"
        // A base64 key file (the raw 32 bytes work too).
        let key = (0..<32).map { UInt8(($0 * 37 + 11) % 256) }
        let keyFile = scratch.path("key")
        try Data(key).base64EncodedString().write(toFile: keyFile, atomically: true, encoding: .utf8)
        let rawKeyFile = scratch.path("raw-key")
        try Data(key).write(to: URL(fileURLWithPath: rawKeyFile))
        let keyMD5 = try run("python3", ["-c", "import base64,hashlib,sys; print(base64.b64encode(hashlib.md5(open(sys.argv[1],'rb').read()).digest()).decode())",
                                         rawKeyFile]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        let input = try randomFile(scratch, "input", size: 12 << 20)
        let location = ["--endpoint", endpoint, "--bucket", bucket, "--region", "us-east-1"]
        let put = try run(Package.tool("s3put"), location + ["--key", "secret", "--sse-customer-key-file", keyFile, "--part-size", "5MiB",
                                                             "--multipart-threshold", "5MiB"], stdinFile: input, environment: s3.environment)
        #expect(put.status == 0, "\(put.err)")
        let out = scratch.path("out")
        let get = try run(Package.tool("s3get"), location + ["--key", "secret", "--sse-customer-key-file", rawKeyFile, "-o", out],
                          environment: s3.environment)
        #expect(get.status == 0, "\(get.err)")
        #expect(try sameBytes(input, out))
        let head = try run(Package.tool("s3get"), location + ["--key", "secret", "--head", "--sse-customer-key-file", keyFile],
                           environment: s3.environment)
        #expect(head.status == 0, "\(head.err)")
        let requests = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        func carries(_ method: String, _ pathPart: String) -> [Bool] {
            requests.filter { $0["method"] as? String == method && ($0["path"] as! String).contains(pathPart) }.map { $0["ssec"] as? String == keyMD5 }
        }
        #expect(carries("POST", "?uploads") == [true], "CreateMultipartUpload")
        #expect(carries("PUT", "partNumber=").count == 3 && carries("PUT", "partNumber=").allSatisfy { $0 }, "UploadPart")
        #expect(!carries("HEAD", "secret").isEmpty && carries("HEAD", "secret").allSatisfy { $0 }, "HEAD")
        #expect(carries("GET", "secret") == [true], "GET")
        // CompleteMultipartUpload, listing and abort carry no key.
        #expect(carries("POST", "uploadId=").allSatisfy { !$0 })
        for result in [put, get, head] { #expect(!result.err.contains(Data(key).base64EncodedString())) }
        // Refused where it cannot work; a key of the wrong size is an error.
        let store = scratch.path("store")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        let file = try run(Package.tool("s3put"), ["--endpoint", "file://" + store, "--bucket", "b", "--key", "k", "--sse-customer-key-file", keyFile],
                           stdin: Data("x".utf8))
        #expect(file.status == 2 && file.err.contains("file:// store does not encrypt"), "\(file.err)")
        let shortKey = scratch.path("short")
        try "tooshort".write(toFile: shortKey, atomically: true, encoding: .utf8)
        let short = try run(Package.tool("s3put"), location + ["--key", "k", "--sse-customer-key-file", shortKey], stdin: Data("x".utf8),
                            environment: s3.environment)
        #expect(short.status == 1 && short.err.contains("holds neither 32 bytes nor the base64 of 32 bytes"), "\(short.err)")
        withExtendedLifetime(proxy) {}
    }

    @Test("opaque ETags (ssestore.py gives SSE-KMS and SSE-C objects AWS's non-MD5 ETags): uploads succeed, s3get checks the length only, --compare says not comparable",
          arguments: ["kms", "ssec"])
    func opaqueETags(mode: String) throws {
        let s3 = try Services.requireS3()
        let bucket = try s3.createBucket(prefix: "opaque")
        let scratch = try TemporaryDirectory()
        let proxy = try HelperProcess([helper("ssestore.py"), s3.endpoint, scratch.path("proxy.log")])
        let location = ["--endpoint", "http://127.0.0.1:\(proxy.firstLine)", "--bucket", bucket, "--region", "us-east-1"]
        var encryption = ["--sse", "aws:kms"]
        if mode == "ssec" {
            let keyFile = scratch.path("key")
            try Data((0..<32).map { UInt8($0 * 3) }).base64EncodedString().write(toFile: keyFile, atomically: true, encoding: .utf8)
            encryption = ["--sse-customer-key-file", keyFile]
        }
        let reading = mode == "ssec" ? encryption : []
        for (key, size) in [("small", 1000), ("large", 12 << 20)] {
            let input = try randomFile(scratch, key, size: size)
            let md5 = try run("md5sum", [input]).out.split(separator: " ")[0]
            let parts = ["--part-size", "5MiB", "--multipart-threshold", "10MiB"]
            let put = try run(Package.tool("s3put"), location + ["--key", key] + encryption + parts, stdinFile: input, environment: s3.environment)
            #expect(put.status == 0, "\(key): \(put.err)")
            let result = try JSONSerialization.jsonObject(with: put.stdout) as! [String: Any]
            let etag = try #require(result["etag"] as? String)
            #expect(result["md5"] as? String == String(md5) && !etag.hasPrefix(String(md5)), "\(key): \(result)")
            #expect(etag.hasSuffix("-3") == (size > 10 << 20), "\(key): \(etag)")
            let head = try run(Package.tool("s3get"), location + ["--key", key, "--head"] + reading, environment: s3.environment)
            #expect(head.status == 0 && head.out.contains("\"etag_is_digest\":false") && head.out.contains("\"etag\":\"\(etag)\""), "\(head.out)\(head.err)")
            let out = scratch.path("\(key).out")
            let get = try run(Package.tool("s3get"), location + ["--key", key, "-o", out] + reading, environment: s3.environment)
            #expect(get.status == 0, "\(key): \(get.err)")
            #expect(get.err.contains("content not checked against the ETag: its ETag is not a digest of its content"), "\(get.err)")
            #expect(try sameBytes(input, out))
            let compare = try run(Package.tool("s3put"), location + ["--key", key, "--compare"] + encryption + parts, stdinFile: input,
                                  environment: s3.environment)
            #expect(compare.status == 0, "\(compare.err)")
            let compared = try JSONSerialization.jsonObject(with: compare.stdout) as! [String: Any]
            #expect(compared["skipped"] as? Bool == false && compared["comparable"] as? Bool == false, "\(compared)")
            #expect(compared["object_etag"] as? String == etag && compared["object_size"] as? Int == size, "\(compared)")
        }
        if mode == "ssec" {
            // Without the key the store refuses to describe the object (as AWS does).
            let head = try run(Package.tool("s3get"), location + ["--key", "small", "--head"], environment: s3.environment)
            #expect(head.status != 0, "\(head.out)")
        }
        // An ordinary object next to them is still compared by its ETag.
        let plain = try randomFile(scratch, "plain", size: 2000)
        #expect(try run(Package.tool("s3put"), location + ["--key", "plain"], stdinFile: plain, environment: s3.environment).status == 0)
        let same = try run(Package.tool("s3put"), location + ["--key", "plain", "--compare"], stdinFile: plain, environment: s3.environment)
        #expect(same.out.contains("\"skipped\":true") && !same.out.contains("comparable"), "\(same.out)")
        withExtendedLifetime(proxy) {}
    }
}
