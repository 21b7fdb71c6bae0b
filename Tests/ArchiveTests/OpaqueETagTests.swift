import Foundation
import Testing
import TestSupport

/// SSE-KMS and SSE-C objects, whose ETag is no MD5 of their bytes, through ssestore.py (a proxy
/// in front of moto that gives them AWS's opaque ETags: moto itself keeps the MD5): reruns skip
/// by the cache (level 1) and, without it, by the manifests (level 2); verify and restore agree.
@Suite("opaque ETags (SSE-KMS, SSE-C)", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct OpaqueETagTests {
    enum Mode: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case kms, ssec
        var testDescription: String { rawValue }
    }

    /// The proxy's request log, one JSON object per request.
    static func requests(_ log: String) throws -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// Requests that write an object or a part (PUT, or POST starting/completing a multipart upload).
    static func writes(_ requests: some Collection<[String: Any]>) -> [String] {
        requests.filter { $0["method"] as? String == "PUT" || (($0["method"] as? String) == "POST" && !(($0["query"] as? String) ?? "").contains("delete")) }
            .map { "\($0["method"]!) \($0["path"]!)?\($0["query"] ?? "")" }
    }

    @Test("archive with SSE-KMS or SSE-C: a rerun skips every slice, with and without the cache, uploading nothing; verify, --deep and restore agree",
          arguments: Mode.allCases)
    func rerunSkips(mode: Mode) throws {
        let f = try ArchiveFixture(days: 3, rowsPerDay: 200)
        let log = f.home.path("proxy.log")
        let proxy = try HelperProcess([Package.root.appendingPathComponent("Tests/S3ToolTests/helpers/ssestore.py").path, f.s3.endpoint, log])
        let endpoint = "http://127.0.0.1:\(proxy.firstLine)"
        var encryption: [String]
        switch mode {
        case .kms:
            encryption = ["--s3-sse", "aws:kms"]
        case .ssec:
            let keyFile = f.home.path("sse-c.key")
            try Data((0..<32).map { UInt8(($0 * 53 + 7) % 256) }).base64EncodedString().write(toFile: keyFile, atomically: true, encoding: .utf8)
            encryption = ["--s3-sse-customer-key-file", keyFile]
        }
        let flags = f.flags(endpoint: endpoint)
        let first = try f.archive(encryption, flags: flags)
        #expect(first.status == 0, "\(first.err)")
        #expect(first.err.contains("3 uploaded, 0 skipped"), "\(first.err)")
        // The ETags the store now reports are no MD5 of the bytes.
        let listing = try run(Package.tool("s3get"), ["--endpoint", endpoint, "--bucket", f.bucket, "--region", "us-east-1", "--list", "archives/flights/2024/"],
                              environment: f.environment())
        let listed = listing.out.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(listed.count == 3, "\(listing.out)\(listing.err)")
        let objectsDir = try TemporaryDirectory()
        for object in listed {
            let key = object["key"] as! String
            let path = try f.download(key, into: objectsDir)
            let md5 = try run("md5sum", [path]).out.split(separator: " ").first.map(String.init)
            #expect(md5 != nil && object["etag"] as? String != md5, "\(key): the proxy left the MD5 as ETag")
        }
        let head = try run(Package.tool("s3get"), ["--endpoint", endpoint, "--bucket", f.bucket, "--region", "us-east-1", "--head", "--key",
                                                   listed[0]["key"] as! String] + (mode == .ssec ? [encryption[0].replacing("s3-", with: ""), encryption[1]] : []),
                           environment: f.environment())
        #expect(head.status == 0 && head.out.contains("\"etag_is_digest\":false"), "\(head.out)\(head.err)")

        // Level 1: the cache knows every object.
        var mark = try Self.requests(log).count
        let second = try f.archive(encryption, flags: flags)
        #expect(second.status == 0, "\(second.err)")
        #expect(second.err.contains("0 uploaded, 3 skipped"), "\(second.err)")
        var written = Self.writes(try Self.requests(log).dropFirst(mark))
        #expect(written.isEmpty, "the cached rerun wrote: \(written)")

        // Without the cache: level 1 from the store (docs/cache.md, "Skip levels"): each manifest
        // describes its object (its opaque ETag included) and PostgreSQL holds its rows.
        try FileManager.default.removeItem(atPath: f.home.path("cache"))
        mark = try Self.requests(log).count
        let third = try f.archive(encryption + ["--log-format", "json"], flags: flags)
        #expect(third.status == 0, "\(third.err)")
        #expect(third.err.contains("\"uploaded\":0") && third.err.contains("\"skipped\":3"), "\(third.err)")
        #expect(third.err.contains("the store's manifest describes the object and PostgreSQL holds its 200 rows"), "\(third.err)")
        written = Self.writes(try Self.requests(log).dropFirst(mark))
        #expect(written.isEmpty, "the rerun without cache wrote: \(written)")
        // The manifests still describe the objects, and the new cache agrees with them.
        for mode in [[], ["--deep"]] {
            let verify = try f.archive(["verify"] + mode + encryption, flags: flags)
            #expect(verify.status == 0, "verify \(mode): \(verify.out)\(verify.err)")
            #expect((verify.out + verify.err).contains("3 ok"), "verify \(mode): \(verify.out)\(verify.err)")
        }
        // A source row deleted since is not hidden by the manifest: that slice is uploaded again.
        try f.pg.psql("DELETE FROM flights WHERE id = 1", database: f.database)
        try FileManager.default.removeItem(atPath: f.home.path("cache"))
        mark = try Self.requests(log).count
        let changed = try f.archive(encryption, flags: flags)
        #expect(changed.status == 0, "\(changed.err)")
        #expect(changed.err.contains("1 uploaded, 2 skipped"), "\(changed.err)")
        #expect(!Self.writes(try Self.requests(log).dropFirst(mark)).isEmpty)

        // Restore through the proxy: exact.
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        let restored = try run(Package.tool("data-archiver"), ["restore", "--db-host", f.pg.host, "--db-port", f.pg.port, "--db-user", f.pg.user,
                                                               "--db-name", target, "--table", "flights", "--s3-endpoint", endpoint, "--s3-bucket", f.bucket,
                                                               "--path-template", "archives/{table}/{YYYY}/{MM}", "--start-date", "2024-01-01",
                                                               "--end-date", "2024-12-31", "--workers", "2", "--table-partition-range", "daily"] + encryption,
                               environment: f.environment())
        #expect(restored.status == 0, "\(restored.err)")
        #expect(restored.err.contains("3 restored, 0 failed"), "\(restored.err)")
        try f.copySource("flights", into: target, as: "source_rows", like: "flights")
        #expect(try f.difference("source_rows", "flights", in: target) == [0, 0, 599, 599])
        withExtendedLifetime(proxy) {}
    }

    @Test("dump-hybrid with SSE-KMS: a rerun skips every window the cache recorded, though no ETag is an MD5")
    func dumpHybridRerun() throws {
        let f = try DumpHybridTests.fixture()
        let log = f.home.path("proxy.log")
        let proxy = try HelperProcess([Package.root.appendingPathComponent("Tests/S3ToolTests/helpers/ssestore.py").path, f.s3.endpoint, log])
        let flags = f.dumpFlags("dump-hybrid").map { $0 == f.s3.endpoint ? "http://127.0.0.1:\(proxy.firstLine)" : $0 }
        let first = try f.archive(DumpHybridTests.range + ["--s3-sse", "aws:kms"], flags: flags)
        #expect(first.status == 0, "\(first.err)")
        let mark = try Self.requests(log).count
        let again = try f.archive(DumpHybridTests.range + ["--s3-sse", "aws:kms"], flags: flags)
        #expect(again.status == 0, "\(again.err)")
        #expect(again.err.contains("0 uploaded, 5 skipped"), "\(again.err)")
        let written = Self.writes(try Self.requests(log).dropFirst(mark))
        #expect(written.isEmpty, "\(written)")
        withExtendedLifetime(proxy) {}
    }
}
