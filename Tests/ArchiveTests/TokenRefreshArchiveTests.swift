import Foundation
import Testing
import TestSupport

/// An expired token during an archive (issue 17): data-archiver hands its children temporary
/// keys with their expiry; a child told `ExpiredToken` reads the rest of the chain itself (the
/// variables it inherited: here the container endpoint) and retries once, with no channel back
/// to the parent (man/s3put.1, CREDENTIALS; StoreCredentials).
@Suite("expired token during an archive", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct TokenRefreshArchiveTests {
    /// credstub.py (container credentials, new keys per fetch, and a logging proxy to moto) and
    /// faultproxy.py in front of its S3 side answering the first `faults` PUTs with ExpiredToken.
    struct Stand {
        let stub: HelperProcess
        let proxy: HelperProcess
        let stubLog: String
        let env: [String: String]
        var endpoint: String { "http://127.0.0.1:\(proxy.firstLine)" }

        init(_ f: ArchiveFixture, faults: Int) throws {
            let helpers = Package.root.appendingPathComponent("Tests/S3ToolTests/helpers")
            stubLog = f.home.path("stub.log")
            stub = try HelperProcess([helpers.appendingPathComponent("credstub.py").path, f.s3.endpoint, stubLog, "3600", "Bearer refresh"])
            proxy = try HelperProcess([helpers.appendingPathComponent("faultproxy.py").path, "http://127.0.0.1:\(stub.firstLine)", "1",
                                       f.home.path("faults.log"), "expired-token@PUT", String(faults)])
            env = ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_EC2_METADATA_DISABLED": "true",
                   "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(stub.firstLine)/container/credentials",
                   "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer refresh"]
        }

        func stubRequests() throws -> [[String: Any]] {
            try String(contentsOfFile: stubLog, encoding: .utf8).split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            }
        }
    }

    @Test("a child s3put told ExpiredToken fetches new keys itself and retries once; the run succeeds and logs the retry with its reason")
    func childRefreshes() throws {
        let f = try ArchiveFixture(days: 3, rowsPerDay: 100)
        let stand = try Stand(f, faults: 1)
        let result = try f.archive(["--log-format", "json"], flags: f.flags(endpoint: stand.endpoint), env: stand.env)
        #expect(result.status == 0, "\(result.err)")
        #expect(result.err.contains("\"uploaded\":3"), "\(result.err)")
        // The first PUT of the run is the schema sidecar's: its s3put reports the retry on stderr
        // (slices' s3put report theirs as progress events, logged as "retrying").
        let retries = result.err.split(separator: "\n").filter { $0.contains("ExpiredToken: credentials read again") }
        #expect(retries.count == 1 && retries[0].contains("\"stage\":\"s3put\"") && retries[0].contains("\"level\":\"warn\""), "\(result.err)")
        let requests = try stand.stubRequests()
        // One fetch by data-archiver, one by the child that was told its token expired.
        #expect(requests.filter { $0["kind"] as? String == "container" }.map { $0["key"] as? String } == ["STUBKEY1", "STUBKEY2"])
        let keys = requests.filter { $0["kind"] as? String == "s3" }.compactMap { $0["key"] as? String }
        #expect(keys.contains("STUBKEY2") && keys.filter { $0 == "STUBKEY1" }.count > 5, "\(keys)")
        let verify = try f.archive(["verify"], flags: f.flags(endpoint: stand.endpoint), env: stand.env)
        #expect(verify.status == 0, "\(verify.out)\(verify.err)")
        // Now a slice's own upload: one deleted row (and no cache: its count no longer matches the
        // manifest's) makes its slice the run's first PUT; its
        // s3put reports the retry as a progress event, logged as "retrying" with the slice.
        try f.pg.psql("DELETE FROM flights WHERE id = 1", database: f.database)
        try FileManager.default.removeItem(atPath: f.home.path("cache"))
        let again = try HelperProcess([Package.root.appendingPathComponent("Tests/S3ToolTests/helpers/faultproxy.py").path,
                                       "http://127.0.0.1:\(stand.stub.firstLine)", "1", f.home.path("faults2.log"), "expired-token@PUT", "1"])
        let rerun = try f.archive(["--log-format", "json"], flags: f.flags(endpoint: "http://127.0.0.1:\(again.firstLine)"), env: stand.env)
        #expect(rerun.status == 0, "\(rerun.err)")
        #expect(rerun.err.contains("\"uploaded\":1"), "\(rerun.err)")
        let sliceRetries = rerun.err.split(separator: "\n").filter { $0.contains("\"msg\":\"retrying\"") }
        #expect(sliceRetries.count == 1 && sliceRetries[0].contains("ExpiredToken: credentials read again")
                && sliceRetries[0].contains("\"slice\":\"flights-2024-01-01\"") && sliceRetries[0].contains("\"delay_seconds\":0"), "\(rerun.err)")
        withExtendedLifetime(again) {}
        withExtendedLifetime(stand.proxy) {}
        withExtendedLifetime(stand.stub) {}
    }

    @Test("ExpiredToken again after the child's refresh is final: the run stops with exit 6 (authentication) naming it")
    func secondIsFinal() throws {
        let f = try ArchiveFixture(days: 3, rowsPerDay: 100)
        let stand = try Stand(f, faults: 2)
        let result = try f.archive([], flags: f.flags(endpoint: stand.endpoint), env: stand.env)
        #expect(result.status == 6, "\(result.status): \(result.err)")
        #expect(result.err.contains("ExpiredToken"), "\(result.err)")
        withExtendedLifetime(stand.proxy) {}
        withExtendedLifetime(stand.stub) {}
    }
}
