import Foundation
import Testing
import TestSupport

/// An expired temporary token (issue 17): the server's `ExpiredToken` makes s3put and s3get read
/// the credentials again from their source and retry once; a second one is final. Keys come
/// from credstub.py's container endpoint (new keys at every fetch); faultproxy.py, in front of
/// the stub's S3 proxy, answers chosen requests with the error.
@Suite("expired token refresh", .enabled(if: Services.s3Enabled))
struct TokenRefreshTests {
    /// The stand, a fault proxy in front of its S3 side, and the environment that takes keys
    /// from the stub's container endpoint.
    struct Faulty {
        let stand: CredentialChainTests.Stand
        let proxy: HelperProcess
        let faultLog: String
        let env: [String: String]
        var endpoint: String { "http://127.0.0.1:\(proxy.firstLine)" }

        /// `count` faults of `kind`, on the request at `rate` (1: the first ones).
        init(kind: String, rate: String = "1", count: Int) throws {
            stand = try CredentialChainTests.Stand()
            faultLog = stand.scratch.path("faults.log")
            proxy = try HelperProcess([helper("faultproxy.py"), stand.stubURL, rate, faultLog, kind, String(count)])
            env = CredentialChainTests.cleared.merging(["AWS_CONTAINER_CREDENTIALS_FULL_URI": stand.stubURL + "/container/credentials",
                                                        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer container-secret"]) { $1 }
        }

        /// s3put of `size` random bytes, with progress lines on descriptor 3 (returned).
        func put(_ key: String, size: Int = 1000) throws -> (ProcessResult, [[String: Any]]) {
            let input = try randomFile(stand.scratch, "in-\(key)", size: size)
            let progress = stand.scratch.path("progress-\(key)")
            let result = try shell("'\(Package.tool("s3put"))' --endpoint \(endpoint) --bucket \(stand.bucket) --key \(key) --region us-east-1 "
                                   + "--part-size 5MiB --multipart-threshold 5MiB --progress-fd 3 < '\(input)' 3>'\(progress)'", environment: env)
            let lines = ((try? String(contentsOfFile: progress, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            return (result, lines)
        }

        func faults() throws -> [String] {
            try String(contentsOfFile: faultLog, encoding: .utf8).split(separator: "\n").compactMap {
                (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["fault"] as? String
            }
        }

        func containerFetches() throws -> Int { try stand.kinds().filter { $0 == "container" }.count }
    }

    @Test("one ExpiredToken: the keys are fetched again, the request retried once with them, the retry reported with its reason",
          arguments: ["single", "multipart"])
    func refreshedOnce(shape: String) throws {
        // The first request of a single PUT; the second part of a multipart upload.
        let faulty = try Faulty(kind: "expired-token", rate: shape == "single" ? "1" : "0.34", count: 1)
        let (put, progress) = try faulty.put("k", size: shape == "single" ? 1000 : 12 << 20)
        #expect(put.status == 0, "\(put.err)")
        #expect(try faulty.faults() == ["expired-token"])
        let kinds = try faulty.stand.kinds()
        #expect(kinds.filter { $0 == "container" }.count == 2, "\(kinds)")
        let retries = progress.filter { $0["event"] as? String == "retry" }
        #expect(retries.count == 1, "\(progress)")
        #expect((retries.first?["reason"] as? String)?.contains("ExpiredToken: credentials read again") == true, "\(retries)")
        #expect(retries.first?["delay_seconds"] as? Double == 0)
        // Every request after the fault was signed with the new keys.
        let keys = try faulty.stand.signingKeys()
        #expect(keys.last == "STUBKEY2", "\(keys)")
        if shape == "single" { #expect(keys.allSatisfy { $0 == "STUBKEY2" }, "\(keys)") }
        let get = try run(Package.tool("s3get"), ["--endpoint", faulty.stand.stubURL, "--bucket", faulty.stand.bucket, "--key", "k",
                                                  "--region", "us-east-1", "--verify"], environment: faulty.env)
        #expect(get.status == 0 && get.out.contains("\"content\":\"ok\""), "\(get.out)\(get.err)")
        withExtendedLifetime(faulty.proxy) {}
    }

    @Test("ExpiredToken again after the refresh is final: exit 6 (authentication) at once, one refresh, nothing stored")
    func secondIsFinal() throws {
        let faulty = try Faulty(kind: "expired-token", count: 2)
        let (put, _) = try faulty.put("k")
        #expect(put.status == 6, "\(put.status): \(put.err)")
        #expect(put.err.contains("ExpiredToken") && put.err.contains("not retried"), "\(put.err)")
        #expect(try faulty.faults() == ["expired-token", "expired-token"])
        #expect(try faulty.containerFetches() == 2)
        let head = try run(Package.tool("s3get"), ["--endpoint", faulty.stand.stubURL, "--bucket", faulty.stand.bucket, "--key", "k",
                                                   "--region", "us-east-1", "--head"], environment: faulty.env)
        #expect(head.status == 3, "the object exists: \(head.out)")
        withExtendedLifetime(faulty.proxy) {}
    }

    @Test("InvalidToken is final without a refresh (exit 6); RequestExpired is re-signed and retried like any transient failure")
    func otherTokenErrors() throws {
        let invalid = try Faulty(kind: "invalid-token", count: 1)
        let (refused, _) = try invalid.put("k")
        #expect(refused.status == 6 && refused.err.contains("InvalidToken"), "\(refused.status): \(refused.err)")
        #expect(try invalid.containerFetches() == 1)
        let expired = try Faulty(kind: "request-expired", count: 1)
        let (put, progress) = try expired.put("k")
        #expect(put.status == 0, "\(put.err)")
        #expect(progress.contains { $0["event"] as? String == "retry" && ($0["reason"] as? String)?.contains("RequestExpired") == true }, "\(progress)")
        #expect(try expired.containerFetches() == 1)
        withExtendedLifetime(invalid.proxy) {}
        withExtendedLifetime(expired.proxy) {}
    }

    @Test("keys that never change (AWS_ACCESS_KEY_ID): an ExpiredToken is final at once, no retry with the same keys")
    func fixedKeys() throws {
        let faulty = try Faulty(kind: "expired-token", count: 1)
        let input = try randomFile(faulty.stand.scratch, "in", size: 100)
        let put = try run(Package.tool("s3put"), ["--endpoint", faulty.endpoint, "--bucket", faulty.stand.bucket, "--key", "k", "--region", "us-east-1"],
                          stdinFile: input, environment: CredentialChainTests.cleared.merging(["AWS_ACCESS_KEY_ID": "FIXED", "AWS_SECRET_ACCESS_KEY": "s",
                                                                                               "AWS_SESSION_TOKEN": "t"]) { $1 })
        #expect(put.status == 6 && put.err.contains("ExpiredToken"), "\(put.status): \(put.err)")
        withExtendedLifetime(faulty.proxy) {}
    }
}
