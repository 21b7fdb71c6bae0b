import ArgumentParser
import PGAccess
import ToolSupport

/// The connection flags every PostgreSQL tool shares (pg-partitions, pg-extract, pg-load).
///
/// Unset flags fall back to libpq's own `PG*` variables. The password never comes from argv:
/// the executable passes its environment, and `ARCHIVE_DB_PASSWORD` wins over `PGPASSWORD`.
public struct ConnectionOptions: ParsableArguments {
    /// The sslmode values libpq accepts.
    public static let sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

    @Option(name: .customLong("db-host"), help: ArgumentHelp("PostgreSQL host or socket directory (default: libpq's, PGHOST).", valueName: "host"))
    public var host: String?

    @Option(name: .customLong("db-port"), help: ArgumentHelp("PostgreSQL port (default: libpq's, PGPORT, else 5432).", valueName: "port"))
    public var port: Int?

    @Option(name: .customLong("db-user"), help: ArgumentHelp("PostgreSQL role (default: libpq's, PGUSER).", valueName: "role"))
    public var user: String?

    @Option(name: .customLong("db-name"), help: ArgumentHelp("Database name (default: libpq's, PGDATABASE).", valueName: "database"))
    public var database: String?

    @Option(name: .customLong("db-sslmode"), help: ArgumentHelp("SSL mode: disable, allow, prefer, require, verify-ca, verify-full.", valueName: "mode"))
    public var sslMode: String?

    @Option(name: .customLong("db-statement-timeout"), help: ArgumentHelp("Seconds for catalog and count queries (0: none); never limits the COPY.", valueName: "seconds"))
    public var statementTimeout: Int = 300

    @Option(name: .customLong("db-max-retries"), help: ArgumentHelp("Connection attempts retried after the first fails.", valueName: "n"))
    public var maxRetries: Int = 3

    @Option(name: .customLong("db-retry-delay"), help: ArgumentHelp("Seconds between connection attempts.", valueName: "seconds"))
    public var retryDelay: Int = 5

    /// Options with their defaults (ArgumentParser fills them).
    public init() {}

    public func validate() throws {
        if let sslMode, !Self.sslModes.contains(sslMode) {
            throw ValidationError("--db-sslmode must be one of \(Self.sslModes.joined(separator: ", ")), not \"\(sslMode)\"")
        }
        if let port, !(1...65535).contains(port) { throw ValidationError("--db-port must be 1-65535, not \(port)") }
        if statementTimeout < 0 { throw ValidationError("--db-statement-timeout must not be negative") }
        if maxRetries < 0 { throw ValidationError("--db-max-retries must not be negative") }
        if retryDelay < 0 { throw ValidationError("--db-retry-delay must not be negative") }
    }

    /// The connection parameters, with the password from `environment` (`ARCHIVE_DB_PASSWORD`, else libpq reads `PGPASSWORD`).
    public func parameters(environment: [String: String], applicationName: String) -> ConnectionParameters {
        var p = ConnectionParameters()
        p.host = host
        p.port = port
        p.user = user
        p.database = database
        p.sslMode = sslMode
        if let password = environment["ARCHIVE_DB_PASSWORD"], !password.isEmpty { p.password = password }
        p.statementTimeout = statementTimeout
        p.maxRetries = maxRetries
        p.retryDelay = retryDelay
        p.applicationName = applicationName
        p.onRetry = { attempt, of, delay, reason in
            warn(applicationName, "retrying the connection (attempt \(attempt) of \(of), in \(delay) s): \(reason)")
        }
        return p
    }
}

extension PGError {
    /// The error a tool exits with: a refused login has its own status (final, for alerting).
    public var toolError: ToolError { ToolError(message, status: kind == .authentication ? .authentication : .failure) }
}
