import ArchiverConfig
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import ObjectStore
import Pipelines

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
    /// An error with a message.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// How children are invoked: connection and store flags on argv, secrets only in the environment.
public struct ChildInvocation: Sendable {
    /// The configuration of the run.
    public var config: ArchiverConfiguration
    /// The orchestrator's own environment, passed on with the secrets added.
    public var baseEnvironment: [String: String]
    /// Where the tools are.
    public var tools: ToolBox
    /// The run's S3 credentials, handed to s3put and s3get (StoreCredentials).
    public var storeCredentials: CredentialProvider?

    /// An invocation context.
    public init(config: ArchiverConfiguration, baseEnvironment: [String: String], tools: ToolBox,
                storeCredentials: CredentialProvider? = nil) {
        self.config = config
        self.baseEnvironment = baseEnvironment
        self.tools = tools
        self.storeCredentials = storeCredentials
    }

    /// The children's environment: the parent's, plus the resolved secrets (which must win over
    /// stale `ARCHIVE_*`/`PG*` values the parent may carry).
    public var environment: [String: String] {
        var env = baseEnvironment
        if let password = config.dbPassword {
            env["PGPASSWORD"] = password
            env["ARCHIVE_DB_PASSWORD"] = password
        }
        if let key = config.s3AccessKey { env["ARCHIVE_S3_ACCESS_KEY"] = key }
        if let secret = config.s3SecretKey { env["ARCHIVE_S3_SECRET_KEY"] = secret }
        env.merge(StoreCredentials.variables(storeCredentials)) { $1 }
        return env
    }

    /// The secrets' values, to mask in any text shown to a person.
    public var secrets: [String] {
        ([config.dbPassword, config.s3AccessKey, config.s3SecretKey].compactMap { $0 } + StoreCredentials.secrets(storeCredentials))
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
        args += ["--region", config.s3Region]
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

    /// A command for `tool` with `arguments` and the children's environment.
    public func command(_ tool: String, _ arguments: [String]) -> Command {
        Command(executable: tools.path(tool), arguments: arguments, environment: environment)
    }

    /// Replaces every secret in `text` with asterisks.
    public func mask(_ text: String) -> String {
        secrets.reduce(text) { $0.replacing($1, with: "********") }
    }
}
