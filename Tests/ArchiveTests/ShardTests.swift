import Foundation
import Testing
import TestSupport

@Suite("--shard")
struct ShardTests {
    /// The `N uploaded` of a run's summary line.
    private func uploaded(_ result: ProcessResult) -> Int? { uploaded(result.err) }

    private func uploaded(_ err: String) -> Int? {
        guard let line = err.split(separator: "\n").last(where: { $0.contains("summary:") }),
              let range = line.range(of: #"(\d+) uploaded"#, options: .regularExpression) else { return nil }
        return Int(line[range].split(separator: " ")[0])
    }

    @Test("three shard processes at once produce exactly the objects of a one-process run, each slice once")
    func threeShardsMatchOneRun() throws {
        let f = try ArchiveFixture(days: 9, rowsPerDay: 30)
        // One process, into the fixture's bucket.
        let single = try f.archive([])
        #expect(single.status == 0, "\(single.err)")
        #expect(uploaded(single) == 9, "\(single.err)")
        let expected = try f.objects()

        // Three shards at once, on one host (one ARCHIVE_HOME), into a second bucket.
        let bucket = try f.s3.createBucket(prefix: "shard")
        var flags = f.flags()
        flags[flags.firstIndex(of: "--s3-bucket")! + 1] = bucket
        let results = try (0..<3).map { i in
            try Process.start(Package.tool("data-archiver"), flags + ["--shard", "\(i)/3"], environment: f.environment())
        }.map { try $0.finish() }
        for (i, r) in results.enumerated() { #expect(r.status == 0, "shard \(i): \(r.err)") }
        // Each slice once: the shards' uploads add up to the slices, and no shard is empty-handed by accident.
        #expect(results.compactMap { uploaded($0.err) }.reduce(0, +) == 9, "\(results.map(\.err))")
        let sharded = try f.objects(bucket: bucket)
        // Data objects and sidecar byte for byte; manifests by name (each records its own creation time).
        let data = { (objects: [String: (size: Int, etag: String)]) in objects.filter { !$0.key.contains("/_manifest/") }.mapValues(\.etag) }
        #expect(data(sharded) == data(expected))
        #expect(Set(sharded.keys) == Set(expected.keys))

        // A rerun of one shard skips its own slices and touches no other.
        let again = try f.archive(["--shard", "1/3"], flags: flags)
        #expect(again.status == 0 && uploaded(again) == 0, "\(again.err)")
        let bad = try f.archive(["--shard", "3/3"], flags: flags)
        #expect(bad.status != 0 && bad.err.contains("shard"), "\(bad.err)")
    }
}

extension Process {
    /// Starts `executable` with output collected in temp files; `finish()` waits for it.
    static func start(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> RunningProcess {
        try RunningProcess(executable, arguments, environment: environment)
    }
}

/// A child started with its output going to temp files.
final class RunningProcess {
    let process = Process()
    let dir: TemporaryDirectory

    init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
        dir = try TemporaryDirectory()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        FileManager.default.createFile(atPath: dir.path("out"), contents: nil)
        FileManager.default.createFile(atPath: dir.path("err"), contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.path("out")))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.path("err")))
        try process.run()
    }

    /// Waits for the child: its status and what it wrote to stderr.
    func finish() throws -> (status: Int32, err: String) {
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return (status, try String(contentsOfFile: dir.path("err"), encoding: .utf8))
    }
}
