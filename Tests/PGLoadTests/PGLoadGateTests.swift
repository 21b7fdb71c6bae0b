import Foundation
import Testing
import TestSupport

@Suite("pg-load digest gate", .enabled(if: Services.postgresEnabled))
struct PGLoadGateTests {
    @Test("--expect-rows/--expect-digest: the extracted digest loads; another count or digest loads nothing, exit 1")
    func gate() throws {
        let pg = try Services.requirePostgres()
        let source = try ScratchDatabase(pg, prefix: "load"), target = try ScratchDatabase(pg, prefix: "load")
        try source.value(typedDDL)
        let dir = try TemporaryDirectory()
        let stream = dir.path("typed.rowstream")
        let extracted = try shell("'\(Package.tool("pg-extract"))' --relation typed --progress-fd 3 3>'\(dir.path("p"))' > '\(stream)'",
                                  environment: source.environment)
        #expect(extracted.status == 0, "\(extracted.err)")
        let last = try String(contentsOfFile: dir.path("p"), encoding: .utf8).split(separator: "\n").last.map(String.init) ?? ""
        let progress = try JSONSerialization.jsonObject(with: Data(last.utf8)) as! [String: Any]
        let digest = try #require(progress["digest"] as? String)
        #expect(progress["rows"] as? Int == 3 && digest.count == 32)

        let wrongDigest = try load(target, stream, ["--create", "--expect-rows", "3", "--expect-digest", String(digest.reversed())])
        #expect(wrongDigest.0.status == 1)
        #expect(wrongDigest.0.err.contains("pg-load: error: the input is not what was archived (row digest \(digest)"), "\(wrongDigest.0.err)")
        let wrongRows = try load(target, stream, ["--create", "--expect-rows", "4", "--expect-digest", digest])
        #expect(wrongRows.0.status == 1)
        #expect(wrongRows.0.err.contains("3 rows where 4 were expected"), "\(wrongRows.0.err)")
        #expect(try target.value("SELECT count(*) FROM typed") == "0")

        let right = try load(target, stream, ["--create", "--expect-rows", "3", "--expect-digest", digest.uppercased()])
        #expect(right.0.status == 0, "\(right.0.err)")
        #expect(right.1["inserted"] as? Int == 3 && right.1["digest"] as? String == digest)

        let malformed = try load(target, stream, ["--expect-digest", "xyz"])
        #expect(malformed.0.status == 2)
    }
}
