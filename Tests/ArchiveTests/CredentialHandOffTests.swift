import Foundation
import Testing
import TestSupport

/// data-archiver resolves the credential chain once and hands the keys to its s3put/s3get children.
@Suite("credential hand-off")
struct CredentialHandOffTests {
    @Test("container credentials are fetched once by data-archiver; every S3 request of its children is signed with them")
    func resolvedOnce() throws {
        let fixture = try ArchiveFixture(days: 3, rowsPerDay: 200)
        let log = fixture.home.path("stub.log")
        // credstub.py (S3ToolTests' helper): container credentials plus a proxy to moto that logs
        // the access key of every request.
        let stub = Process()
        stub.executableURL = URL(fileURLWithPath: try which("python3"))
        stub.arguments = [Package.root.appendingPathComponent("Tests/S3ToolTests/helpers/credstub.py").path, fixture.s3.endpoint, log, "3600",
                          "Bearer hand-off"]
        let input = Pipe()
        let output = Pipe()
        stub.standardInput = input
        stub.standardOutput = output
        try stub.run()
        defer { try? input.fileHandleForWriting.close(); stub.waitUntilExit() }
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line += byte
        }
        let proxy = "http://127.0.0.1:\(String(decoding: line, as: UTF8.self))"
        let env = ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_EC2_METADATA_DISABLED": "true",
                   "AWS_CONTAINER_CREDENTIALS_FULL_URI": proxy + "/container/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer hand-off"]
        let first = try fixture.archive([], flags: fixture.flags(endpoint: proxy), env: env)
        #expect(first.status == 0, "\(first.err)")
        // A rerun with an empty cache reads every slice's manifest (s3get --keys-from): signed too.
        try? FileManager.default.removeItem(atPath: fixture.home.path("cache"))
        let second = try fixture.archive(["--debug"], flags: fixture.flags(endpoint: proxy), env: env)
        #expect(second.status == 0, "\(second.err)")
        #expect(!second.err.contains("stubsecret") && !second.out.contains("stubsecret"), "a secret reached the log")
        let requests = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let fetches = requests.filter { $0["kind"] as? String == "container" }
        let signed = requests.filter { $0["kind"] as? String == "s3" }
        #expect(fetches.count == 2, "one fetch per data-archiver run: \(fetches.count)")
        #expect(signed.count > 6)
        #expect(Set(signed.compactMap { $0["key"] as? String }) == ["STUBKEY1", "STUBKEY2"], "\(Set(signed.map { "\($0["key"] ?? "nil")" }))")
        #expect(signed.allSatisfy { $0["key"] is String }, "an unsigned request")
    }
}

/// data-archiver's encryption and storage settings reach every object it writes.
@Suite("archive encryption settings")
struct ArchiveEncryptionTests {
    @Test("--s3-sse aws:kms, --s3-sse-kms-key-id, --s3-storage-class (flags, variables) on every object and sidecar; a rerun skips")
    func kms() throws {
        let fixture = try ArchiveFixture(days: 2, rowsPerDay: 300)
        let kmsKey = "arn:aws:kms:us-east-1:123456789012:key/abcd"
        let first = try fixture.archive(["--s3-sse", "aws:kms", "--s3-storage-class", "STANDARD_IA", "--s3-path-style"],
                                        env: ["ARCHIVE_S3_SSE_KMS_KEY_ID": kmsKey])
        #expect(first.status == 0, "\(first.err)")
        let objects = try fixture.objects()
        #expect(objects.count == 5, "two days, their manifests and the schema sidecar: \(objects.keys.sorted())")
        let script = """
            import boto3, json, sys
            s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
            print(json.dumps({k: [s3.head_object(Bucket=sys.argv[2], Key=k).get(f) for f in ["ServerSideEncryption", "SSEKMSKeyId", "StorageClass"]]
                              for k in sys.argv[3:]}))
            """
        let heads = try run("python3", ["-c", script, fixture.s3.endpoint, fixture.bucket] + objects.keys.sorted(), environment: fixture.s3.environment)
        let parsed = try JSONSerialization.jsonObject(with: heads.stdout) as! [String: [String]]
        for (key, fields) in parsed { #expect(fields == ["aws:kms", kmsKey, "STANDARD_IA"], "\(key): \(fields)") }
        let again = try fixture.archive(["--s3-sse", "aws:kms", "--s3-storage-class", "STANDARD_IA", "--log-format", "json"],
                                        env: ["ARCHIVE_S3_SSE_KMS_KEY_ID": kmsKey])
        #expect(again.status == 0, "\(again.err)")
        #expect(again.err.contains("\"skipped\":2"), "\(again.err)")
        let wrong = try fixture.archive(["--s3-sse-kms-key-id", kmsKey])
        #expect(wrong.status == 2 && wrong.err.contains("needs --s3-sse aws:kms"), "\(wrong.err)")
    }
}
