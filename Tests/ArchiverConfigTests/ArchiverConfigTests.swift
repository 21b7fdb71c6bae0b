import Foundation
import SlicePlan
import Testing
import TestSupport
@testable import ArchiverConfig

/// Resolves a configuration the way data-archiver does, from in-memory sources.
func configure(_ arguments: [String], env: [String: String] = [:], yaml: String? = nil) throws -> ArchiverConfiguration {
    let parsed = try parseArchiverCommandLine(arguments)
    let file = try yaml.map { try ConfigFile(path: "test.yaml", text: $0) }
    let values = resolveSettings(command: parsed.command, flags: parsed.flags, environment: env, file: file, today: "2024-06-30")
    return try ArchiverConfiguration(command: parsed.command, values: values)
}

let required = ["--table", "flights", "--path-template", "a/{table}", "--s3-bucket", "b", "--s3-endpoint", "file:///tmp/x"]

@Suite("data-archiver configuration")
struct ArchiverConfigTests {
    @Test("a flag beats the variable, which beats the file, which beats the default")
    func precedence() throws {
        let yaml = "workers: 6\ndb:\n  host: filehost\n  port: 6000\ncompression: lz4\n"
        let env = ["ARCHIVE_WORKERS": "8", "ARCHIVE_DB_HOST": "envhost"]
        let c = try configure(required + ["--workers", "4"], env: env, yaml: yaml)
        #expect(c.workers == 4)
        #expect(c.values["workers"]?.origin == .flag("workers"))
        #expect(c.dbHost == "envhost")
        #expect(c.dbPort == 6000)
        #expect(c.values["db.port"]?.origin == .file(path: "test.yaml", line: 4, key: "db.port"))
        #expect(c.compression == "lz4")
        #expect(c.outputDuration == .daily)
        #expect(c.endDate == "2024-06-30")
    }

    @Test("nested keys work as ARCHIVE_ variables, path template included")
    func nestedVariables() throws {
        let env = ["ARCHIVE_S3_PATH_TEMPLATE": "x/{table}/{YYYY}", "ARCHIVE_S3_BUCKET": "envbucket", "ARCHIVE_TABLE": "events",
                   "ARCHIVE_S3_ENDPOINT": "http://127.0.0.1:9000", "ARCHIVE_CACHE_VIEWER": "true", "ARCHIVE_DB_PASSWORD": "pw"]
        let c = try configure([], env: env)
        #expect(c.pathTemplate == "x/{table}/{YYYY}")
        #expect(c.s3Bucket == "envbucket")
        #expect(c.table == "events")
        #expect(c.viewer)
        #expect(c.dbPassword == "pw")
    }

    @Test("the bare command runs archive, and flags may follow a command")
    func bareCommand() throws {
        #expect(try parseArchiverCommandLine(["--table", "t"]).command == .archive)
        #expect(try parseArchiverCommandLine(["restore", "--table", "t"]).command == .restore)
        #expect(try parseArchiverCommandLine(["--debug", "dump"]).command == .dump)
        #expect(try parseArchiverCommandLine(["-d"]).flags["debug"] == "true")
        #expect(try parseArchiverCommandLine(["--dry-run=false"]).flags["dry_run"] == "false")
        #expect(try parseArchiverCommandLine(["viewer", "--port", "9090"]).flags["viewer_port"] == "9090")
    }

    @Test("YAML accepts the seed's structure with both viewer and cache_viewer")
    func seedYAML() throws {
        let yaml = """
            db:
              host: localhost
              port: 5432
              user: myuser
              password: mypass
              name: mydb
              sslmode: disable
            s3:
              endpoint: https://objects.example
              bucket: my-archive-bucket
              access_key: your_access_key
              secret_key: your_secret_key
              region: auto
              path_template: "archives/{table}/{YYYY}/{MM}"
            table: flights
            output_format: jsonl
            compression: zstd
            compression_level: 3
            output_duration: daily
            workers: 8
            start_date: "2024-01-01"
            end_date: "2024-12-31"
            cache_viewer: false
            viewer_port: 8080
            """
        let c = try configure([], yaml: yaml)
        #expect(c.s3SecretKey == "your_secret_key")
        #expect(c.startDate == "2024-01-01" && c.endDate == "2024-12-31")
        #expect(!c.viewer)
        let other = try configure(required, yaml: "viewer: true\n")
        #expect(other.viewer)
    }

    @Test("invalid values name the flag, variable or file line they came from", arguments: [
        (["--workers", "0"], [:], nil, "invalid --workers: 0 is out of range (1-1000)"),
        ([], ["ARCHIVE_WORKERS": "2000"], nil, "invalid ARCHIVE_WORKERS: 2000 is out of range (1-1000)"),
        ([], [:], "db:\n  port: 70000\n", "invalid db.port in test.yaml line 2: 70000 is out of range (1-65535)"),
        (["--chunk-size", "99"], [:], nil, "invalid --chunk-size: 99 is out of range (100-1000000)"),
        (["--compression", "lz4", "--compression-level", "10"], [:], nil, "invalid --compression-level: 10 is out of range (1-9)"),
        (["--compression-level", "23"], [:], nil, "invalid --compression-level: 23 is out of range (1-22)"),
        (["--table", "bad-name"], [:], nil, "invalid --table: \"bad-name\" must match ^[a-zA-Z_][a-zA-Z0-9_]*$ and be at most 63 characters"),
        (["--path-template", "x/{YYYY}"], [:], nil, "invalid --path-template: \"x/{YYYY}\" must contain {table}"),
        (["--s3-region", "eu west"], [:], nil, "invalid --s3-region: \"eu west\" (expected auto or letters, digits, - and _)"),
        (["--start-date", "2024-02-30"], [:], nil, "invalid --start-date: \"2024-02-30\" is not a date (YYYY-MM-DD, today, yesterday or -Nd)"),
        (["--end-date", "-2w"], [:], nil, "invalid --end-date: \"-2w\" is not a date (YYYY-MM-DD, today, yesterday or -Nd)"),
        (["--start-date", "-1d", "--end-date", "-3d"], [:], nil,
         "invalid --start-date: 2024-06-29 is after the end date 2024-06-27 (--end-date)"),
        (["--start-date", "2024-03-01", "--end-date", "2024-02-01"], [:], nil,
         "invalid --start-date: 2024-03-01 is after the end date 2024-02-01 (--end-date)"),
        (["--output-format", "xml"], [:], nil, "invalid --output-format: \"xml\" (expected jsonl, csv, parquet)"),
    ] as [([String], [String: String], String?, String)])
    func invalid(arguments: [String], env: [String: String], yaml: String?, message: String) throws {
        let error = #expect(throws: ConfigError.self) { try configure(required + arguments, env: env, yaml: yaml) }
        #expect(error?.message == message)
    }

    @Test("dates relative to today (UTC) for cron, from flags, variables and the file, for every command that takes dates",
          arguments: [ArchiverCommand.archive, .dump, .dumpHybrid, .restore])
    func relativeDates(command: ArchiverCommand) throws {
        let base = required + ["--date-column", "at"]
        let c = try configure([command.rawValue] + base + ["--start-date", "-2d", "--end-date", "-1d"])
        #expect(c.startDate == "2024-06-28" && c.endDate == "2024-06-29")
        let fromEnv = try configure([command.rawValue] + base, env: ["ARCHIVE_START_DATE": "-31d", "ARCHIVE_END_DATE": "yesterday"])
        #expect(fromEnv.startDate == "2024-05-30" && fromEnv.endDate == "2024-06-29")
        let fromFile = try configure([command.rawValue] + base, yaml: "start_date: -366d\nend_date: today\n")
        #expect(fromFile.startDate == "2023-06-30" && fromFile.endDate == "2024-06-30")
        #expect(fromFile.values["start_date"]?.origin == .file(path: "test.yaml", line: 1, key: "start_date"))
        let absolute = try configure([command.rawValue] + base + ["--start-date", "2024-01-01", "--end-date", "-0d"])
        #expect(absolute.startDate == "2024-01-01" && absolute.endDate == "2024-06-30")
        #expect(relativeDate("-1d", today: "2024-03-01") == "2024-02-29")
        #expect(relativeDate("-1d", today: "2025-01-01") == "2024-12-31")
        for wrong in ["-d", "-1", "--1d", "-1.5d", "1d", "-1x", "+1d"] { #expect(relativeDate(wrong, today: "2024-06-30") == nil) }
    }

    @Test("--db-password-file: the first line of the file is the password unless one is given; an unreadable file is an error")
    func passwordFile() throws {
        let scratch = try TemporaryDirectory()
        try "s3cr3t pass\r\nsecond line\n".write(toFile: scratch.path("pw"), atomically: true, encoding: .utf8)
        #expect(try configure(required + ["--db-password-file", scratch.path("pw")]).dbPassword == "s3cr3t pass")
        #expect(try configure(required, env: ["ARCHIVE_DB_PASSWORD_FILE": scratch.path("pw")]).dbPassword == "s3cr3t pass")
        #expect(try configure(required + ["--db-password", "given", "--db-password-file", scratch.path("pw")]).dbPassword == "given")
        let missing = #expect(throws: ConfigError.self) { try configure(required + ["--db-password-file", scratch.path("absent")]) }
        #expect(missing?.message.hasPrefix("could not read the secret file \"\(scratch.path("absent"))\" (--db-password-file): ") == true,
                "\(missing?.message ?? "")")
        try "\n".write(toFile: scratch.path("empty"), atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try configure(required + ["--db-password-file", scratch.path("empty")]) }
    }

    @Test("command-line mistakes are usage errors with the seed's wording")
    func commandLineErrors() {
        #expect((#expect(throws: ConfigError.self) { try parseArchiverCommandLine(["--nope"]) })?.message == "unknown flag --nope")
        #expect((#expect(throws: ConfigError.self) { try parseArchiverCommandLine(["--workers"]) })?.message == "flag needs an argument: --workers")
        #expect((#expect(throws: ConfigError.self) { try parseArchiverCommandLine(["frobnicate"]) })?.message
                == "unknown command \"frobnicate\" (expected archive, dump, dump-hybrid, restore or viewer)")
        #expect((#expect(throws: ConfigError.self) { try parseArchiverCommandLine(["viewer", "--table", "t"]) })?.message
                == "flag --table does not apply to viewer")
    }

    @Test("a missing required setting names its flag, variable and key")
    func requiredSetting() {
        let error = #expect(throws: ConfigError.self) { try configure(["--table", "t", "--s3-bucket", "b", "--s3-endpoint", "file:///x"]) }
        #expect(error?.message == "required flag --path-template not set (or ARCHIVE_S3_PATH_TEMPLATE, or s3.path_template in the config file)")
    }

    @Test("an unknown or malformed YAML key is reported with its line")
    func badYAML() {
        let unknown = #expect(throws: ConfigError.self) { try ConfigFile(path: "c.yaml", text: "db:\n  hots: x\n") }
        #expect(unknown?.message == "unknown setting \"db.hots\" in c.yaml line 2")
        let list = #expect(throws: ConfigError.self) { try ConfigFile(path: "c.yaml", text: "workers: [1, 2]\n") }
        #expect(list?.message == "workers in c.yaml line 1: expected a single value")
        let broken = #expect(throws: ConfigError.self) { try ConfigFile(path: "c.yaml", text: "db: {host: x\n") }
        #expect(broken?.message.hasPrefix("could not parse c.yaml") == true)
    }

    @Test("--debug output masks every secret")
    func secretsMasked() throws {
        let c = try configure(required + ["--db-password", "hunter2", "--s3-secret-key", "s3cr3t", "--s3-access-key", "AKIA"])
        let text = c.debugDescription.joined(separator: "\n")
        #expect(!text.contains("hunter2") && !text.contains("s3cr3t") && !text.contains("AKIA"))
        #expect(text.contains("--db-password=********"))
    }

    @Test("help lists every flag of the command with its default")
    func help() {
        let text = archiverHelp(.archive, today: "2024-06-30")
        for s in archiverSettings where s.commands.contains(.archive) {
            #expect(text.contains("--\(s.flag)"))
        }
        #expect(text.contains("(default \"2024-06-30\")"))
    }

    @Test("restore's help says format and compression come from each object's extension, not archive's defaults")
    func restoreHelp() {
        let lines = archiverHelp(.restore, today: "2024-06-30").split(separator: "\n")
        for flag in ["--output-format", "--compression "] {
            let line = lines.first { $0.contains(flag) }
            #expect(line?.hasSuffix("(detected from each object's extension unless given)") == true, "\(String(describing: line))")
        }
        #expect(archiverHelp(.archive, today: "2024-06-30").contains("output format: jsonl, csv, parquet (default \"jsonl\")"))
    }
}

@Suite("settings documentation")
struct SettingsDocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("the README's settings table is the one the settings table generates")
    func readmeTable() throws {
        let table = archiverSettingsTable()
        if ProcessInfo.processInfo.environment["PGARCHIVE_WRITE_DOCS"] != nil {
            try table.write(to: Self.root.appendingPathComponent("docs/settings-table.md"), atomically: true, encoding: .utf8)
        }
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains(table), "README.md's settings table is out of date; regenerate it with PGARCHIVE_WRITE_DOCS=1 swift test --filter SettingsDocumentation")
    }

    @Test("the man page documents every flag, variable and YAML key")
    func manPage() throws {
        let page = try String(contentsOf: Self.root.appendingPathComponent("man/data-archiver.1"), encoding: .utf8)
        for s in archiverSettings where !s.commands.isDisjoint(with: availableArchiverCommands) {
            #expect(page.contains("Fl -\(s.flag)"), "man/data-archiver.1 lacks --\(s.flag)")
            if s.key != "config" && !s.flagOnly {
                #expect(page.contains(s.environmentName), "man/data-archiver.1 lacks \(s.environmentName)")
                #expect(page.contains(s.key), "man/data-archiver.1 lacks \(s.key)")
            }
        }
    }
}

@Suite("dump compression level")
struct DumpCompressionLevelTests {
    let dest = ["--path-template", "a/{table}", "--s3-bucket", "b", "--s3-endpoint", "file:///tmp/x"]

    @Test("dumps use pg_dump -Z 9 unless --compression-level is given on the command line")
    func level() throws {
        #expect(try configure(["dump"] + dest).dumpCompressionLevel == 9)
        #expect(try configure(["dump", "--compression-level", "4"] + dest).dumpCompressionLevel == 4)
        #expect(try configure(["dump-hybrid", "--table", "t", "--date-column", "ts", "--compression-level", "0"] + dest).dumpCompressionLevel == 0)
        // The archive's zstd level in the file or the environment neither applies to nor breaks a dump.
        #expect(try configure(["dump"] + dest, env: ["ARCHIVE_COMPRESSION_LEVEL": "19"]).dumpCompressionLevel == 9)
        #expect(try configure(["dump"] + dest, yaml: "compression_level: 12\n").dumpCompressionLevel == 9)
        #expect(throws: ConfigError.self) { try configure(["dump", "--compression-level", "12"] + dest) }
    }
}

@Suite("retire settings")
struct RetireSettingsTests {
    static let base = ["retire", "--table", "flights", "--path-template", "a/{table}", "--s3-bucket", "b", "--s3-endpoint", "file:///tmp/x"]

    @Test("defaults, durations and ages")
    func values() throws {
        let d = try configure(Self.base)
        #expect(d.retireMode == "drop" && d.lockTimeoutMilliseconds == 2000 && d.lockRetries == 10 && d.olderThanSeconds == nil && !d.forceRetire)
        let c = try configure(Self.base + ["--retire-mode", "move:attic", "--lock-timeout", "500ms", "--lock-retries", "0",
                                           "--older-than", "90d", "--force-retire", "--dry-run"])
        #expect(c.retireMode == "move:attic" && c.lockTimeoutMilliseconds == 500 && c.lockRetries == 0 && c.olderThanSeconds == 90 * 86400)
        #expect(c.forceRetire && c.dryRun)
        #expect(try configure(Self.base + ["--lock-timeout", "3"]).lockTimeoutMilliseconds == 3000)
    }

    @Test("invalid values are refused, named", arguments: [
        (["--retire-mode", "truncate"], "invalid --retire-mode: \"truncate\" (expected drop, detach or move:SCHEMA)"),
        (["--retire-mode", "move:bad-schema"], "invalid --retire-mode: \"move:bad-schema\" (expected drop, detach or move:SCHEMA)"),
        (["--lock-timeout", "0s"], "invalid --lock-timeout: \"0s\" (expected a duration such as 2s or 500ms)"),
        (["--lock-retries", "-1"], "invalid --lock-retries: \"-1\" (expected a number of retries, 0 or more)"),
        (["--older-than", "3w"], "invalid --older-than: \"3w\" (expected an age such as 90d or 12h)"),
    ] as [([String], String)])
    func invalid(arguments: [String], message: String) {
        let error = #expect(throws: ConfigError.self) { try configure(Self.base + arguments) }
        #expect(error?.message == message)
    }
}

@Suite("restore flags taken from the command line only")
struct FlagOnlyTests {
    let restore = ["restore", "--table", "t", "--path-template", "a/{table}", "--s3-bucket", "b", "--s3-endpoint", "file:///tmp/x"]

    @Test("--reload and --allow-lossy-cast come from flags; the environment does not set them and the YAML file may not")
    func flagOnly() throws {
        #expect(try configure(restore).reload == false)
        #expect(try configure(restore + ["--reload", "--allow-lossy-cast"]).reload == true)
        #expect(try configure(restore + ["--allow-lossy-cast"]).allowLossyCast == true)
        let env = try configure(restore, env: ["ARCHIVE_RELOAD": "true", "ARCHIVE_ALLOW_LOSSY_CAST": "true"])
        #expect(env.reload == false && env.allowLossyCast == false)
        let file = #expect(throws: ConfigError.self) { try ConfigFile(path: "c.yaml", text: "reload: true\n") }
        #expect(file?.message == "reload in c.yaml line 1 is taken from the command line only (--reload)")
        #expect(archiverSettingsTable().contains("| `--reload` | (flag only) | (flag only) |"))
    }
}
