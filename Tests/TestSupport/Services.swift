import Foundation

/// The test services the README's test command starts (scripts/services), found through
/// `PGARCHIVE_TEST_*` variables. A test that needs one calls `require…()`: without the service
/// it throws under CI (CI=true), and tests gate themselves with `Services.…Available` otherwise.
public enum Services {
    static var env: [String: String] { ProcessInfo.processInfo.environment }

    /// Whether this run is CI's (then every integration test must run).
    public static var isCI: Bool { !(env["CI"] ?? "").isEmpty }

    /// Whether a PostgreSQL test cluster is configured, or CI demands one.
    public static var postgresEnabled: Bool { env["PGARCHIVE_TEST_PG_PORT"] != nil || isCI }

    /// Whether an S3 test endpoint is configured, or CI demands one.
    public static var s3Enabled: Bool { env["PGARCHIVE_TEST_S3_ENDPOINT"] != nil || isCI }

    /// The PostgreSQL test cluster; throws when it is not configured.
    public static func requirePostgres() throws -> PostgresService {
        guard let port = env["PGARCHIVE_TEST_PG_PORT"] else {
            throw TestFailure("no PostgreSQL test cluster: run the tests through scripts/test (PGARCHIVE_TEST_PG_PORT unset)")
        }
        return PostgresService(
            host: env["PGARCHIVE_TEST_PG_HOST"] ?? "127.0.0.1", port: port,
            socketDirectory: env["PGARCHIVE_TEST_PG_SOCKET"] ?? "",
            user: env["PGARCHIVE_TEST_PG_USER"] ?? "pgarchive", password: env["PGARCHIVE_TEST_PG_PASSWORD"] ?? "",
            database: env["PGARCHIVE_TEST_PG_DATABASE"] ?? "pgarchive",
            ordinaryUser: env["PGARCHIVE_TEST_PG_USER2"] ?? "pgarchive_user",
            ordinaryPassword: env["PGARCHIVE_TEST_PG_PASSWORD2"] ?? "",
            binDirectory: env["PGARCHIVE_TEST_PG_BIN"] ?? "/usr/lib/postgresql/15/bin")
    }

    /// The S3 test endpoint; throws when it is not configured.
    public static func requireS3() throws -> S3Service {
        guard let endpoint = env["PGARCHIVE_TEST_S3_ENDPOINT"] else {
            throw TestFailure("no S3 test endpoint: run the tests through scripts/test (PGARCHIVE_TEST_S3_ENDPOINT unset)")
        }
        return S3Service(
            endpoint: endpoint, bucket: env["PGARCHIVE_TEST_S3_BUCKET"] ?? "pgarchive-test",
            region: env["PGARCHIVE_TEST_S3_REGION"] ?? "us-east-1",
            accessKey: env["PGARCHIVE_TEST_S3_ACCESS_KEY"] ?? "testing",
            secretKey: env["PGARCHIVE_TEST_S3_SECRET_KEY"] ?? "testing")
    }
}

/// The throwaway PostgreSQL cluster.
public struct PostgresService: Sendable {
    public var host: String
    public var port: String
    public var socketDirectory: String
    public var user: String
    public var password: String
    public var database: String
    /// A role without superuser rights, for privilege tests.
    public var ordinaryUser: String
    public var ordinaryPassword: String
    public var binDirectory: String

    /// libpq variables that connect a child process as the superuser to `database`.
    public func environment(database: String? = nil) -> [String: String] {
        ["PGHOST": host, "PGPORT": port, "PGUSER": user, "PGPASSWORD": password, "PGDATABASE": database ?? self.database]
    }

    /// Runs SQL through psql as the superuser (ON_ERROR_STOP); returns unaligned, tuples-only output.
    @discardableResult
    public func psql(_ sql: String, database: String? = nil) throws -> String {
        let result = try run("\(binDirectory)/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                             environment: environment(database: database))
        guard result.status == 0 else { throw TestFailure("psql failed (\(result.status)): \(result.err)") }
        return result.out
    }

    /// Creates a fresh database for one test (tests run in parallel) and returns its name.
    public func createDatabase(prefix: String = "t") throws -> String {
        let name = "\(prefix)_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased())"
        try psql("CREATE DATABASE \(name)", database: "postgres")
        return name
    }

    /// Drops a test database.
    public func dropDatabase(_ name: String) {
        _ = try? psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", database: "postgres")
    }
}

/// The local S3 endpoint (moto_server).
public struct S3Service: Sendable {
    public var endpoint: String
    public var bucket: String
    public var region: String
    public var accessKey: String
    public var secretKey: String

    /// AWS variables for a child process (tools, boto3, the aws CLI).
    public var environment: [String: String] {
        ["AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey, "AWS_DEFAULT_REGION": region]
    }

    /// Creates a fresh bucket for one test and returns its name.
    public func createBucket(prefix: String = "t") throws -> String {
        let name = "\(prefix)-\(UUID().uuidString.prefix(13).lowercased())"
        let result = try run("curl", ["-fsS", "-X", "PUT", "\(endpoint)/\(name)"])
        guard result.status == 0 else { throw TestFailure("could not create bucket \(name): \(result.err)") }
        return name
    }
}
