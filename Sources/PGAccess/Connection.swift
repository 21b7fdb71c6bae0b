import CLibPQ

#if canImport(Glibc)
import Glibc
#endif

/// How to reach a server: the libpq keywords we set (nil leaves libpq's `PG*` defaults), retries.
public struct ConnectionParameters: Sendable {
    /// Host name, address or socket directory.
    public var host: String?
    /// Port.
    public var port: Int?
    /// Role name.
    public var user: String?
    /// Database name.
    public var database: String?
    /// libpq sslmode (disable, allow, prefer, require, verify-ca, verify-full).
    public var sslMode: String?
    /// The password, when the caller has one (never from argv).
    public var password: String?
    /// statement_timeout for catalog and count queries, in seconds (0 = none).
    public var statementTimeout: Int = 300
    /// How often a failed connection attempt is retried.
    public var maxRetries: Int = 3
    /// Seconds between connection attempts.
    public var retryDelay: Int = 5
    /// application_name shown in pg_stat_activity.
    public var applicationName: String = "pgarchive"
    /// Called before each retry with (the attempt about to start, the attempts allowed, the
    /// seconds it waits first, the reason), so waiting for a server is never silent.
    public var onRetry: (@Sendable (_ attempt: Int, _ of: Int, _ delay: Int, _ reason: String) -> Void)?

    /// Parameters with libpq's defaults for everything.
    public init() {}
}

/// The session settings of every connection (ARCHITECTURE.md, "Session settings"): one place.
public enum SessionSettings {
    /// Settings every connection gets.
    public static let common: [(String, String)] = [
        ("TimeZone", "UTC"), ("DateStyle", "ISO"), ("IntervalStyle", "postgres"),
        ("extra_float_digits", "1"), ("bytea_output", "hex"), ("client_encoding", "UTF8"),
    ]
    /// Added for extraction: stable row order, so reruns give identical bytes (a parallel plan,
    /// which COPY's query may get, would interleave rows from its workers in any order).
    public static let extraction: [(String, String)] = [("synchronize_seqscans", "off"), ("max_parallel_workers_per_gather", "0")]
}

/// One PostgreSQL connection (owns the `PGconn`, frees it in `deinit`); use from one thread at a time.
public final class PGConnection {
    let handle: OpaquePointer
    /// The parameters it was opened with.
    public let parameters: ConnectionParameters

    /// Connects (retrying `maxRetries` times, `retryDelay` seconds apart) and applies the session settings.
    public init(_ parameters: ConnectionParameters, extraction: Bool = false) throws {
        self.parameters = parameters
        var attempt = 0
        while true {
            let conn = Self.connect(parameters)
            if PQstatus(conn) == CONNECTION_OK {
                handle = conn!
                break
            }
            let message = conn.map { oneLine(String(cString: PQerrorMessage($0))) } ?? "out of memory"
            let refused = conn.map { Self.isAuthenticationFailure($0, message: message) } ?? false
            PQfinish(conn)
            if refused {
                // Final: retrying a refused login only risks locking the account.
                throw PGError(.authentication, "PostgreSQL refused the login (not retried): \(message)")
            }
            if attempt >= parameters.maxRetries {
                let tries = attempt + 1
                throw PGError(.connection, "could not connect to PostgreSQL\(tries > 1 ? " (\(tries) attempts)" : ""): \(message)")
            }
            attempt += 1
            parameters.onRetry?(attempt + 1, parameters.maxRetries + 1, parameters.retryDelay, message)
            if parameters.retryDelay > 0 { sleep(UInt32(parameters.retryDelay)) }
        }
        var settings = SessionSettings.common
        if extraction { settings += SessionSettings.extraction }
        settings.append(("statement_timeout", "\(max(parameters.statementTimeout, 0) * 1000)"))
        try execute(settings.map { "SET \($0.0) = \(SQL.literal($0.1))" }.joined(separator: "; "))
    }

    deinit { PQfinish(handle) }

    /// Whether the connection still works (false once the server or the network dropped it).
    public var isAlive: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Whether no transaction is open (and none failed): the session can start the next one.
    public var isIdle: Bool { PQtransactionStatus(handle) == PQTRANS_IDLE }

    /// Whether a failed connection was refused for who we are: a password needed or wrong, a
    /// role or database that does not exist, no pg_hba.conf entry (the server's own words, in the
    /// English messages PostgreSQL sends before a session's lc_messages applies).
    static func isAuthenticationFailure(_ conn: OpaquePointer, message: String) -> Bool {
        if PQconnectionNeedsPassword(conn) != 0 { return true }
        let markers = ["authentication failed", "no password supplied", "pg_hba.conf", "password is required",
                       "role \"", "database \""]
        return message.contains("FATAL") && markers.contains { marker in
            guard message.contains(marker) else { return false }
            return !marker.hasSuffix("\"") || message.contains("does not exist")
        } || message.contains("no password supplied") || message.contains("password authentication failed")
    }

    private static func connect(_ p: ConnectionParameters) -> OpaquePointer? {
        var pairs: [(String, String)] = [("application_name", p.applicationName), ("client_encoding", "UTF8")]
        if let v = p.host { pairs.append(("host", v)) }
        if let v = p.port { pairs.append(("port", String(v))) }
        if let v = p.user { pairs.append(("user", v)) }
        if let v = p.database { pairs.append(("dbname", v)) }
        if let v = p.sslMode { pairs.append(("sslmode", v)) }
        if let v = p.password { pairs.append(("password", v)) }
        let keys = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer {
            keys.forEach { free($0) }
            values.forEach { free($0) }
        }
        var keyPointers: [UnsafePointer<CChar>?] = keys.map { UnsafePointer($0) } + [nil]
        var valuePointers: [UnsafePointer<CChar>?] = values.map { UnsafePointer($0) } + [nil]
        return keyPointers.withUnsafeMutableBufferPointer { k in
            valuePointers.withUnsafeMutableBufferPointer { v in PQconnectdbParams(k.baseAddress, v.baseAddress, 0) }
        }
    }

    /// Runs one or more commands that return no rows.
    public func execute(_ sql: String) throws {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
    }

    /// Runs a query with text parameters (`$1`, …) and returns all rows as text (nil for NULL).
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> [[String?]] {
        let copies = parameters.map { $0.flatMap { strdup($0) } }
        defer { copies.forEach { $0.map { free($0) } } }
        var pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
        let result = pointers.withUnsafeMutableBufferPointer {
            PQexecParams(handle, sql, Int32(parameters.count), nil, $0.baseAddress, nil, nil, 0)
        }
        defer { PQclear(result) }
        try check(result, expecting: [PGRES_TUPLES_OK, PGRES_COMMAND_OK])
        let rows = Int(PQntuples(result))
        let columns = Int(PQnfields(result))
        var out: [[String?]] = []
        out.reserveCapacity(rows)
        for r in 0..<rows {
            var row: [String?] = []
            row.reserveCapacity(columns)
            for c in 0..<columns {
                if PQgetisnull(result, Int32(r), Int32(c)) == 1 {
                    row.append(nil)
                } else {
                    row.append(String(cString: PQgetvalue(result, Int32(r), Int32(c))))
                }
            }
            out.append(row)
        }
        return out
    }

    /// Runs `COPY … TO STDOUT` and hands each CopyData message (one row, per the protocol) to `body`.
    public func copyOut(_ sql: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let start = PQexec(handle, sql)
        let status = PQresultStatus(start)
        if status != PGRES_COPY_OUT {
            defer { PQclear(start) }
            try check(start, expecting: [PGRES_COPY_OUT], kind: .copy)
        }
        PQclear(start)
        var failure: (any Error)?
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let n = PQgetCopyData(handle, &buffer, 0)
            if n > 0, let buffer {
                defer { PQfreemem(buffer) }
                if failure == nil {
                    do { try body(UnsafeRawBufferPointer(start: buffer, count: Int(n))) } catch {
                        failure = error
                        cancel()
                    }
                }
                continue
            }
            if n == -2 { throw PGError(.copy, oneLine(String(cString: PQerrorMessage(handle)))) }
            break
        }
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            if failure == nil { try check(result, expecting: [PGRES_COMMAND_OK], kind: .copy) }
        }
        if let failure { throw failure }
    }

    /// Asks the server to cancel the running command.
    public func cancel() {
        guard let cancel = PQgetCancel(handle) else { return }
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(cancel, &buffer, 256)
        PQfreeCancel(cancel)
    }

    func check(_ result: OpaquePointer?, expecting: [ExecStatusType], kind: PGError.Kind = .query) throws {
        let status = PQresultStatus(result)
        guard !expecting.contains(status) else { return }
        var message = result.map { String(cString: PQresultErrorMessage($0)) } ?? ""
        if message.isEmpty { message = String(cString: PQerrorMessage(handle)) }
        var state: String?
        if let result, let field = PQresultErrorField(result, Int32(UInt8(ascii: "C"))) { state = String(cString: field) }
        let primary = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "M"))) }.map { String(cString: $0) }
        throw PGError(kind, oneLine(primary ?? message), sqlState: state)
    }
}
