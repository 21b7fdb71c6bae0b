import Foundation
import Testing
import TestSupport

/// data-archiver with `--s3-region auto` (the default) asks the bucket's region once per run
/// and hands it to every child.
@Suite("bucket region", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct BucketRegionTests {
    @Test("a bucket in eu-west-2 behind regionstub.py: one HeadBucket for the whole run, every child signs for eu-west-2; verify too")
    func onceperRun() throws {
        let f = try ArchiveFixture(days: 3, rowsPerDay: 100)
        let log = f.home.path("stub.log")
        let stub = try HelperProcess([Package.root.appendingPathComponent("Tests/S3ToolTests/helpers/regionstub.py").path, f.s3.endpoint, log,
                                      "eu-west-2", "301"])
        let flags = f.flags(endpoint: "http://127.0.0.1:\(stub.firstLine)")
        func requests() throws -> [[String: Any]] {
            try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            }
        }
        let archived = try f.archive(["--log-format", "json"], flags: flags)
        #expect(archived.status == 0, "\(archived.err)")
        #expect(archived.err.contains("\"msg\":\"bucket region\"") && archived.err.contains("\"region\":\"eu-west-2\""), "\(archived.err)")
        #expect(archived.err.contains("\"uploaded\":3"), "\(archived.err)")
        var seen = try requests()
        #expect(seen.filter { $0["region"] as? String != "eu-west-2" }.count == 1, "\(seen.filter { $0["region"] as? String != "eu-west-2" })")
        #expect(seen.count > 10)
        let verified = try f.archive(["verify"], flags: flags)
        #expect(verified.status == 0, "\(verified.out)\(verified.err)")
        let before = seen.count
        seen = try requests()
        #expect(seen.dropFirst(before).filter { $0["region"] as? String != "eu-west-2" }.count == 1)
        // A region given explicitly is used as is: here the wrong one, refused by the store.
        let wrong = try f.archive(["--s3-region", "us-east-1"], flags: flags)
        #expect(wrong.status != 0 && wrong.err.contains("AuthorizationHeaderMalformed"), "\(wrong.err)")
        withExtendedLifetime(stub) {}
    }
}
