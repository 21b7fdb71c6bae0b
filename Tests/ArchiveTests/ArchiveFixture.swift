import Foundation
import Testing
import TestSupport

/// A database with a partitioned `flights` table, a bucket and an ARCHIVE_HOME, for one test.
final class ArchiveFixture: @unchecked Sendable {
    let pg: PostgresService
    let s3: S3Service
    let database: String
    let bucket: String
    let home: TemporaryDirectory
    /// A value every child inherits (through the environment), to find the run's processes.
    let marker = "run-\(UUID().uuidString)"

    /// Creates the database with `days` daily partitions of `rowsPerDay` rows from 2024-01-01.
    init(days: Int = 3, rowsPerDay: Int = 500, table: String = "flights") throws {
        pg = try Services.requirePostgres()
        s3 = try Services.requireS3()
        database = try pg.createDatabase(prefix: "arch")
        bucket = try s3.createBucket(prefix: "arch")
        home = try TemporaryDirectory()
        try pg.psql(Self.tableSQL(table: table, days: days, rowsPerDay: rowsPerDay), database: database)
    }

    deinit { pg.dropDatabase(database) }

    static func tableSQL(table: String, days: Int, rowsPerDay: Int) -> String {
        """
        SET client_min_messages = warning;
        CREATE TABLE \(table) (
          id bigint NOT NULL, callsign text NOT NULL, departure timestamptz NOT NULL,
          lat double precision, altitude integer, on_ground boolean NOT NULL, extra jsonb, fare numeric(10,2),
          note text, PRIMARY KEY (id, departure)
        ) PARTITION BY RANGE (departure);
        DO $$ DECLARE d date; BEGIN
          FOR d IN SELECT generate_series('2024-01-01'::date, '2024-01-01'::date + \(days - 1), interval '1 day')::date LOOP
            EXECUTE format('CREATE TABLE \(table)_%s PARTITION OF \(table) FOR VALUES FROM (%L) TO (%L)',
                           to_char(d, 'YYYYMMDD'), d::timestamptz, (d + 1)::timestamptz);
          END LOOP;
        END $$;
        INSERT INTO \(table)
        SELECT g, 'UAL' || g, '2024-01-01 00:00:00+00'::timestamptz + (g - 1) * (interval '1 day' / \(rowsPerDay)),
               CASE WHEN g % 9 = 0 THEN NULL ELSE g * 0.001 END, (g * 37) % 41000, g % 7 = 0,
               CASE WHEN g % 5 = 0 THEN NULL ELSE jsonb_build_object('squawk', g % 7777, 'tags', jsonb_build_array('a', g % 3)) END,
               CASE WHEN g % 10 = 0 THEN NULL ELSE (g % 2000) + 0.25 END,
               CASE g % 4 WHEN 0 THEN 'line1' || chr(10) || 'line2, "quoted"' WHEN 1 THEN '' WHEN 2 THEN NULL ELSE 'ünïcödé \\ tab' || chr(9) END
        FROM generate_series(1, \(days * rowsPerDay)) AS g;
        """
    }

    /// The flags every run here uses (connection, destination, table, range).
    func flags(table: String = "flights", template: String = "archives/{table}/{YYYY}/{MM}", endpoint: String? = nil) -> [String] {
        ["--db-host", pg.host, "--db-port", pg.port, "--db-user", pg.user, "--db-name", database,
         "--table", table, "--s3-endpoint", endpoint ?? s3.endpoint, "--s3-bucket", bucket, "--path-template", template,
         "--start-date", "2024-01-01", "--end-date", "2024-01-31", "--workers", "2"]
    }

    /// The environment of a run: password, S3 credentials, ARCHIVE_HOME and the marker.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = s3.environment
        env["PGPASSWORD"] = pg.password
        env["ARCHIVE_HOME"] = home.url.path
        env["PGARCHIVE_TEST_MARKER"] = marker
        env["HOME"] = home.url.path
        return env.merging(extra) { $1 }
    }

    /// Runs data-archiver with `arguments` (after the common flags) to completion.
    @discardableResult
    func archive(_ arguments: [String], flags: [String]? = nil, env: [String: String] = [:]) throws -> ProcessResult {
        try run(Package.tool("data-archiver"), (flags ?? self.flags()) + arguments, environment: environment(env))
    }

    /// Every object in the bucket: key → (size, etag), through boto3 (an independent client).
    func objects(bucket: String? = nil) throws -> [String: (size: Int, etag: String)] {
        let script = """
            import boto3, json, sys
            s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
            out = {}
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2]):
                for o in page.get("Contents", []):
                    out[o["Key"]] = [o["Size"], o["ETag"].strip('"')]
            print(json.dumps(out))
            """
        let result = try run("python3", ["-c", script, s3.endpoint, bucket ?? self.bucket], environment: s3.environment)
        guard result.status == 0 else { throw TestFailure("boto3 listing failed: \(result.err)") }
        let object = try JSONSerialization.jsonObject(with: result.stdout) as! [String: [Any]]
        return object.mapValues { ($0[0] as! Int, $0[1] as! String) }
    }

    /// Deletes every object whose key starts with `prefix`, through boto3.
    func deleteObjects(prefix: String) throws {
        let script = """
            import boto3, sys
            s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2], Prefix=sys.argv[3]):
                for o in page.get("Contents", []):
                    s3.delete_object(Bucket=sys.argv[2], Key=o["Key"])
            """
        let result = try run("python3", ["-c", script, s3.endpoint, bucket, prefix], environment: s3.environment)
        guard result.status == 0 else { throw TestFailure("boto3 delete under \(prefix) failed: \(result.err)") }
    }

    /// The archive cache of `table` as `archive-cache export` prints it (empty when it knows nothing).
    func cacheEntries(table: String = "flights") throws -> [String: [String: Any]] {
        let exported = try run(Package.tool("archive-cache"), ["export", "--table", table], environment: environment())
        if exported.status == 3 { return [:] }
        guard exported.status == 0 else { throw TestFailure("archive-cache export: \(exported.err)") }
        let object = try JSONSerialization.jsonObject(with: exported.stdout) as? [String: Any]
        return object?["entries"] as? [String: [String: Any]] ?? [:]
    }

    /// Downloads one object with boto3 into a file and returns the path.
    func download(_ key: String, into dir: TemporaryDirectory) throws -> String {
        let path = dir.path(key.replacingOccurrences(of: "/", with: "_"))
        let script = """
            import boto3, sys
            boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1").download_file(sys.argv[2], sys.argv[3], sys.argv[4])
            """
        let result = try run("python3", ["-c", script, s3.endpoint, bucket, key, path], environment: s3.environment)
        guard result.status == 0 else { throw TestFailure("boto3 download of \(key) failed: \(result.err)") }
        return path
    }

    /// Open multipart uploads in the bucket, through boto3.
    func openUploads() throws -> Int {
        let script = """
            import boto3, sys
            r = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1").list_multipart_uploads(Bucket=sys.argv[2])
            print(len(r.get("Uploads", [])))
            """
        let result = try run("python3", ["-c", script, s3.endpoint, bucket], environment: s3.environment)
        return Int(result.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// PostgreSQL's own JSON of a relation's rows (row_to_json, UTC), in id order.
    func rowJSON(_ relation: String, where condition: String = "true") throws -> [String] {
        try pg.psql("SET TimeZone = 'UTC'; SELECT row_to_json(t) FROM \(relation) t WHERE \(condition) ORDER BY id", database: database)
            .split(separator: "\n").map(String.init).filter { $0 != "SET" }
    }

    /// Waits (up to a minute) for the run's child `name` whose command line holds `argument`,
    /// freezes it at once (so it cannot finish first) and kills it; false when none appeared.
    func killChild(_ name: String, with argument: String) -> Bool {
        var victim: Int32?
        _ = waitFor(seconds: 60) {
            victim = markedProcesses().first { $0.name == name && $0.cmdline.contains(argument) }?.pid
            if let victim { kill(victim, SIGSTOP) }
            return victim != nil
        }
        guard let victim else { return false }
        kill(victim, SIGKILL)
        return true
    }

    /// Processes that carry this fixture's marker in their environment (the run's children).
    func markedProcesses() -> [(pid: Int32, name: String, cmdline: String)] {
        var found: [(Int32, String, String)] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != getpid(),
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                  String(decoding: environ, as: UTF8.self).contains(marker) else { continue }
            let name = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map { String(decoding: $0, as: UTF8.self) } ?? ""
            // A zombie or an exiting process has an empty cmdline.
            if !cmdline.isEmpty { found.append((pid, name, cmdline.replacingOccurrences(of: "\0", with: " "))) }
        }
        return found
    }
}
