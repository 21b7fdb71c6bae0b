import Foundation
import Testing
import TestSupport

@Suite("data-archiver dump under interruption", .enabled(if: Services.postgresEnabled && Services.s3Enabled), .serialized)
struct DumpInterruptionTests {
    /// Starts data-archiver with `flags` in the background.
    func start(_ f: ArchiveFixture, _ flags: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Package.tool("data-archiver"))
        p.arguments = flags
        p.environment = ProcessInfo.processInfo.environment.merging(f.environment()) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    @Test("a pg_dump killed mid-stream fails its window and writes no object; the rerun dumps only that window")
    func killDump() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 150_000)
        let range = ["--table", "flights", "--start-date", "2024-01-01", "--end-date", "2024-01-02", "--workers", "1"]
        let p = try start(f, f.dumpFlags("dump") + range)
        #expect(f.killChild("pg_dump", with: "--data-only"))
        p.waitUntilExit()
        #expect(p.terminationStatus == 1)
        let keys = try f.dumpKeys()
        #expect(keys.count == 2, "objects: \(keys)")  // the schema and the other window
        #expect(try f.openUploads() == 0)
        let rerun = try f.archive(range, flags: f.dumpFlags("dump"))
        #expect(rerun.status == 0)
        #expect(rerun.err.contains("1 uploaded, 2 skipped"), "\(rerun.err)")
    }

    @Test("SIGTERM stops dump-hybrid with 130, drops its scratch databases and leaves no child running")
    func terminateHybrid() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 150_000)
        let prefix = try DumpHybridTests.scratchPrefix(f)
        let p = try start(f, f.dumpFlags("dump-hybrid") + ["--table", "flights", "--date-column", "departure",
                                                            "--start-date", "2024-01-01", "--end-date", "2024-01-02", "--workers", "1"])
        #expect(try waitFor(seconds: 60) { f.markedProcesses().contains { $0.name == "pg_dump" || $0.name == "psql" } })
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 130)
        #expect(waitFor(seconds: 10) { f.markedProcesses().isEmpty }, "left running: \(f.markedProcesses().map(\.name))")
        #expect(try f.pg.psql("SELECT count(*) FROM pg_database WHERE starts_with(datname, '\(prefix)')", database: "postgres")
                    .trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(try f.openUploads() == 0)
    }
}
