import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The seed README's example YAML file (the block after "Create `~/.data-archiver.yaml`:").
func seedYAML() throws -> String {
    let readme = try String(contentsOfFile: "/work/shared/seed/data-archiver-README.md", encoding: .utf8)
    guard let start = readme.range(of: "Create `~/.data-archiver.yaml`:\n\n```yaml\n"),
          let end = readme.range(of: "```", range: start.upperBound..<readme.endIndex) else {
        throw TestFailure("the seed README has no example YAML file")
    }
    return String(readme[start.upperBound..<end.lowerBound])
}

/// Errors an operator meets: wrong settings, refused logins, secrets, interruptions.
@Suite("operator experience", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct OperatorTests {
    @Test("restore with the seed's YAML file (output_format: jsonl, compression: zstd) restores Parquet objects: only restore's flags override detection")
    func seedYAMLRestore() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 50)
        #expect(try f.archive(["--output-format", "parquet"]).status == 0)
        // Parquet compresses inside the file: the cache records what its pages held before that.
        let listed = try run(Package.tool("archive-cache"), ["list"], environment: f.environment())
        for line in listed.out.split(separator: "\n") {
            let entry = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            let size = (entry["file_size"] as? NSNumber)?.intValue ?? 0, raw = (entry["uncompressed_size"] as? NSNumber)?.intValue ?? 0
            #expect(size > 0 && raw > size, "a real ratio: \(line)")
        }
        let yaml = f.home.path("seed.yaml")
        try seedYAML().write(toFile: yaml, atomically: true, encoding: .utf8)
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        // The file's db/s3 values are placeholders: flags and the environment win over them
        // (the password through ARCHIVE_DB_PASSWORD; moto here takes any key).
        let flags = ["restore", "--config", yaml, "--db-host", f.pg.host, "--db-port", f.pg.port, "--db-user", f.pg.user,
                     "--db-name", target, "--s3-endpoint", f.s3.endpoint, "--s3-bucket", f.bucket]
        let env = f.environment(["ARCHIVE_DB_PASSWORD": f.pg.password])
        let restored = try run(Package.tool("data-archiver"), flags, environment: env)
        #expect(restored.status == 0, "\(restored.err)")
        #expect(restored.err.contains("summary: 2 files: 2 restored, 0 failed; 100 rows read"), "\(restored.err)")
        // Restore's own flag does override: read as JSONL, the Parquet objects fail in rowfmt
        // (--reload: the load ledger records them as restored by the run above).
        let asked = try run(Package.tool("data-archiver"), flags + ["--output-format", "jsonl", "--reload"], environment: env)
        #expect(asked.status == 1)
        #expect(asked.err.contains("rowfmt (exit status 1): line 1: invalid JSON"), "\(asked.err)")
    }

    @Test("an unknown --path-template placeholder or a '..' segment is refused with exit 2, naming the known placeholders")
    func badTemplates() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 5)
        let year = try f.archive([], flags: f.flags(template: "archives/{table}/{YEAR}"))
        #expect(year.status == 2)
        #expect(year.err.contains("invalid --path-template: \"archives/{table}/{YEAR}\": unknown placeholder {YEAR} (known placeholders: {table}, {YYYY}, {MM}, {DD}, {HH})"),
                "\(year.err)")
        let escape = try f.archive([], flags: f.flags(template: "p8/../../other/{table}"))
        #expect(escape.status == 2)
        #expect(escape.err.contains("a \"..\" segment"), "\(escape.err)")
        // From the environment it is a configuration error (exit 5), named with its variable.
        var flags = f.flags()
        let i = flags.firstIndex(of: "--path-template")!
        flags.removeSubrange(i...(i + 1))
        let env = try f.archive([], flags: flags, env: ["ARCHIVE_S3_PATH_TEMPLATE": "a/{table}/{YEAR}"])
        #expect(env.status == 5, "\(env.err)")
        #expect(env.err.contains("invalid ARCHIVE_S3_PATH_TEMPLATE"), "\(env.err)")
        #expect(try f.objects().isEmpty)
    }

    @Test("a wrong PostgreSQL password fails at once: one attempt, under 2 s, exit 6 (authentication)")
    func wrongPassword() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 5)
        let started = Date()
        let result = try f.archive(["--db-max-retries", "3", "--db-retry-delay", "5"], env: ["PGPASSWORD": "wrong-\(UUID().uuidString)"])
        let seconds = Date().timeIntervalSince(started)
        #expect(result.status == 6, "\(result.err)")
        #expect(seconds < 2, "\(seconds) s")
        #expect(result.err.contains("password authentication failed"), "\(result.err)")
        #expect(!result.err.contains("retrying"), "\(result.err)")
        #expect(!result.err.contains("could not connect to PostgreSQL: could not connect"), "\(result.err)")
        // A server that is not there is retried, and each retry is logged with attempt, delay and reason.
        let down = try f.archive(["--db-port", "1", "--db-max-retries", "1", "--db-retry-delay", "0"])
        #expect(down.status == 1, "\(down.err)")
        #expect(down.err.contains("retrying the connection to PostgreSQL attempt=2 max_attempts=2 delay_seconds=0 reason="), "\(down.err)")
    }

    @Test("each child's environment holds only its own secrets (/proc/PID/environ)")
    func childEnvironments() throws {
        let f = try ArchiveFixture(days: 4, rowsPerDay: 40000)
        let secrets = ["PGPASSWORD": f.pg.password, "UNRELATED_API_TOKEN": "tok-\(UUID().uuidString)"]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Package.tool("data-archiver"))
        process.arguments = f.flags() + ["--workers", "1", "--compression", "gzip"]
        process.environment = f.environment(secrets)
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var seen: [String: String] = [:]
        let wanted: Set<String> = ["pg-extract", "rowfmt", "zcompress", "s3put"]
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline && !wanted.isSubset(of: Set(seen.keys)) {
            for p in f.markedProcesses() where seen[p.name] == nil && p.name != "data-archiver" {
                if let environ = FileManager.default.contents(atPath: "/proc/\(p.pid)/environ") {
                    seen[p.name] = String(decoding: environ, as: UTF8.self)
                }
            }
            usleep(2000)
        }
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(wanted.isSubset(of: Set(seen.keys)), "seen: \(seen.keys.sorted())")
        let s3Secret = f.s3.environment["AWS_SECRET_ACCESS_KEY"] ?? ""
        for (name, environ) in seen {
            let variables = Set(environ.split(separator: "\0").compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) })
            #expect(!variables.contains("UNRELATED_API_TOKEN"), "\(name)")
            #expect(!variables.contains("ARCHIVE_DB_PASSWORD"), "\(name)")
            let connects = ["pg-partitions", "pg-extract", "pg-load"].contains(name)
            #expect(variables.contains("PGPASSWORD") == connects, "\(name): \(variables.sorted())")
            let stores = ["s3put", "s3get"].contains(name)
            #expect(variables.contains("AWS_SECRET_ACCESS_KEY") == (stores && !s3Secret.isEmpty), "\(name): \(variables.sorted())")
            if !connects { #expect(!environ.contains(f.pg.password) || f.pg.password.isEmpty, "\(name)") }
        }
    }

    @Test("secret files: ARCHIVE_DB_PASSWORD_FILE and ARCHIVE_S3_SECRET_KEY_FILE; a secret flag warns once")
    func secretFiles() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 5)
        let file = f.home.path("pw")
        try (f.pg.password + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        var env = f.environment(["ARCHIVE_DB_PASSWORD_FILE": file])
        env["PGPASSWORD"] = nil
        let result = try run(Package.tool("data-archiver"), f.flags(), environment: env)
        #expect(result.status == 0, "\(result.err)")
        let missing = try f.archive([], env: ["ARCHIVE_DB_PASSWORD_FILE": f.home.path("none")])
        #expect(missing.status == 5, "\(missing.err)")
        #expect(missing.err.contains("could not read the secret file"), "\(missing.err)")
        let flagged = try f.archive(["--db-password", f.pg.password, "--dry-run"])
        #expect(flagged.status == 0, "\(flagged.err)")
        let warnings = flagged.err.split(separator: "\n").filter { $0.contains("a secret on the command line") }
        #expect(warnings.count == 1, "\(flagged.err)")
        #expect(warnings.first?.contains("flags=--db-password") == true)
    }

    @Test("--log-format json: every line is a JSON object, numbers are numbers, the summary has msg summary; usage errors too")
    func jsonLogs() throws {
        let f = try ArchiveFixture(days: 2, rowsPerDay: 20)
        let result = try f.archive(["--log-format", "json"])
        #expect(result.status == 0, "\(result.err)")
        var summary: [String: Any]?
        for line in result.err.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            #expect(object?["time"] is String && object?["level"] is String && object?["msg"] is String, "\(line)")
            if object?["msg"] as? String == "summary" { summary = object }
        }
        let s = try #require(summary, "\(result.err)")
        let raw = try #require(result.err.split(separator: "\n").first { $0.contains("\"msg\":\"summary\"") })
        for key in ["slices", "uploaded", "skipped", "empty", "failed", "rows", "bytes", "seconds"] {
            #expect(s[key] is NSNumber, "\(key): \(String(describing: s[key]))")
            #expect(raw.firstMatch(of: try Regex("\"\(key)\":-?[0-9]")) != nil, "\(key) is not a JSON number: \(raw)")
        }
        #expect((s["slices"] as? NSNumber)?.intValue == 2 && (s["rows"] as? NSNumber)?.intValue == 40)
        let logfmt = try f.archive(["--log-format", "logfmt"])
        #expect(logfmt.err.contains("msg=summary slices=2 uploaded=0 skipped=2 empty=0 failed=0"), "\(logfmt.err)")
        let usage = try f.archive(["--log-format", "json", "--workers", "zero"])
        #expect(usage.status == 2)
        let lines = usage.err.split(separator: "\n")
        #expect(lines.count == 1, "\(usage.err)")
        let object = try JSONSerialization.jsonObject(with: Data((lines.first ?? "").utf8)) as? [String: Any]
        #expect(object?["level"] as? String == "error")
        #expect((object?["exit_status"] as? NSNumber)?.intValue == 2)
    }

    @Test("HOME unset and no ARCHIVE_HOME: refused (exit 5), never /tmp")
    func noHome() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 5)
        let result = try run("/usr/bin/env", ["-u", "HOME", "-u", "ARCHIVE_HOME", Package.tool("data-archiver")] + f.flags(),
                             environment: f.environment())
        #expect(result.status == 5, "\(result.err)")
        #expect(result.err.contains("neither ARCHIVE_HOME nor HOME is set"), "\(result.err)")
    }

    @Test("restore keeps its scratch files under ARCHIVE_HOME/tmp (0700) and removes those of dead restores")
    func restoreScratch() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 5)
        #expect(try f.archive([]).status == 0)
        let tmp = f.home.path("tmp")
        try FileManager.default.createDirectory(atPath: tmp + "/restore-999999-0", withIntermediateDirectories: true)
        let target = try f.pg.createDatabase(prefix: "rest")
        defer { f.pg.dropDatabase(target) }
        #expect(try f.restore(into: target, []).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp).isEmpty)
        let mode = try FileManager.default.attributesOfItem(atPath: tmp)[.posixPermissions] as? Int
        #expect(mode == 0o700)
    }

    @Test("a short secret is masked only as a whole word: NoSuchBucket stays whole; the error says what was being checked")
    func shortSecretMasking() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 5)
        var flags = f.flags()
        flags[flags.firstIndex(of: "--s3-bucket")! + 1] = "no-such-bucket-\(UUID().uuidString.prefix(8).lowercased())"
        let result = try f.archive([], flags: flags, env: ["ARCHIVE_S3_ACCESS_KEY": "ck", "ARCHIVE_S3_SECRET_KEY": "ck"])
        #expect(result.status == 1, "\(result.err)")
        #expect(result.err.contains("checking the destination s3://no-such-bucket-"), "\(result.err)")
        #expect(result.err.contains("NoSuchBucket"), "\(result.err)")
        #expect(!result.err.contains("********"), "\(result.err)")
    }

    @Test("SIGTERM is logged as 'interrupted: SIGTERM received' before the summary; exit 130")
    func interruptedLogged() throws {
        let f = try ArchiveFixture(days: 3, rowsPerDay: 60_000)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try Package.tool("data-archiver"))
        p.arguments = f.flags() + ["--workers", "1"]
        p.environment = ProcessInfo.processInfo.environment.merging(f.environment()) { $1 }
        let err = f.home.path("stderr")
        FileManager.default.createFile(atPath: err, contents: nil)
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        #expect(try waitFor(seconds: 60) { f.markedProcesses().contains { $0.name == "pg-extract" } })
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 130)
        let text = try String(contentsOfFile: err, encoding: .utf8)
        #expect(text.contains("interrupted: SIGTERM received"), "\(text)")
    }

    @Test("dump --workers 8 of a whole database says once that it runs as one pg_dump and points to --split-tables")
    func dumpWorkersNote() throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 5)
        let result = try f.archive(["--workers", "8"], flags: f.dumpFlags("dump", template: "dumps/{table}"))
        #expect(result.status == 0, "\(result.err)")
        let notes = result.err.split(separator: "\n").filter { $0.contains("cannot run jobs in parallel") }
        #expect(notes.count == 1, "\(result.err)")
        #expect(notes.first?.contains("--split-tables") == true && notes.first?.contains("requested=8") == true)
    }
}
