import ArchiveLayout
import SlicePlan
import ToolSupport
#if canImport(Glibc)
import Glibc
#endif

/// File formats of archived slices.
public enum OutputFormat: String, CaseIterable, Sendable {
    case jsonl, csv, parquet
}

/// Partition ranges restore can create.
public enum PartitionRange: String, CaseIterable, Sendable {
    case hourly, daily, monthly, quarterly, yearly
}

/// What `dump` writes.
public enum DumpMode: String, CaseIterable, Sendable {
    case schemaOnly = "schema-only"
    case dataOnly = "data-only"
    case schemaAndData = "schema-and-data"
}

/// Log line formats when stderr is not a terminal.
public enum LogFormat: String, CaseIterable, Sendable {
    case text, logfmt, json
}

/// data-archiver's validated settings for one run: built once at the edge, then passed down.
public struct ArchiverConfiguration: Sendable {
    /// The command being run.
    public var command: ArchiverCommand
    /// Every resolved setting with its origin (secrets included: never print `values` whole).
    public var values: [String: SettingValue]

    public var dbHost: String { text("db.host") ?? "localhost" }
    public var dbPort: Int { integer("db.port") ?? 5432 }
    public var dbUser: String? { text("db.user") }
    public var dbPassword: String? { text("db.password") }
    public var dbName: String? { text("db.name") }
    public var dbSSLMode: String { text("db.sslmode") ?? "disable" }
    public var dbSchema: String { text("db.schema") ?? "public" }
    public var dbStatementTimeout: Int { integer("db.statement_timeout") ?? 300 }
    public var dbMaxRetries: Int { integer("db.max_retries") ?? 3 }
    public var dbRetryDelay: Int { integer("db.retry_delay") ?? 5 }
    public var s3Endpoint: String? { text("s3.endpoint") }
    public var s3Bucket: String? { text("s3.bucket") }
    public var s3AccessKey: String? { text("s3.access_key") }
    public var s3SecretKey: String? { text("s3.secret_key") }
    public var s3Region: String { text("s3.region") ?? "auto" }
    public var s3SSE: String? { text("s3.sse") }
    public var s3SSEKMSKeyID: String? { text("s3.sse_kms_key_id") }
    public var s3SSECustomerKeyFile: String? { text("s3.sse_customer_key_file") }
    public var s3StorageClass: String? { text("s3.storage_class") }
    public var s3PathStyle: Bool { boolean("s3.path_style") }
    public var s3VirtualHost: Bool { boolean("s3.virtual_host") }
    /// Whether objects' ETags are no MD5 of their bytes (SSE-KMS, SSE-C).
    public var s3OpaqueETags: Bool { s3SSE == "aws:kms" || s3SSECustomerKeyFile != nil }
    public var pathTemplate: String? { text("s3.path_template") }
    public var table: String? { text("table") }
    public var outputFormat: OutputFormat { text("output_format").flatMap(OutputFormat.init) ?? .jsonl }
    public var compression: String { text("compression") ?? "zstd" }
    /// The level given by flag, variable or file, or nil when only the default applies.
    public var explicitCompressionLevel: Int? { values["compression_level"]?.origin == .builtIn ? nil : integer("compression_level") }
    public var compressionLevel: Int { integer("compression_level") ?? 3 }
    /// pg_dump's `-Z` for dump and dump-hybrid: 9 unless `--compression-level` is on the command
    /// line (the archive's variable or YAML key does not apply to dumps).
    public var dumpCompressionLevel: Int { isFlag("compression_level") ? integer("compression_level") ?? 9 : 9 }
    public var outputDuration: OutputDuration { text("output_duration").flatMap(OutputDuration.init) ?? .daily }
    public var dateColumn: String? { text("date_column") }
    public var chunkSize: Int { integer("chunk_size") ?? 10000 }
    public var specialValuesAsText: Bool { boolean("special_values_as_text") }
    public var workers: Int { integer("workers") ?? 4 }
    public var startDate: String? { text("start_date") }
    public var endDate: String? { text("end_date") }
    public var skipCount: Bool { boolean("skip_count") }
    /// The age past which any incomplete upload under the prefix is aborted (s3put's duration syntax).
    public var abortOlderThan: String { text("abort_older_than") ?? "24h" }
    /// `--shard I/N`, nil when not sharded.
    public var shard: Shard? { text("shard").flatMap(Shard.init) }
    public var includeNonPartitionTables: Bool { boolean("include_non_partition_tables") }
    public var allowUnwindowed: Bool { boolean("allow_unwindowed") }
    public var force: Bool { boolean("force") }
    public var dumpMode: DumpMode { text("dump_mode").flatMap(DumpMode.init) ?? .schemaAndData }
    public var splitTables: Bool { boolean("split_tables") }
    public var tablePartitionRange: PartitionRange? { text("table_partition_range").flatMap(PartitionRange.init) }
    public var tablePartitionTemplate: String? { text("table_partition_template") }
    public var targetTable: String? { text("target_table") }
    public var allowLossyCast: Bool { boolean("allow_lossy_cast") }
    public var reload: Bool { boolean("reload") }
    public var generatedAsData: Bool { boolean("generated_as_data") }
    public var dryRun: Bool { boolean("dry_run") }
    public var verifyDeep: Bool { boolean("verify.deep") }
    public var verifyAgainstSource: Bool { boolean("verify.against_source") }
    public var retireMode: String { text("retire.mode") ?? "drop" }
    /// `--lock-timeout` in milliseconds (validated).
    public var lockTimeoutMilliseconds: Int { text("retire.lock_timeout").flatMap(parseMilliseconds) ?? 2000 }
    public var lockRetries: Int { integer("retire.lock_retries") ?? 10 }
    /// `--older-than` in seconds (validated), nil when not given.
    public var olderThanSeconds: Int64? { text("retire.older_than").flatMap(parseAge) }
    public var forceRetire: Bool { boolean("retire.force") }
    public var debug: Bool { boolean("debug") }
    public var logFormat: LogFormat { text("log_format").flatMap(LogFormat.init) ?? .text }
    public var viewer: Bool { boolean("cache_viewer") }
    public var viewerPort: Int { integer("viewer_port") ?? 8080 }
    public var viewerBind: String { text("viewer_bind") ?? "127.0.0.1" }

    /// A setting's text, nil when unset or empty.
    public func text(_ key: String) -> String? {
        guard let v = values[key]?.text, !v.isEmpty else { return nil }
        return v
    }

    func integer(_ key: String) -> Int? { text(key).flatMap { Int($0) } }
    func isFlag(_ key: String) -> Bool { if case .flag = values[key]?.origin { true } else { false } }
    func boolean(_ key: String) -> Bool { text(key).flatMap(parseBool) ?? false }

    /// Builds and validates the configuration of one run.
    public init(command: ArchiverCommand, values: [String: SettingValue]) throws(ConfigError) {
        self.command = command
        self.values = values
        try validate()
        try readSecretFiles()
    }

    /// The secrets given on the command line (visible to every user in /proc/PID/cmdline), as
    /// their flags: `--db-password`, `--s3-secret-key`, `--s3-access-key`.
    public var secretFlags: [String] {
        archiverSettings.filter { $0.isSecret && isFlag($0.key) }.map { "--" + $0.flag }
    }

    /// Reads `db.password_file` and `s3.secret_key_file` into the secrets they hold, when the
    /// secret itself is not set: the file's first line.
    mutating func readSecretFiles() throws(ConfigError) {
        for (fileKey, key) in [("db.password_file", "db.password"), ("s3.secret_key_file", "s3.secret_key")] {
            guard let path = text(fileKey), text(key) == nil else { continue }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw ConfigError("could not read the secret file \"\(path)\" (\(origin(fileKey))): \(String(cString: strerror(errno)))",
                                  usage: false)
            }
            defer { close(fd) }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while bytes.count < 1 << 20 {
                let n = read(fd, &chunk, chunk.count)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                bytes += chunk[0..<n]
            }
            // The secret is the file's first line (a mounted secret may end with a line break).
            if let end = bytes.firstIndex(of: UInt8(ascii: "\n")) { bytes.removeSubrange(end...) }
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            guard !bytes.isEmpty else {
                throw ConfigError("the secret file \"\(path)\" (\(origin(fileKey))) is empty", usage: false)
            }
            values[key] = SettingValue(text: String(decoding: bytes, as: UTF8.self), origin: values[fileKey]!.origin)
        }
    }

    /// Every setting's value as `--flag=value (origin)`, secrets masked — for `--debug`.
    public var debugDescription: [String] {
        archiverSettings.compactMap { s in
            guard let v = values[s.key] else { return nil }
            return "--\(s.flag)=\(s.isSecret ? "********" : v.text) (\(v.origin))"
        }
    }
}

extension ArchiverConfiguration {
    /// Where a setting came from, for messages ("--workers", "ARCHIVE_WORKERS", "workers in f.yaml line 3").
    func origin(_ key: String) -> String {
        values[key].map { "\($0.origin)" } ?? "--\(archiverSetting(key)?.flag ?? key)"
    }

    func invalid(_ key: String, _ reason: String) -> ConfigError {
        ConfigError("invalid \(origin(key)): \(reason)", usage: values[key] == nil || isFlag(key))
    }

    func require(_ key: String) throws(ConfigError) {
        guard text(key) != nil else {
            let s = archiverSetting(key)!
            throw ConfigError("required flag --\(s.flag) not set (or \(s.environmentName), or \(s.key) in the config file)")
        }
    }

    func validateChoice<T: RawRepresentable & CaseIterable>(_ key: String, _: T.Type) throws(ConfigError) where T.RawValue == String {
        guard let value = text(key) else { return }
        guard T(rawValue: value) != nil else {
            throw invalid(key, "\"\(value)\" (expected \(T.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    func validateInteger(_ key: String, _ range: ClosedRange<Int>) throws(ConfigError) {
        guard let value = text(key) else { return }
        guard let n = Int(value) else { throw invalid(key, "\"\(value)\" is not a whole number") }
        guard range.contains(n) else { throw invalid(key, "\(n) is out of range (\(range.lowerBound)-\(range.upperBound))") }
    }

    func validateBoolean(_ key: String) throws(ConfigError) {
        guard let value = text(key) else { return }
        guard parseBool(value) != nil else { throw invalid(key, "\"\(value)\" (expected true or false)") }
    }

    func validateDate(_ key: String) throws(ConfigError) {
        guard let value = text(key) else { return }
        guard CalendarDate(value) != nil else { throw invalid(key, "\"\(value)\" is not a date (YYYY-MM-DD, today, yesterday or -Nd)") }
    }

    func validateIdentifier(_ key: String) throws(ConfigError) {
        guard let value = text(key) else { return }
        guard isPlainIdentifier(value) else {
            throw invalid(key, "\"\(value)\" must match ^[a-zA-Z_][a-zA-Z0-9_]*$ and be at most 63 characters")
        }
    }

    mutating func validate() throws(ConfigError) {
        for s in archiverSettings where values[s.key] != nil {
            switch s.kind {
            case .boolean: try validateBoolean(s.key)
            case .date: try validateDate(s.key)
            case .integer: try validateInteger(s.key, Int.min...Int.max)
            case .string: break
            }
        }
        try validateIdentifier("table")
        try validateIdentifier("target_table")
        try validateIdentifier("date_column")
        try validateIdentifier("db.schema")
        try validateChoice("output_format", OutputFormat.self)
        try validateChoice("output_duration", OutputDuration.self)
        try validateChoice("table_partition_range", PartitionRange.self)
        try validateChoice("dump_mode", DumpMode.self)
        try validateChoice("log_format", LogFormat.self)
        if let mode = text("db.sslmode"), !["disable", "allow", "prefer", "require", "verify-ca", "verify-full"].contains(mode) {
            throw invalid("db.sslmode", "\"\(mode)\" (expected disable, allow, prefer, require, verify-ca or verify-full)")
        }
        let levels: [String: ClosedRange<Int>] = ["zstd": 1...22, "lz4": 1...9, "gzip": 1...9, "none": 0...0]
        if let codec = text("compression") {
            guard let range = levels[codec] else { throw invalid("compression", "\"\(codec)\" (expected zstd, lz4, gzip, none)") }
            // The built-in level 3 means "the codec's usual level" for none.
            if command == .archive, explicitCompressionLevel != nil || codec != "none" {
                try validateInteger("compression_level", range)
            }
        }
        if (command == .dump || command == .dumpHybrid) && isFlag("compression_level") { try validateInteger("compression_level", 0...9) }
        try validateInteger("workers", 1...1000)
        if let shard = text("shard"), Shard(shard) == nil {
            throw invalid("shard", "\"\(shard)\" (expected I/N with 0 <= I < N, e.g. 0/3)")
        }
        if let age = text("abort_older_than") {
            let digits = age.last.map { "smhd".contains($0) } == true ? age.dropLast() : Substring(age)
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), UInt64(digits) != nil else {
                throw invalid("abort_older_than", "\"\(age)\" (expected seconds, or a number with s, m, h or d)")
            }
        }
        try validateInteger("chunk_size", 100...1_000_000)
        try validateInteger("db.port", 1...65535)
        try validateInteger("viewer_port", 0...65535)
        try validateInteger("db.statement_timeout", 0...86400 * 7)
        try validateInteger("db.max_retries", 0...100)
        try validateInteger("db.retry_delay", 0...3600)
        if let region = text("s3.region"), region != "auto",
           !region.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
            throw invalid("s3.region", "\"\(region)\" (expected auto or letters, digits, - and _)")
        }
        if let sse = text("s3.sse"), sse != "AES256" && sse != "aws:kms" { throw invalid("s3.sse", "\"\(sse)\" (expected AES256 or aws:kms)") }
        if text("s3.sse_kms_key_id") != nil && text("s3.sse") != "aws:kms" { throw invalid("s3.sse_kms_key_id", "needs --s3-sse aws:kms") }
        if text("s3.sse_customer_key_file") != nil && text("s3.sse") != nil {
            throw invalid("s3.sse_customer_key_file", "excludes --s3-sse (an object has one kind of server-side encryption)")
        }
        if s3PathStyle && s3VirtualHost { throw invalid("s3.virtual_host", "excludes --s3-path-style") }
        if let storageClass = text("s3.storage_class"), storageClass.isEmpty || !storageClass.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "_") }) {
            throw invalid("s3.storage_class", "\"\(storageClass)\" (expected an S3 storage class such as STANDARD_IA)")
        }
        if let template = pathTemplate, !template.contains("{table}") {
            throw invalid("s3.path_template", "\"\(template)\" must contain {table}")
        }
        if let template = pathTemplate, let problem = ArchiveLayout.templateProblem(template) {
            throw invalid("s3.path_template", "\"\(template)\": \(problem)")
        }
        if let start = text("start_date").flatMap(CalendarDate.init), let end = text("end_date").flatMap(CalendarDate.init), start > end {
            throw ConfigError("invalid \(origin("start_date")): \(start) is after the end date \(end) (\(origin("end_date")))")
        }
        if let mode = text("retire.mode"), !(mode == "drop" || mode == "detach" || (mode.hasPrefix("move:") && isPlainIdentifier(String(mode.dropFirst(5))))) {
            throw invalid("retire.mode", "\"\(mode)\" (expected drop, detach or move:SCHEMA)")
        }
        if let timeout = text("retire.lock_timeout"), (parseMilliseconds(timeout) ?? 0) <= 0 {
            throw invalid("retire.lock_timeout", "\"\(timeout)\" (expected a duration such as 2s or 500ms)")
        }
        if let retries = text("retire.lock_retries"), (Int(retries) ?? -1) < 0 {
            throw invalid("retire.lock_retries", "\"\(retries)\" (expected a number of retries, 0 or more)")
        }
        if let age = text("retire.older_than"), parseAge(age) == nil {
            throw invalid("retire.older_than", "\"\(age)\" (expected an age such as 90d or 12h)")
        }
        switch command {
        case .archive:
            try require("table")
            try require("s3.path_template")
            try require("s3.bucket")
            try require("s3.endpoint")
        case .restore, .verify, .retire:
            try require("table")
            try require("s3.path_template")
            try require("s3.bucket")
            try require("s3.endpoint")
        case .dump, .dumpHybrid:
            try require("s3.path_template")
            try require("s3.bucket")
            try require("s3.endpoint")
            if command == .dumpHybrid {
                try require("table")
                try require("date_column")
            }
        case .viewer:
            break
        }
    }
}

/// Whether a name matches `^[a-zA-Z_][a-zA-Z0-9_]*$` and has at most 63 characters.
public func isPlainIdentifier(_ name: String) -> Bool {
    guard let first = name.first, name.count <= 63, first.isASCII, first.isLetter || first == "_" else { return false }
    return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
}

/// A Gregorian calendar date parsed from `YYYY-MM-DD`.
public struct CalendarDate: Comparable, Sendable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    /// Parses `YYYY-MM-DD`, checking the day exists (leap years included).
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), (1...12).contains(m) else { return nil }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
        guard (1...days).contains(d) else { return nil }
        year = y; month = m; day = d
    }

    public static func < (a: CalendarDate, b: CalendarDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    public var description: String {
        let y = String(year), m = String(month), d = String(day)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + (m.count < 2 ? "0" : "") + m + "-" + (d.count < 2 ? "0" : "") + d
    }
}

/// `2s`, `500ms`, `1m` or a bare number of seconds, in milliseconds; nil when not a duration.
func parseMilliseconds(_ text: String) -> Int? {
    for (suffix, factor) in [("ms", 1), ("s", 1000), ("m", 60_000)] where text.hasSuffix(suffix) {
        return Int(text.dropLast(suffix.count)).flatMap { $0 >= 0 ? $0 * factor : nil }
    }
    return Int(text).flatMap { $0 >= 0 ? $0 * 1000 : nil }
}

/// `90d`, `12h` or `30m`, in seconds; nil when not an age.
func parseAge(_ text: String) -> Int64? {
    for (suffix, factor) in [("d", Int64(86400)), ("h", 3600), ("m", 60)] where text.hasSuffix(suffix) {
        return Int64(text.dropLast(suffix.count)).flatMap { $0 >= 0 ? $0 * factor : nil }
    }
    return nil
}
