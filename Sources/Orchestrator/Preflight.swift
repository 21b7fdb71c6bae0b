import ArchiverConfig
import PGAccess

/// What the run learns from the server before it starts any pipeline.
public struct ServerFacts: Sendable {
    /// Connections a run may still open without crowding others out.
    public var spareConnections: Int
}

/// Connects once, checks the privileges the run needs (naming what is missing), and reads how
/// many connections the server can spare for workers.
public func preflight(_ config: ArchiverConfiguration) throws -> ServerFacts {
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
    let connection: PGConnection
    do {
        connection = try PGConnection(parameters)
    } catch {
        throw OrchestratorError("could not connect to PostgreSQL: \(error)")
    }
    let schema = config.dbSchema
    let table = config.table ?? ""
    let rows = try connection.query("""
        SELECT has_schema_privilege(n.oid, 'USAGE'),
               c.oid IS NOT NULL,
               current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
                 - (SELECT count(*) FROM pg_stat_activity)::int
        FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = $2
        WHERE n.nspname = $1
        """, [schema, table])
    guard let row = rows.first else { throw OrchestratorError("schema \"\(schema)\" does not exist") }
    guard row[0] == "t" else { throw OrchestratorError("permission denied: role has no USAGE on schema \"\(schema)\"") }
    guard row[1] == "t" else { throw OrchestratorError("table \"\(schema).\(table)\" does not exist") }
    return ServerFacts(spareConnections: Int(row[2] ?? "") ?? 1)
}
