import ArchiverConfig
import RunDisplay
import PGAccess
import ToolSupport

/// What the run learns from the server before it starts any pipeline.
public struct ServerFacts: Sendable {
    /// Connections a run may still open without crowding others out.
    public var spareConnections: Int
}

/// The libpq parameters of the configured database (`database` overrides its name).
func connectionParameters(_ config: ArchiverConfiguration, database: String? = nil) -> ConnectionParameters {
    var parameters = ConnectionParameters()
    parameters.host = config.dbHost
    parameters.port = config.dbPort
    parameters.user = config.dbUser
    parameters.database = config.dbName
    parameters.sslMode = config.dbSSLMode
    parameters.password = config.dbPassword
    parameters.statementTimeout = config.dbStatementTimeout
    parameters.maxRetries = config.dbMaxRetries
    parameters.retryDelay = config.dbRetryDelay
    parameters.applicationName = "data-archiver"
    if let database { parameters.database = database }
    return parameters
}

/// One connection with the run's settings (retried as configured).
func connect(_ config: ArchiverConfiguration, onRetry: ConnectionRetry? = nil) throws -> PGConnection {
    var parameters = connectionParameters(config)
    parameters.onRetry = onRetry
    do {
        return try PGConnection(parameters)
    } catch let error as PGError {
        throw OrchestratorError(error)
    }
}

/// What a connection calls before each retry: (attempt, attempts allowed, delay in seconds, reason).
public typealias ConnectionRetry = @Sendable (Int, Int, Int, String) -> Void

/// A connection retry as an info log line with its attempt, delay and reason.
func logConnectionRetry(_ display: RunDisplay) -> ConnectionRetry {
    { attempt, of, delay, reason in
        display.log(.info, "retrying the connection to PostgreSQL", [("attempt", "\(attempt)"), ("max_attempts", "\(of)"),
                                                                     ("delay_seconds", "\(delay)"), ("reason", reason)])
    }
}

extension OrchestratorError {
    /// A PostgreSQL failure: its own message (it says what failed), a refused login with the
    /// authentication status.
    init(_ error: PGError) {
        self.init(error.message, status: error.kind == .authentication ? .authentication : .failure)
    }
}

let spareConnectionsSQL = """
    current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
      - (SELECT count(*) FROM pg_stat_activity)::int
    """

/// Connects once, checks the privileges the run needs (naming what is missing), and reads how
/// many connections the server can spare for workers. Without a table only the schema is checked.
public func preflight(_ config: ArchiverConfiguration, onRetry: ConnectionRetry? = nil) throws -> ServerFacts {
    let connection = try connect(config, onRetry: onRetry)
    let schema = config.dbSchema
    let table = config.table ?? ""
    let rows = try connection.query("""
        SELECT has_schema_privilege(n.oid, 'USAGE'),
               c.oid IS NOT NULL,
               \(spareConnectionsSQL)
        FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = $2
        WHERE n.nspname = $1
        """, [schema, table])
    guard let row = rows.first else { throw OrchestratorError("schema \"\(schema)\" does not exist") }
    guard row[0] == "t" else { throw OrchestratorError("permission denied: role has no USAGE on schema \"\(schema)\"") }
    guard table.isEmpty || row[1] == "t" else { throw OrchestratorError("table \"\(schema).\(table)\" does not exist") }
    return ServerFacts(spareConnections: Int(row[2] ?? "") ?? 1)
}

/// Before a restore: connects once, checks the target schema is usable (USAGE, and CREATE when
/// the table must be created), and reads how many connections the server can spare.
func restorePreflight(_ config: ArchiverConfiguration, table: String, onRetry: ConnectionRetry? = nil) throws -> ServerFacts {
    let connection = try connect(config, onRetry: onRetry)
    let schema = config.dbSchema
    let rows = try connection.query("""
        SELECT has_schema_privilege(n.oid, 'USAGE'), has_schema_privilege(n.oid, 'CREATE'),
               EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = $2),
               \(spareConnectionsSQL)
        FROM pg_namespace n WHERE n.nspname = $1
        """, [schema, table])
    guard let row = rows.first else { throw OrchestratorError("schema \"\(schema)\" does not exist") }
    guard row[0] == "t" else { throw OrchestratorError("permission denied: role has no USAGE on schema \"\(schema)\"") }
    if row[2] != "t" && row[1] != "t" {
        throw OrchestratorError("permission denied: table \"\(schema).\(table)\" does not exist and the role may not CREATE in schema \"\(schema)\"")
    }
    return ServerFacts(spareConnections: Int(row[3] ?? "") ?? 1)
}
