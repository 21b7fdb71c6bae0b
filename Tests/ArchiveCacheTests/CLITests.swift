import ArchiveCache
import Foundation
import Testing
import TestSupport

/// A scratch state folder and the archive-cache binary run against it.
struct CacheCLI {
    let dir: TemporaryDirectory
    var home: String { dir.path("home") }
    let scope = ["--table", "flights", "--bucket", "bkt", "--path-template", "archives/{table}/{YYYY}"]
    var environment: [String: String] { ["ARCHIVE_HOME": home] }

    init() throws { dir = try TemporaryDirectory() }

    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil) throws -> ProcessResult {
        try TestSupport.run(Package.tool("archive-cache"), arguments, stdin: stdin.map { Data($0.utf8) }, environment: environment)
    }

    /// The scope's cache as `export` prints it, read by Foundation's JSON parser (an independent reader).
    func entries() throws -> [String: [String: Any]] {
        let exported = try run(["export"] + scope)
        if exported.status == 3 { return [:] }
        guard exported.status == 0 else { throw TestFailure("export: \(exported.err)") }
        let object = try JSONSerialization.jsonObject(with: exported.stdout) as? [String: Any]
        return object?["entries"] as? [String: [String: Any]] ?? [:]
    }

    /// `PRAGMA integrity_check` of the cache database through Python's sqlite3 (another reader).
    func integrity() throws -> String {
        let path = try run(["path"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        return try TestSupport.run("python3", ["-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])", path])
            .out.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// One s3put result line, in the shape man/s3put.1 pins.
func resultLine(bucket: String = "bkt", key: String, size: Int = 1000, md5: String = "0123456789abcdef0123456789abcdef",
                etag: String? = nil, parts: Int = 1, skipped: Bool = false, sha256: String? = nil) -> String {
    var line = "{\"bucket\":\"\(bucket)\",\"key\":\"\(key)\",\"size\":\(size),\"md5\":\"\(md5)\",\"etag\":\"\(etag ?? md5)\","
    line += "\"parts\":\(parts),\"part_size\":8388608,\"skipped\":\(skipped)"
    if let sha256 { line += ",\"sha256\":\"\(sha256)\"" }
    return line + "}"
}

@Suite("archive-cache command line")
struct CLITests {
    @Test("record stores s3put result lines: sizes, MD5, multipart ETag, upload state; skips keep the upload time")
    func record() throws {
        let cli = try CacheCLI()
        let lines = [
            resultLine(key: "archives/flights/2024/flights-2024-01-01.jsonl.zst", size: 2048),
            resultLine(key: "archives/flights/2024/flights-2024-01-02.jsonl.zst", size: 300_000_000,
                       etag: "5f363e0e58a95f06cbe9bbc662c5dfb6-3", parts: 3, sha256: String(repeating: "ab", count: 32)),
        ].joined(separator: "\n") + "\n"
        let r = try cli.run(["record", "--table", "flights", "--path-template", "archives/{table}/{YYYY}", "--row-count", "77",
                             "--uncompressed-size", "9000"], stdin: lines)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.split(separator: "\n").count == 2)
        var entries = try cli.entries()
        let single = try #require(entries["archives/flights/2024/flights-2024-01-01.jsonl.zst"])
        #expect(single["file_size"] as? Int == 2048)
        #expect(single["file_md5"] as? String == "0123456789abcdef0123456789abcdef")
        #expect(single["multipart_etag"] as? String == "")
        #expect(single["s3_uploaded"] as? Bool == true)
        #expect(single["row_count"] as? Int == 77 && single["uncompressed_size"] as? Int == 9000)
        let multi = try #require(entries["archives/flights/2024/flights-2024-01-02.jsonl.zst"])
        #expect(multi["multipart_etag"] as? String == "5f363e0e58a95f06cbe9bbc662c5dfb6-3")
        let uploadTime = try #require(multi["s3_upload_time"] as? String)

        // A skip later: same object found in the bucket; the upload time stays, the skip is noted.
        try cli.run(["record", "--table", "flights", "--path-template", "archives/{table}/{YYYY}"],
                    stdin: resultLine(key: "archives/flights/2024/flights-2024-01-02.jsonl.zst", size: 300_000_000,
                                      etag: "5f363e0e58a95f06cbe9bbc662c5dfb6-3", parts: 3, skipped: true))
        entries = try cli.entries()
        #expect(entries["archives/flights/2024/flights-2024-01-02.jsonl.zst"]?["s3_upload_time"] as? String == uploadTime)
        #expect(entries["archives/flights/2024/flights-2024-01-02.jsonl.zst"]?["last_skip_time"] is String)
    }

    @Test("record refuses a malformed line naming its line number, keeping the lines before it")
    func recordBadLine() throws {
        let cli = try CacheCLI()
        let input = resultLine(key: "k1") + "\n" + "{\"bucket\":\"bkt\",\"key\":\"k2\",\"size\":\"big\"}\n"
        let r = try cli.run(["record", "--table", "flights", "--path-template", "archives/{table}/{YYYY}"], stdin: input)
        #expect(r.status == 1)
        #expect(r.err.hasPrefix("archive-cache: error: standard input: line 2: "), "\(r.err)")
        #expect(try cli.entries().keys.sorted() == ["k1"])
        let quoted = try cli.run(["record", "--table", "flights", "--path-template", "p"], stdin: resultLine(key: "k", etag: #"\"abc\""#))
        #expect(quoted.status == 1 && quoted.err.contains("unquoted"))
        let empty = try cli.run(["record", "--table", "flights", "--path-template", "p"], stdin: "")
        #expect(empty.status == 1 && empty.err.contains("no result line"))
        let other = try cli.run(["record", "--table", "flights", "--path-template", "p", "--bucket", "x"], stdin: resultLine(key: "k"))
        #expect(other.status == 1 && other.err.contains("line 1"))
        // s3put --compare found the stream different: nothing was uploaded, so nothing is recorded.
        let compared = resultLine(key: "k3").replacingOccurrences(of: "}", with: ",\"compared\":true}")
        let differs = try cli.run(["record", "--table", "flights", "--path-template", "archives/{table}/{YYYY}"], stdin: compared)
        #expect(differs.status == 1 && differs.err.contains("line 1: an s3put --compare result that differs"), "\(differs.err)")
        #expect(try cli.entries().keys.sorted() == ["k1"])
    }

    @Test("errors of every kind are kept with their time; a later successful upload clears them")
    func errors() throws {
        let cli = try CacheCLI()
        for kind in ["query", "format", "upload", "verification"] {
            let r = try cli.run(["record-error"] + cli.scope + ["--key", "k-\(kind)", "--kind", kind, "--message", "it broke"])
            #expect(r.status == 0, "\(r.err)")
        }
        var entries = try cli.entries()
        for kind in ["query", "format", "upload", "verification"] {
            #expect(entries["k-\(kind)"]?["last_error"] as? String == "\(kind): it broke")
            #expect((entries["k-\(kind)"]?["error_time"] as? String)?.hasPrefix("0001") == false)
        }
        try cli.run(["record", "--table", "flights", "--path-template", "archives/{table}/{YYYY}"], stdin: resultLine(key: "k-upload"))
        entries = try cli.entries()
        #expect(entries["k-upload"]?["last_error"] as? String == "")
        #expect(entries["k-query"]?["last_error"] as? String == "query: it broke")
    }

    @Test("get prints an entry or exits 3; put merges fields; expire drops old counts and removes keys")
    func getPutExpire() throws {
        let cli = try CacheCLI()
        let missing = try cli.run(["get"] + cli.scope + ["--key", "nope"])
        #expect(missing.status == 3 && missing.out.isEmpty && missing.err.contains("nope"))
        let put = try cli.run(["put"] + cli.scope + ["--key", "w1"], stdin: #"{"row_count": 12, "file_md5": "abc"}"#)
        #expect(put.status == 0, "\(put.err)")
        let got = try cli.run(["get"] + cli.scope + ["--key", "w1"])
        let entry = try JSONSerialization.jsonObject(with: got.stdout) as? [String: Any]
        #expect(entry?["key"] as? String == "w1" && entry?["row_count"] as? Int == 12 && entry?["file_md5"] as? String == "abc")
        #expect(try cli.run(["get"] + cli.scope + ["--key", "w1", "--row-count", "--window-end", "2024-01-02"]).out == "12\n")
        let future = try cli.run(["get"] + cli.scope + ["--key", "w1", "--row-count", "--window-end", "2999-01-01"])
        #expect(future.status == 3)
        let badPut = try cli.run(["put"] + cli.scope + ["--key", "w1"], stdin: #"{"row_count": "twelve"}"#)
        #expect(badPut.status == 1 && badPut.err.contains("standard input"))

        try cli.run(["put"] + cli.scope + ["--key", "old"], stdin: #"{"row_count": 5, "count_time": "2020-01-01T00:00:00Z", "file_size": 9}"#)
        let expire = try cli.run(["expire"] + cli.scope + ["--remove-key", "w1"])
        #expect(expire.out == "{\"expired\":1,\"removed\":1}\n")
        let entries = try cli.entries()
        #expect(entries.keys.sorted() == ["old"])
        #expect(entries["old"]?["row_count"] as? Int == 0 && entries["old"]?["file_size"] as? Int == 9)
        let list = try cli.run(["list"])
        #expect(list.out.contains("\"file\":\"archive_flights_") && list.out.contains("\"key\":\"old\""))
    }

    @Test("8 processes × 200 concurrent updates into a 20,000-entry cache while readers list it: every update is present")
    func concurrentWriters() throws {
        let cli = try CacheCLI()
        let scope = CacheScope(command: "archive", table: "flights", bucket: "bkt", pathTemplate: "archives/{table}/{YYYY}")
        try CacheStore(home: ArchiveHome(path: cli.home)).updateEntries(scope, keys: (0..<20_000).map { "old\($0)" }) { _, e in e.fileSize = 7 }
        var processes: [Process] = []
        for _ in 0..<2 {
            // A reader listing the whole cache again and again while the writers work.
            let reader = Process()
            reader.executableURL = URL(fileURLWithPath: "/bin/sh")
            reader.arguments = ["-c", #"for i in 1 2 3 4 5 6 7 8; do "$0" list "$@" | grep -c '"key"' || exit 1; done"#,
                                Package.tool("archive-cache")] + cli.scope
            reader.environment = ProcessInfo.processInfo.environment.merging(cli.environment) { $1 }
            reader.standardOutput = FileHandle.nullDevice
            processes.append(reader)
        }
        for p in 0..<8 {
            let input = (0..<200).map { resultLine(key: "p\(p)/k\($0)", size: p * 1000 + $0) }.joined(separator: "\n") + "\n"
            let file = cli.dir.path("in-\(p)")
            try input.write(toFile: file, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Package.tool("archive-cache"))
            process.arguments = ["record", "--table", "flights", "--path-template", "archives/{table}/{YYYY}"]
            process.environment = ProcessInfo.processInfo.environment.merging(cli.environment) { $1 }
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: file))
            process.standardOutput = FileHandle.nullDevice
            processes.append(process)
        }
        for process in processes { try process.run() }
        for process in processes {
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
        let entries = try cli.entries()
        #expect(entries.count == 1600 + 20_000)
        for p in 0..<8 {
            for k in 0..<200 { #expect(entries["p\(p)/k\(k)"]?["file_size"] as? Int == p * 1000 + k) }
        }
    }

    @Test("record commits a file piped in per 1000 lines (2,500 lines: 3 commits), printing every stored entry")
    func recordInBatches() throws {
        let cli = try CacheCLI()
        let file = cli.dir.path("in")
        try ((0..<2500).map { resultLine(key: "k\($0)", size: $0) }.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let r = try TestSupport.run(Package.tool("archive-cache"), ["record", "--table", "flights", "--path-template", "archives/{table}/{YYYY}", "--summary"],
                                    stdinFile: file, environment: cli.environment)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("recorded 2500 entries in 3 commits"), "\(r.err)")
        #expect(r.out.split(separator: "\n").count == 2500)
        let entries = try cli.entries()
        #expect(entries.count == 2500 && entries["k2499"]?["file_size"] as? Int == 2499)
    }

    @Test("record acknowledges each line of a producer that writes one at a time before it writes the next")
    func recordAcknowledgesAtOnce() throws {
        let cli = try CacheCLI()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Package.tool("archive-cache"))
        process.arguments = ["record", "--table", "flights", "--path-template", "archives/{table}/{YYYY}", "--summary"]
        process.environment = ProcessInfo.processInfo.environment.merging(cli.environment) { $1 }
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // A record that waited for more input before committing would never answer: stop it then.
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { if process.isRunning { process.terminate() } }
        for i in 0..<5 {
            input.fileHandleForWriting.write(Data((resultLine(key: "one\(i)") + "\n").utf8))
            var answer = Data()
            while !answer.contains(10) {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                answer += chunk
            }
            #expect(String(decoding: answer, as: UTF8.self).contains("\"key\":\"one\(i)\""), "line \(i) not acknowledged")
            // Acknowledged means committed: another reader sees it now.
            #expect(try cli.entries()["one\(i)"] != nil)
        }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let err = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(err.contains("recorded 5 entries in 5 commits"), "\(err)")
    }

    @Test("kill -9 during a write loop into a 20,000-entry cache: no acknowledged update lost, the database intact")
    func killDuringWrites() throws {
        let cli = try CacheCLI()
        let scope = CacheScope(command: "archive", table: "flights", bucket: "bkt", pathTemplate: "archives/{table}/{YYYY}")
        try CacheStore(home: ArchiveHome(path: cli.home)).updateEntries(scope, keys: (0..<20_000).map { "old\($0)" }) { _, e in e.fileSize = 7 }
        let file = cli.dir.path("in")
        try (0..<20_000).map { resultLine(key: "k\($0)") }.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        for round in 0..<3 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Package.tool("archive-cache"))
            process.arguments = ["record", "--table", "flights", "--path-template", "archives/{table}/{YYYY}"]
            process.environment = ProcessInfo.processInfo.environment.merging(cli.environment) { $1 }
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: file))
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            // Wait until it has stored some lines (it prints one per stored entry), then kill it mid-loop.
            var seen = 0
            while seen < 20 * (round + 1) {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen += chunk.filter { $0 == 10 }.count
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            let entries = try cli.entries()
            #expect(entries.count - 20_000 >= seen, "round \(round)")
            #expect(try cli.integrity() == "ok", "round \(round)")
        }
        // The next writer still works on the same file.
        let r = try cli.run(["put"] + cli.scope + ["--key", "after"], stdin: "{\"file_size\": 1}")
        #expect(r.status == 0)
        #expect(try cli.entries()["after"] != nil)
    }

    @Test("lock: a second run of the same scope exits 1 at once naming the holder's PID")
    func lockCommand() throws {
        let cli = try CacheCLI()
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: Package.tool("archive-cache"))
        let fifo = cli.dir.path("go")
        mkfifo(fifo, 0o600)
        // The holder runs `cat FIFO`, which blocks until the test writes to the FIFO.
        holder.arguments = ["lock"] + cli.scope + ["--", "cat", fifo]
        holder.environment = ProcessInfo.processInfo.environment.merging(cli.environment) { $1 }
        holder.standardOutput = FileHandle.nullDevice
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        // archiver.pid appears once the lock is held.
        let pidFile = cli.home + "/archiver.pid"
        while !FileManager.default.fileExists(atPath: pidFile) && holder.isRunning { usleep(10_000) }
        let second = try cli.run(["lock"] + cli.scope + ["--", "true"])
        #expect(second.status == 1)
        #expect(second.err.contains("PID \(holder.processIdentifier)"), "\(second.err)")
        let otherTable = try cli.run(["lock", "--table", "other", "--bucket", "bkt", "--path-template", "p", "--", "true"])
        #expect(otherTable.status == 0, "\(otherTable.err)")
        let status = try JSONSerialization.jsonObject(with: cli.run(["status"]).stdout) as? [String: Any]
        #expect(status?["archiverRunning"] as? Bool == true)
        try "go\n".write(toFile: fifo, atomically: false, encoding: .utf8)
        holder.waitUntilExit()
        #expect(holder.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: pidFile))
        let failing = try cli.run(["lock"] + cli.scope + ["--", "sh", "-c", "exit 7"])
        #expect(failing.status == 7)
    }

    @Test("lock: SIGTERM stops the command too, removes archiver.pid and exits 130")
    func lockInterrupted() throws {
        let cli = try CacheCLI()
        let marker = cli.dir.path("child.pid")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: Package.tool("archive-cache"))
        holder.arguments = ["lock"] + cli.scope + ["--", "sh", "-c", "echo $$ > \(marker); exec sleep 600"]
        holder.environment = ProcessInfo.processInfo.environment.merging(cli.environment) { $1 }
        try holder.run()
        while !FileManager.default.fileExists(atPath: marker) || (try? String(contentsOfFile: marker, encoding: .utf8))?.hasSuffix("\n") != true {
            usleep(10_000)
        }
        let child = try #require(Int32(String(contentsOfFile: marker, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        holder.terminate()
        holder.waitUntilExit()
        #expect(holder.terminationStatus == 130)
        #expect(!FileManager.default.fileExists(atPath: cli.home + "/archiver.pid"))
        // The child was stopped (reaped by the holder, so the PID no longer exists).
        #expect(kill(child, 0) != 0)
    }
}
