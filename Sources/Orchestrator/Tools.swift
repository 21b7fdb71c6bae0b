import ArchiverConfig
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import ObjectStore
import Pipelines
import ToolSupport

/// The toolbox's executables, found beside the running data-archiver (or in `$PGARCHIVE_BIN`).
public struct ToolBox: Sendable {
    /// The folder holding the executables.
    public var directory: String

    /// A toolbox in `directory`.
    public init(directory: String) { self.directory = directory }

    /// The path of a tool.
    public func path(_ tool: String) -> String { directory + "/" + tool }

    /// Checks that every tool a run needs is there and executable.
    public func check(_ tools: [String]) throws {
        for tool in tools where access(path(tool), X_OK) != 0 {
            throw OrchestratorError("missing tool \(path(tool)): build the package (swift build -c release) or set PGARCHIVE_BIN")
        }
    }
}

/// A run failure of the orchestrator itself (not of one slice).
public struct OrchestratorError: Error, CustomStringConvertible, Sendable {
    /// One line.
    public var message: String
    /// The exit status it ends the run with (authentication and configuration errors have their own).
    public var status: ExitStatus
    /// An error with a message.
    public init(_ message: String, status: ExitStatus = .failure) {
        self.message = message
        self.status = status
    }
    public var description: String { message }
}

/// What each child may see of the orchestrator's environment: one allowlist per program, so a
/// secret reaches only the programs that use it (the database password only the programs that
/// connect to PostgreSQL, the S3 keys only s3put and s3get). Everything not listed is dropped.
/// To let a program see another variable, add it to that program's row of `byProgram`.
public enum ChildEnvironment {
    /// What every child gets: locale, paths, the toolbox's own `PGARCHIVE_*` and `ARCHIVE_HOME`,
    /// OpenSSL's configuration (the digests follow its providers). No secrets.
    public static let common = Allowlist(
        names: ["PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM", "ARCHIVE_HOME",
                "OPENSSL_CONF", "OPENSSL_MODULES"],
        prefixes: ["LC_", "PGARCHIVE_"])

    /// libpq's variables (PostgreSQL's "Environment Variables" section), the password and the
    /// password file among them: only for the programs that connect.
    public static let postgres = Allowlist(
        names: ["PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGPASSFILE", "PGCHANNELBINDING",
                "PGSERVICE", "PGSERVICEFILE", "PGOPTIONS", "PGAPPNAME", "PGSSLMODE", "PGREQUIRESSL", "PGSSLCOMPRESSION",
                "PGSSLCERT", "PGSSLKEY", "PGSSLROOTCERT", "PGSSLCRL", "PGSSLCRLDIR", "PGSSLSNI", "PGREQUIREPEER",
                "PGSSLMINPROTOCOLVERSION", "PGSSLMAXPROTOCOLVERSION", "PGGSSENCMODE", "PGKRBSRVNAME", "PGGSSLIB",
                "PGCONNECT_TIMEOUT", "PGCLIENTENCODING", "PGTARGETSESSIONATTRS", "PGSYSCONFDIR", "PGLOCALEDIR",
                "PGTZ", "PGDATESTYLE", "PGGEQO"],
        prefixes: [])

    /// The object store's settings and credentials (`docs/` and s3put(1) name them): only for
    /// s3put and s3get.
    public static let objectStore = Allowlist(
        names: Set(["ARCHIVE_S3_ENDPOINT", "ARCHIVE_S3_BUCKET", "ARCHIVE_S3_REGION", "AWS_ENDPOINT_URL_S3", "AWS_CA_BUNDLE"])
            .union(CredentialSource.variableNames),
        prefixes: [])

    /// The allowlist of each program beyond `common`; a program not named here gets `common` only.
    public static let byProgram: [String: Allowlist] = [
        "pg-partitions": postgres,
        "pg-extract": postgres,
        "pg-load": postgres,
        "pg_dump": postgres,
        "psql": postgres,
        "s3put": objectStore,
        "s3get": objectStore,
        "rowfmt": Allowlist(),
        "zcompress": Allowlist(),
        "archive-cache": Allowlist(),
        "pg_restore": Allowlist(),  // reads the dump on stdin, never connects
    ]

    /// The variables of `environment` that `program` may see.
    public static func filter(_ environment: [String: String], for program: String) -> [String: String] {
        let extra = byProgram[program] ?? Allowlist()
        return environment.filter { common.allows($0.key) || extra.allows($0.key) }
    }

    /// Whether `program` may see `variable`.
    public static func allows(_ variable: String, for program: String) -> Bool {
        common.allows(variable) || (byProgram[program]?.allows(variable) ?? false)
    }
}

/// Variable names and name prefixes a program may see.
public struct Allowlist: Sendable {
    /// Exact names.
    public var names: Set<String>
    /// Name prefixes (`LC_`).
    public var prefixes: [String]

    /// An allowlist (empty by default).
    public init(names: Set<String> = [], prefixes: [String] = []) {
        self.names = names
        self.prefixes = prefixes
    }

    /// Whether `name` is allowed.
    public func allows(_ name: String) -> Bool {
        names.contains(name) || prefixes.contains { name.hasPrefix($0) }
    }
}

/// How children are invoked: connection and store flags on argv, secrets only in the
/// environment of the programs that use them (`ChildEnvironment`).
public struct ChildInvocation: Sendable {
    /// The configuration of the run.
    public var config: ArchiverConfiguration
    /// The orchestrator's own environment; each child sees only its allowlist of it.
    public var baseEnvironment: [String: String]
    /// Where the tools are.
    public var tools: ToolBox
    /// The run's S3 credentials, handed to s3put and s3get (StoreCredentials).
    public var storeCredentials: CredentialProvider?
    /// The bucket's region found once for `--s3-region auto` (`resolveBucketRegion`), handed to
    /// every s3put and s3get; nil: the configured region.
    public var bucketRegion: String?

    /// An invocation context.
    public init(config: ArchiverConfiguration, baseEnvironment: [String: String], tools: ToolBox,
                storeCredentials: CredentialProvider? = nil) {
        self.config = config
        self.baseEnvironment = baseEnvironment
        self.tools = tools
        self.storeCredentials = storeCredentials
    }

    /// The environment of `program` (a tool, `pg_dump`, `psql`, …): its allowlist of the
    /// orchestrator's environment plus the resolved secrets it uses, which win over stale
    /// values the parent may carry (`PGPASSWORD` for the programs that connect to PostgreSQL,
    /// `ARCHIVE_S3_*` keys for s3put and s3get), plus `extra` (libpq settings for pg_dump).
    public func environment(for program: String, extra: [String: String] = [:]) -> [String: String] {
        var env = ChildEnvironment.filter(baseEnvironment, for: program)
        if let password = config.dbPassword, ChildEnvironment.allows("PGPASSWORD", for: program) {
            env["PGPASSWORD"] = password
        }
        if let key = config.s3AccessKey, ChildEnvironment.allows("ARCHIVE_S3_ACCESS_KEY", for: program) {
            env["ARCHIVE_S3_ACCESS_KEY"] = key
        }
        if let secret = config.s3SecretKey, ChildEnvironment.allows("ARCHIVE_S3_SECRET_KEY", for: program) {
            env["ARCHIVE_S3_SECRET_KEY"] = secret
        }
        for (name, value) in extra where ChildEnvironment.allows(name, for: program) { env[name] = value }
        // The run's resolved store credentials (temporary keys with their expiry), s3put and s3get only.
        for (name, value) in StoreCredentials.variables(storeCredentials) where ChildEnvironment.allows(name, for: program) {
            env[name] = value
        }
        return env
    }

    /// The secrets' values, to mask in any text shown to a person: the resolved ones and any
    /// secret variable of the orchestrator's environment.
    public var secrets: [String] {
        let inherited = ["PGPASSWORD", "ARCHIVE_DB_PASSWORD", "ARCHIVE_S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY",
                         "ARCHIVE_S3_SESSION_TOKEN", "AWS_SESSION_TOKEN"].compactMap { baseEnvironment[$0] }
        return ([config.dbPassword, config.s3SecretKey].compactMap { $0 } + StoreCredentials.secrets(storeCredentials) + inherited)
            .filter { !$0.isEmpty }
    }

    /// Connection flags for pg-partitions, pg-extract and pg-load.
    public var connectionArguments: [String] {
        var args = ["--db-host", config.dbHost, "--db-port", String(config.dbPort), "--db-sslmode", config.dbSSLMode,
                    "--db-statement-timeout", String(config.dbStatementTimeout), "--db-max-retries", String(config.dbMaxRetries),
                    "--db-retry-delay", String(config.dbRetryDelay)]
        if let user = config.dbUser { args += ["--db-user", user] }
        if let name = config.dbName { args += ["--db-name", name] }
        return args
    }

    /// Store flags for s3put and s3get.
    public var storeArguments: [String] {
        var args: [String] = []
        if let endpoint = config.s3Endpoint { args += ["--endpoint", endpoint] }
        if let bucket = config.s3Bucket { args += ["--bucket", bucket] }
        args += ["--region", bucketRegion ?? config.s3Region]
        if config.s3PathStyle { args.append("--path-style") }
        if config.s3VirtualHost { args.append("--virtual-host") }
        if let file = config.s3SSECustomerKeyFile { args += ["--sse-customer-key-file", file] }
        return args
    }

    /// Store flags for s3put uploads: `storeArguments` plus encryption and storage class.
    public var putArguments: [String] {
        var args = storeArguments
        if let sse = config.s3SSE { args += ["--sse", sse] }
        if let key = config.s3SSEKMSKeyID { args += ["--sse-kms-key-id", key] }
        if let storageClass = config.s3StorageClass { args += ["--storage-class", storageClass] }
        return args
    }

    /// A command for `tool` with `arguments` and that tool's environment.
    public func command(_ tool: String, _ arguments: [String]) -> Command {
        Command(executable: tools.path(tool), arguments: arguments, environment: environment(for: tool))
    }

    /// Replaces every secret in `text` with asterisks, only where it stands as a whole token
    /// (between characters that cannot be part of it: not letters, digits or the secret's own
    /// punctuation), so other text is never altered: a short secret inside a word stays.
    public func mask(_ text: String) -> String {
        SecretMask(secrets).apply(text)
    }
}

/// Masks secrets as whole tokens.
public struct SecretMask: Sendable {
    /// The values to hide, longest first.
    public let secrets: [String]

    /// A mask for `secrets` (empty values are ignored).
    public init(_ secrets: [String]) {
        self.secrets = Array(Set(secrets.filter { !$0.isEmpty })).sorted { $0.utf8.count > $1.utf8.count }
    }

    /// `text` with each whole-token occurrence of a secret replaced by `********`.
    public func apply(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var bytes = Array(text.utf8)
        for secret in secrets {
            let needle = Array(secret.utf8)
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var i = 0
            while i < bytes.count {
                if i + needle.count <= bytes.count, bytes[i] == needle[0], Array(bytes[i..<(i + needle.count)]) == needle,
                   i == 0 || Self.isBoundary(bytes[i - 1]),
                   i + needle.count == bytes.count || Self.isBoundary(bytes[i + needle.count]) {
                    out += Array("********".utf8)
                    i += needle.count
                } else {
                    out.append(bytes[i])
                    i += 1
                }
            }
            bytes = out
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A byte that ends a token: ASCII other than letters, digits and the characters secrets
    /// and keys are made of (`+/=_-.~`). Quotes, spaces, `:`, `@`, `&`, `,` and the like are boundaries.
    static func isBoundary(_ byte: UInt8) -> Bool {
        guard byte < 0x80 else { return false }
        let c = Character(Unicode.Scalar(byte))
        return !(c.isLetter || c.isNumber || "+/=_-.~".contains(c))
    }
}
