import Foundation
import Testing
import TestSupport

/// data-archiver sends small slices through one long-lived framed pipeline per worker
/// (docs/framing.md); `PGARCHIVE_FRAMED_MAX_BYTES=0` sends every slice through its own pipeline.
@Suite("data-archiver archive through framed pipelines", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct FramedArchiveTests {
    @Test("small slices through framed pipelines give the same objects and manifests as one pipeline per slice; an empty slice writes nothing")
    func sameAsOneSlicePipelines() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 48)
        // An hour with no rows: an empty slice, no object either way.
        try f.pg.psql("DELETE FROM flights WHERE departure >= '2024-01-01 05:00+00' AND departure < '2024-01-01 06:00+00'", database: f.database)
        let other = try f.s3.createBucket(prefix: "arch")
        let hourly = ["--output-duration", "hourly", "--debug"]
        var flags = f.flags()
        flags[flags.firstIndex(of: "--end-date")! + 1] = "2024-01-02"
        let framed = try f.archive(hourly, flags: flags)
        #expect(framed.status == 0, "\(framed.err)")
        #expect(framed.err.contains("framed pipeline"), "the run used framed pipelines")
        #expect(framed.err.contains("47 uploaded, 0 skipped, 1 empty, 0 failed"), "\(framed.err.split(separator: "\n").filter { $0.contains("summary") })")
        flags[flags.firstIndex(of: "--s3-bucket")! + 1] = other
        let single = try run(Package.tool("data-archiver"), flags + hourly,
                             environment: f.environment(["PGARCHIVE_FRAMED_MAX_BYTES": "0", "ARCHIVE_HOME": try TemporaryDirectory().url.path]))
        #expect(single.status == 0, "\(single.err)")
        #expect(!single.err.contains("framed pipeline"))
        let a = try f.objects(), b = try f.objects(bucket: other)
        #expect(a.count == 47 * 2 + 1, "47 objects, their manifests and the schema")
        #expect(Set(a.keys) == Set(b.keys))
        for (key, object) in a where !key.contains("/_manifest/") {
            #expect(object.size == b[key]?.size && object.etag == b[key]?.etag, "\(key) differs")
        }
        // The manifests say the same (all but the time they were written).
        let dir = try TemporaryDirectory()
        for key in a.keys.filter({ $0.contains("/_manifest/") }).sorted().prefix(5) {
            var mine = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try f.download(key, into: dir)))) as! [String: Any]
            let path = dir.path("other-" + key.replacingOccurrences(of: "/", with: "_"))
            let fetched = try run("python3", ["-c", "import boto3,sys; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1').download_file(sys.argv[2], sys.argv[3], sys.argv[4])",
                                              f.s3.endpoint, other, key, path], environment: f.s3.environment)
            #expect(fetched.status == 0, "\(fetched.err)")
            var theirs = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
            mine["created"] = nil
            theirs["created"] = nil
            let canonical = { (o: [String: Any]) in String(decoding: try JSONSerialization.data(withJSONObject: o, options: .sortedKeys), as: UTF8.self) }
            #expect(try canonical(mine) == canonical(theirs), "\(key)")
        }
        // The cache knows every slice, with rows and digests, as after one pipeline per slice.
        #expect(try f.cacheEntries().count >= 47)
    }

    @Test("a framed pipeline killed mid-run fails the slice in flight with the real cause and restarts for the rest; a rerun completes")
    func killedPipelineRestarts() throws {
        let f = try ArchiveFixture(days: 4, rowsPerDay: 24)
        let hourly = ["--output-duration", "hourly"]
        var flags = f.flags()
        flags[flags.firstIndex(of: "--workers")! + 1] = "1"
        flags[flags.firstIndex(of: "--end-date")! + 1] = "2024-01-04"
        let dir = try TemporaryDirectory()
        let err = dir.path("err")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Package.tool("data-archiver"))
        process.arguments = flags + hourly
        process.environment = ProcessInfo.processInfo.environment.merging(f.environment()) { $1 }
        FileManager.default.createFile(atPath: err, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Let a few slices through, then kill the worker's pg-extract.
        _ = waitFor(seconds: 60) { ((try? f.objects().count) ?? 0) >= 8 }
        #expect(f.killChild("pg-extract", with: "--framed"))
        process.waitUntilExit()
        let text = try String(contentsOfFile: err, encoding: .utf8)
        #expect(process.terminationStatus == 1, "\(text)")
        let failures = text.split(separator: "\n").filter { $0.contains("failed: flights-") }
        #expect(failures.count == 1, "exactly the slice in flight fails: \(failures)")
        #expect(failures.first?.contains("pg-extract (killed by signal 9") == true, "\(failures)")
        #expect(text.contains("95 uploaded, 0 skipped, 0 empty, 1 failed"), "\(text.split(separator: "\n").filter { $0.contains("summary") })")
        // Every object that exists is whole and has its manifest.
        let objects = try f.objects()
        let data = objects.keys.filter { !$0.contains("/_manifest/") && !$0.contains("/_schema/") }
        #expect(data.count == 95)
        #expect(objects.keys.filter { $0.contains("/_manifest/") }.count == 95)
        let again = try f.archive(hourly, flags: flags)
        #expect(again.status == 0, "\(again.err)")
        #expect(again.err.contains("1 uploaded, 95 skipped"), "\(again.err.split(separator: "\n").filter { $0.contains("summary") })")
    }

    @Test("a value one slice cannot carry fails that slice only, naming rowfmt; the framed pipeline goes on with the others")
    func confinedFailure() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 24)
        // NaN has no Parquet DECIMAL form: the slice holding row 5 (04:00) cannot be written.
        try f.pg.psql("UPDATE flights SET fare = 'NaN' WHERE id = 5", database: f.database)
        var flags = f.flags()
        flags[flags.firstIndex(of: "--end-date")! + 1] = "2024-01-01"
        let result = try f.archive(["--output-duration", "hourly", "--output-format", "parquet", "--debug"], flags: flags)
        #expect(result.status == 1)
        #expect(result.err.contains("framed pipeline"), "the run used framed pipelines")
        #expect(result.err.contains("23 uploaded, 0 skipped, 0 empty, 1 failed"), "\(result.err.split(separator: "\n").filter { $0.contains("summary") })")
        let failures = result.err.split(separator: "\n").filter { $0.contains("failed: flights-") }
        #expect(failures.count == 1 && failures[0].contains("flights-2024-01-01-04") && failures[0].contains("rowfmt"), "\(failures)")
        let data = try f.objects().keys.filter { !$0.contains("/_manifest/") && !$0.contains("/_schema/") }
        #expect(data.count == 23)
        #expect(!data.contains { $0.contains("flights-2024-01-01-04") })
    }
}
