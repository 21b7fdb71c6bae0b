import Foundation
import Testing
import TestSupport

/// Starts data-archiver in the background; returns the process.
func startArchive(_ f: ArchiveFixture, _ arguments: [String]) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Package.tool("data-archiver"))
    p.arguments = f.flags() + arguments
    p.environment = ProcessInfo.processInfo.environment.merging(f.environment()) { $1 }
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    return p
}

/// Waits until `condition` holds, up to `seconds`.
func waitFor(seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(50_000)
    }
    return false
}

@Suite("data-archiver under interruption", .enabled(if: Services.postgresEnabled && Services.s3Enabled), .serialized)
struct InterruptionTests {
    @Test("kill -9 of the orchestrator leaves no child running and no partial object; the rerun completes and verifies")
    func killOrchestrator() throws {
        let f = try ArchiveFixture(days: 4, rowsPerDay: 60_000)
        let p = try startArchive(f, ["--compression-level", "9"])
        // Wait until extraction is under way, then kill the orchestrator alone.
        #expect(try waitFor(seconds: 60) { f.markedProcesses().contains { $0.name == "pg-extract" } })
        usleep(300_000)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(waitFor(seconds: 10) { f.markedProcesses().isEmpty }, "left running: \(f.markedProcesses().map(\.name))")
        // What is in the bucket is whole: every object present decodes completely.
        let dir = try TemporaryDirectory()
        for key in try f.objects().keys where key.hasSuffix(".zst") {
            let path = try f.download(key, into: dir)
            #expect(try shell("zstd -q -t '\(path)'").status == 0, "partial object \(key)")
        }
        let rerun = try f.archive([])
        #expect(rerun.status == 0, "\(rerun.err)")
        #expect(try f.openUploads() == 0)
        let keys = try f.objects().keys.filter { $0.hasSuffix(".zst") }.sorted()
        #expect(keys.count == 4)
        for (key, day) in zip(keys, ["20240101", "20240102", "20240103", "20240104"]) {
            let lines = try shell(referenceDecompress(try f.download(key, into: dir)) + " | wc -l").out
            let count = try f.pg.psql("SELECT count(*) FROM flights_\(day)", database: f.database)
            #expect(lines.trimmingCharacters(in: .whitespacesAndNewlines) == count.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    @Test("killing pg-extract mid-stream fails that slice, names the stage, and writes no object for it")
    func killExtract() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 150_000)
        let p = try startArchive(f, ["--workers", "1", "--compression-level", "15"])
        #expect(f.killChild("pg-extract", with: "--plan"))
        p.waitUntilExit()
        #expect(p.terminationStatus == 1)
        let keys = try f.objects().keys.filter { $0.hasSuffix(".zst") }
        #expect(keys.count == 1, "objects: \(keys)")
        #expect(try f.openUploads() == 0)
        let rerun = try f.archive(["--workers", "1"])
        #expect(rerun.status == 0)
        #expect(rerun.err.contains("1 uploaded, 1 skipped"), "\(rerun.err)")
    }

    @Test("the terminal display shows bars and workers, and q stops the run cleanly with the summary on screen")
    func terminalDisplay() throws {
        let f = try ArchiveFixture(days: 4, rowsPerDay: 60_000)
        // A pseudo-terminal on stdin, stdout and stderr, as a person's terminal; `q` is typed
        // once the worker line shows rows/s. (tmux started from a Swift test process loses its
        // server at once on this machine, so the test drives the terminal itself.)
        let script = """
            import os, pty, sys, time, select, json, fcntl, struct, termios
            env = json.loads(sys.argv[1]); argv = sys.argv[2:]
            pid, fd = pty.fork()
            if pid == 0:
                os.environ.update(env)
                os.execv(argv[0], argv)
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 45, 160, 0, 0))
            screen = b""; typed = False; start = time.time()
            while True:
                r, _, _ = select.select([fd], [], [], 0.2)
                if r:
                    try: chunk = os.read(fd, 65536)
                    except OSError: break
                    if not chunk: break
                    screen += chunk
                if not typed and b"rows/s" in screen and time.time() - start > 1:
                    seen = screen.decode("utf-8", "replace")
                    print("LIVE:" + str("Overall" in seen and "worker  1" in seen))
                    os.write(fd, b"q"); typed = True
                if time.time() - start > 120: os.kill(pid, 9); break
            _, status = os.waitpid(pid, 0)
            tail = screen.decode("utf-8", "replace")
            print("TYPED:" + str(typed))
            print("EXIT:" + str(os.waitstatus_to_exitcode(status)))
            print("SUMMARY:" + str("summary:" in tail.split("\\x1b[?1049l")[-1]))
            """
        let env = String(decoding: try JSONSerialization.data(withJSONObject: f.environment()), as: UTF8.self)
        let result = try run("python3", ["-c", script, env, Package.tool("data-archiver")] + f.flags()
                             + ["--workers", "1", "--compression-level", "15"])
        #expect(result.out.contains("LIVE:True"), "\(result.out) \(result.err)")
        #expect(result.out.contains("TYPED:True"))
        #expect(result.out.contains("EXIT:130"))
        #expect(result.out.contains("SUMMARY:True"))
        #expect(waitFor(seconds: 10) { f.markedProcesses().isEmpty })
        #expect(try f.openUploads() == 0)
    }
}

/// Quotes a word for bash.
func shellWord(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
