import Foundation
import Testing
import TestSupport

/// The credential chain of s3put and s3get against stand-ins: moto serves STS, credstub.py
/// serves instance metadata and container credentials on 127.0.0.1 and records, as a proxy in
/// front of moto, the access key that signed every S3 request.
@Suite("credential chain")
struct CredentialChainTests {
    /// Every variable the chain reads, emptied (the chain treats empty as unset), so the test
    /// process's own environment cannot leak in; instance metadata is off unless a test turns it on.
    static let cleared: [String: String] = [
        "ARCHIVE_S3_ACCESS_KEY": "", "ARCHIVE_S3_SECRET_KEY": "", "ARCHIVE_S3_SESSION_TOKEN": "", "ARCHIVE_S3_CREDENTIALS_EXPIRATION": "",
        "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "",
        "AWS_ROLE_ARN": "", "AWS_ROLE_SESSION_NAME": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_ENDPOINT_URL_STS": "", "AWS_ENDPOINT_URL": "",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "", "AWS_EC2_METADATA_DISABLED": "true", "AWS_EC2_METADATA_SERVICE_ENDPOINT": "",
    ]

    /// moto, the stub in front of it, a bucket and a scratch folder.
    final class Stand: @unchecked Sendable {
        let s3: S3Service
        let bucket: String
        let scratch: TemporaryDirectory
        let log: String
        let stub: HelperProcess
        var stubURL: String { "http://127.0.0.1:\(stub.firstLine)" }

        init(lifetime: Int = 3600, auth: String = "Bearer container-secret") throws {
            s3 = try Services.requireS3()
            bucket = try s3.createBucket(prefix: "cred")
            scratch = try TemporaryDirectory()
            log = scratch.path("stub.log")
            stub = try HelperProcess([helper("credstub.py"), s3.endpoint, log, String(lifetime), auth])
        }

        /// Runs s3put through the stub's proxy with `environment` over the cleared chain.
        func put(_ key: String, _ environment: [String: String], input: String? = nil) throws -> ProcessResult {
            let file = try input ?? randomFile(scratch, "in-\(key)", size: 1000)
            return try run(Package.tool("s3put"), ["--endpoint", stubURL, "--bucket", bucket, "--key", key, "--region", "us-east-1"],
                           stdinFile: file, environment: CredentialChainTests.cleared.merging(environment) { $1 })
        }

        /// The stub's log lines.
        func requests() throws -> [[String: Any]] {
            guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
            return try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        }

        /// The access keys that signed S3 requests (nil: unsigned), in order.
        func signingKeys() throws -> [String?] {
            try requests().filter { $0["kind"] as? String == "s3" }.map { $0["key"] as? String }
        }

        func kinds() throws -> [String] { try requests().compactMap { $0["kind"] as? String } }

        func file(_ name: String, _ text: String) throws -> String {
            let path = scratch.path(name)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
    }

    @Test("instance metadata alone: IMDSv2 token, role, keys; AWS_EC2_METADATA_DISABLED turns it off")
    func instanceMetadata() throws {
        let stand = try Stand()
        let on = try stand.put("imds", ["AWS_EC2_METADATA_DISABLED": "", "AWS_EC2_METADATA_SERVICE_ENDPOINT": stand.stubURL])
        #expect(on.status == 0, "\(on.err)")
        #expect(try stand.kinds().prefix(3) == ["imds-token", "imds-role", "imds-token"])
        #expect(try stand.kinds().contains("imds-keys"))
        #expect(try Set(stand.signingKeys()) == ["STUBKEY1"])
        let before = try stand.requests().count
        // Turned off: no metadata request, and the requests go unsigned (moto then refuses the
        // anonymous request on its private bucket: the outcome is not the point here).
        _ = try stand.put("imds-off", ["AWS_EC2_METADATA_SERVICE_ENDPOINT": stand.stubURL])
        let later = try stand.requests().dropFirst(before)
        #expect(!later.isEmpty && later.allSatisfy { $0["kind"] as? String == "s3" && $0["key"] is NSNull }, "unsigned, no metadata request: \(later)")
    }

    @Test("container credentials alone: the token file is sent as Authorization; a wrong token and a refused URI are errors")
    func container() throws {
        let stand = try Stand()
        let tokenFile = try stand.file("token", "Bearer container-secret\n")
        let uri = stand.stubURL + "/container/credentials"
        let ok = try stand.put("container", ["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile])
        #expect(ok.status == 0, "\(ok.err)")
        #expect(try stand.kinds().filter { $0 != "s3" } == ["container"])
        #expect(try Set(stand.signingKeys()) == ["STUBKEY1"])
        let inline = try stand.put("inline", ["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer container-secret"])
        #expect(inline.status == 0, "\(inline.err)")
        let wrong = try stand.put("wrong", ["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer nope"])
        #expect(wrong.status == 1)
        #expect(wrong.err.contains("container credentials at \(uri): HTTP 403 AccessDenied: bad token"), "\(wrong.err)")
        #expect(!wrong.err.contains("nope"))
        let refused = try stand.put("refused", ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://192.0.2.10/creds"])
        #expect(refused.status == 1)
        #expect(refused.err.contains("is refused: it must be HTTPS, or HTTP on loopback"), "\(refused.err)")
    }

    @Test("web identity alone: the token file goes to STS AssumeRoleWithWebIdentity (moto) and its keys sign")
    func webIdentity() throws {
        let stand = try Stand()
        let token = try stand.file("web-token", "eyJhbGciOiJSUzI1NiJ9.test.token\n")
        let result = try stand.put("web", ["AWS_WEB_IDENTITY_TOKEN_FILE": token, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/archiver",
                                           "AWS_ROLE_SESSION_NAME": "nightly", "AWS_ENDPOINT_URL_STS": stand.s3.endpoint])
        #expect(result.status == 0, "\(result.err)")
        let keys = try stand.signingKeys()
        #expect(!keys.isEmpty && keys.allSatisfy { $0?.hasPrefix("ASIA") == true }, "\(keys)")
        let missing = try stand.put("web-missing", ["AWS_WEB_IDENTITY_TOKEN_FILE": stand.scratch.path("absent"),
                                                    "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/archiver", "AWS_ENDPOINT_URL_STS": stand.s3.endpoint])
        #expect(missing.status == 1)
        #expect(missing.err.contains("cannot read the web identity token file"), "\(missing.err)")
    }

    @Test("profiles: role_arn + source_profile through STS AssumeRole (moto), static keys, credential_process")
    func profiles() throws {
        let stand = try Stand()
        let process = try stand.file("process.sh", "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"PROCKEY\", \"SecretAccessKey\": \"p\"}'\n")
        chmod(process, 0o755)
        let config = try stand.file("config", """
            [profile base]
            region = us-east-1
            [profile assumed]
            role_arn = arn:aws:iam::123456789012:role/archiver
            source_profile = base
            role_session_name = cron
            [profile proc]
            credential_process = \(process)
            """)
        let credentials = try stand.file("credentials", "[base]\naws_access_key_id = BASEKEY\naws_secret_access_key = basesecret\n")
        let files = ["AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_ENDPOINT_URL_STS": stand.s3.endpoint]
        var env = files
        env["AWS_PROFILE"] = "base"
        #expect(try stand.put("base", env).status == 0)
        #expect(try stand.signingKeys().last == "BASEKEY")
        env["AWS_PROFILE"] = "assumed"
        let assumed = try stand.put("assumed", env)
        #expect(assumed.status == 0, "\(assumed.err)")
        #expect(try stand.signingKeys().last??.hasPrefix("ASIA") == true)
        env["AWS_PROFILE"] = "proc"
        #expect(try stand.put("proc", env).status == 0)
        #expect(try stand.signingKeys().last == "PROCKEY")
    }

    @Test("the order when every source is set: ARCHIVE_S3_*, AWS_*, web identity, profile, container, instance metadata")
    func order() throws {
        let stand = try Stand()
        let token = try stand.file("web-token", "token")
        let credentials = try stand.file("credentials", "[default]\naws_access_key_id = PROFILEKEY\naws_secret_access_key = p\n")
        let tokenFile = try stand.file("auth", "Bearer container-secret")
        var env = ["ARCHIVE_S3_ACCESS_KEY": "ARCHIVEKEY", "ARCHIVE_S3_SECRET_KEY": "a", "AWS_ACCESS_KEY_ID": "AWSKEY", "AWS_SECRET_ACCESS_KEY": "b",
                   "AWS_WEB_IDENTITY_TOKEN_FILE": token, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/r", "AWS_ENDPOINT_URL_STS": stand.s3.endpoint,
                   "AWS_SHARED_CREDENTIALS_FILE": credentials,
                   "AWS_CONTAINER_CREDENTIALS_FULL_URI": stand.stubURL + "/container/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
                   "AWS_EC2_METADATA_DISABLED": "", "AWS_EC2_METADATA_SERVICE_ENDPOINT": stand.stubURL]
        var seen: [String] = []
        for step in 0..<6 {
            let before = try stand.requests().count
            let result = try stand.put("order\(step)", env)
            #expect(result.status == 0, "step \(step): \(result.err)")
            let requests = try stand.requests().dropFirst(before)
            let key = requests.last { $0["kind"] as? String == "s3" }?["key"] as? String ?? "unsigned"
            let fetched = requests.compactMap { $0["kind"] as? String }.filter { $0 != "s3" }
            seen.append(key.hasPrefix("ASIA") ? "STS" : key.hasPrefix("STUBKEY") ? (fetched.contains("container") ? "container" : "imds") : key)
            switch step {
            case 0: env["ARCHIVE_S3_ACCESS_KEY"] = ""; env["ARCHIVE_S3_SECRET_KEY"] = ""
            case 1: env["AWS_ACCESS_KEY_ID"] = ""; env["AWS_SECRET_ACCESS_KEY"] = ""
            case 2: env["AWS_WEB_IDENTITY_TOKEN_FILE"] = ""; env["AWS_ROLE_ARN"] = ""
            case 3: env["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent"
            case 4: env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = ""
            default: break
            }
        }
        #expect(seen == ["ARCHIVEKEY", "AWSKEY", "STS", "PROFILEKEY", "container", "imds"])
    }

    @Test("keys that expire during an upload are fetched again before they expire; no request is signed with expired keys")
    func refreshDuringUpload() throws {
        let lifetime = 4.0
        let stand = try Stand(lifetime: Int(lifetime))
        let tokenFile = try stand.file("auth", "Bearer container-secret")
        let input = try randomFile(stand.scratch, "big", size: 14 << 20)
        // 14 MiB fed over about 9 s: the multipart upload's requests spread over two lifetimes.
        let env = Self.cleared.merging(["AWS_CONTAINER_CREDENTIALS_FULL_URI": stand.stubURL + "/container/credentials",
                                        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile]) { $1 }
        let fed = try run("python3", [helper("slowfeed.py"), input, String(256 << 10), "0.16", "--", Package.tool("s3put"),
                                      "--endpoint", stand.stubURL, "--bucket", stand.bucket, "--key", "slow", "--part-size", "5MiB",
                                      "--multipart-threshold", "5MiB", "--region", "us-east-1"], environment: env)
        let report = try JSONSerialization.jsonObject(with: fed.stdout) as! [String: Any]
        #expect(report["status"] as? Int == 0, "\(report["stderr"] ?? "")")
        let requests = try stand.requests()
        var fetchedAt: [String: Double] = [:]
        for r in requests where r["kind"] as? String == "container" { fetchedAt[r["key"] as! String] = r["time"] as? Double }
        let signed = requests.filter { $0["kind"] as? String == "s3" }
        #expect(fetchedAt.count >= 2, "one fetch only: \(requests)")
        #expect(Set(signed.compactMap { $0["key"] as? String }).count >= 2, "every request signed with the first keys")
        for r in signed {
            let key = try #require(r["key"] as? String)
            let fetched = try #require(fetchedAt[key])
            #expect((r["time"] as! Double) < fetched + lifetime, "\(r["method"]!) \(r["path"]!) signed with \(key) after it expired")
        }
    }
}
