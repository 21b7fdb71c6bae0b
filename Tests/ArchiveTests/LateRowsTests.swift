import Foundation
import Testing
import TestSupport

/// An archive in either store: the file:// store of a folder, or the fixture's bucket in moto.
struct EitherStoreArchive {
    let fixture: ArchiveFixture
    /// The file store's folder, nil for moto.
    let store: TemporaryDirectory?
    let scratch: TemporaryDirectory
    var endpoint: String { store.map { "file://" + $0.url.path } ?? fixture.s3.endpoint }
    var flags: [String] { fixture.flags(endpoint: endpoint) }

    init(fixture: ArchiveFixture, fileStore: Bool) throws {
        self.fixture = fixture
        store = fileStore ? try TemporaryDirectory() : nil
        scratch = try TemporaryDirectory()
    }

    @discardableResult
    func run(_ command: String, _ arguments: [String] = []) throws -> ProcessResult {
        try fixture.archive([command] + arguments, flags: flags)
    }

    /// Every key in the bucket.
    func keys() throws -> Set<String> {
        guard let store else { return Set(try fixture.objects().keys) }
        let root = store.path(fixture.bucket)
        let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
        return Set(files.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory) && !isDirectory.boolValue
                && !path.hasSuffix(".meta") && !path.contains("/.")
        })
    }

    /// An object's bytes (through boto3 for moto).
    func content(_ key: String) throws -> Data {
        let path = try store.map { $0.path("\(fixture.bucket)/\(key)") } ?? fixture.download(key, into: scratch)
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// A data object's manifest, decoded.
    func manifest(_ objectKey: String) throws -> [String: Any] {
        let name = objectKey.split(separator: "/").last!
        return try JSONSerialization.jsonObject(with: try content("archives/flights/_manifest/\(name).json")) as! [String: Any]
    }
}

@Suite("late rows in a retired window", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct LateRowsTests {
    static let base = "archives/flights/2024/01/flights-2024-01-02.jsonl.zst"
    static let late1 = "archives/flights/2024/01/flights-2024-01-02.late-1.jsonl.zst"
    static let late2 = "archives/flights/2024/01/flights-2024-01-02.late-2.jsonl.zst"

    @Test("archive → retire → late rows → a late object (reported, exit 0) → rerun skips it → verify ok → restore gives base + late rows exactly → retire removes them → the next late rows are generation 2",
          arguments: [true, false])
    func lateGenerations(fileStore: Bool) throws {
        let f = try ArchiveFixture(days: 1, rowsPerDay: 1)
        try f.pg.psql("""
            DROP TABLE flights;
            CREATE TABLE flights (\(flightsColumns)) PARTITION BY RANGE (departure);
            CREATE TABLE flights_202401 PARTITION OF flights FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
            INSERT INTO flights SELECT g, 'J' || g, '2024-01-01'::timestamptz + (g % 3) * interval '1 day' + g * interval '1 second', g % 500 + 0.5, 'n'
              FROM generate_series(1, 300) g;
            CREATE TABLE expected AS SELECT * FROM flights;
            """, database: f.database)
        let a = try EitherStoreArchive(fixture: f, fileStore: fileStore)
        func sql(_ text: String) throws -> String { try f.sql(text, in: f.database) }

        #expect(try a.run("archive").status == 0)
        let retire = try a.run("retire")
        #expect(retire.status == 0, "\(retire.out)\(retire.err)")
        #expect(try sql("SELECT count(*) FROM flights") == "0")
        let baseBytes = try a.content(Self.base)

        // Two rows arrive in the retired window 2024-01-02.
        let late = "INSERT INTO flights VALUES (5001, 'LATE1', '2024-01-02 08:00+00', 1.5, 'late'), (5002, 'LATE2', '2024-01-02 09:00+00', NULL, NULL)"
        try f.pg.psql(late + "; INSERT INTO expected SELECT * FROM flights", database: f.database)
        // retire, before they are archived, says so and removes nothing.
        let early = try a.run("retire")
        #expect(early.status == 0, "\(early.out)\(early.err)")
        #expect(early.out.contains("flights-2024-01-02 already retired ")
                && early.out.contains("; 2 rows of the window arrived in PostgreSQL since and are in no object yet: archive"), "\(early.out)")
        let otherDay = early.out.split(separator: "\n").first { $0.hasPrefix("flights-2024-01-01 ") }
        #expect(otherDay?.contains("already retired") == true && otherDay?.contains("arrived") == false, "\(early.out)")
        #expect(try sql("SELECT count(*) FROM flights") == "2")
        let archived = try a.run("archive")
        #expect(archived.status == 0, "\(archived.err)")
        #expect(archived.err.contains("late rows: flights-2024-01-02: 2 rows arrived after the window was retired at ")
                && archived.err.contains("archived as \(Self.late1)"), "\(archived.err)")
        #expect(try a.content(Self.base) == baseBytes, "the retired window's object is never overwritten")
        let lateManifest = try a.manifest(Self.late1)
        #expect(lateManifest["rows"] as? Int == 2 && lateManifest["key"] as? String == Self.late1
                && lateManifest["window"] as? String == "2024-01-02T00:00:00Z/2024-01-03T00:00:00Z", "\(lateManifest)")
        let json = try a.run("archive", ["--log-format", "json"])
        #expect(json.status == 0, "\(json.err)")
        #expect(json.err.contains("\"late_rows\":2"), "\(json.err)")
        let lateBytes = try a.content(Self.late1)

        // A rerun neither duplicates nor rewrites the late object.
        let rerun = try a.run("archive")
        #expect(rerun.status == 0, "\(rerun.err)")
        #expect(rerun.err.contains("already archived, unchanged, as \(Self.late1)"), "\(rerun.err)")
        #expect(try a.content(Self.late1) == lateBytes)
        let keys = try a.keys()
        #expect(keys.filter { $0.contains(".late-") }.sorted() == [Self.late1, "archives/flights/_manifest/flights-2024-01-02.late-1.jsonl.zst.json"].sorted(),
                "\(keys.sorted())")
        let cached = try f.cacheEntries()[Self.late1]
        #expect(cached?["row_count"] as? Int == 2, "\(String(describing: cached))")

        // verify checks the late object like any other; against the source, the window's rows
        // now in PostgreSQL are the late object's.
        let verify = try a.run("verify", ["--deep", "--against-source"])
        #expect(verify.status == 0, "\(verify.out)\(verify.err)")
        let states = FileStoreArchive.states(verify.out)
        #expect(states["flights-2024-01-02"] == "ok" && states["flights-2024-01-02.late-1"] == "ok", "\(verify.out)")
        #expect(verify.out.contains("flights-2024-01-02.late-1 ok 2 rows"), "\(verify.out)")

        // Restore into a fresh database: the retired rows and the late ones, each once.
        let target = try f.pg.createDatabase(prefix: "late")
        defer { f.pg.dropDatabase(target) }
        let restored = try run(Package.tool("data-archiver"), ["restore", "--db-host", f.pg.host, "--db-port", f.pg.port, "--db-user", f.pg.user,
                                                               "--db-name", target, "--table", "flights", "--s3-endpoint", a.endpoint,
                                                               "--s3-bucket", f.bucket, "--path-template", "archives/{table}/{YYYY}/{MM}",
                                                               "--start-date", "2024-01-01", "--end-date", "2024-12-31", "--workers", "2"],
                               environment: f.environment())
        #expect(restored.status == 0, "\(restored.err)")
        try f.copySource("expected", into: target, as: "expected", like: "flights")
        #expect(try f.difference("flights", "expected", in: target) == [0, 0, 302, 302])

        // retire removes the late rows against the late object, and records it there.
        let retireLate = try a.run("retire")
        #expect(retireLate.status == 0, "\(retireLate.out)\(retireLate.err)")
        let retireStates = FileStoreArchive.retireStates(retireLate.out)
        #expect(retireStates["flights-2024-01-02"] == "already retired" && retireStates["flights-2024-01-02.late-1"] == "retired", "\(retireLate.out)")
        #expect(try sql("SELECT count(*) FROM flights") == "0")
        #expect((try a.manifest(Self.late1)["retired"] as? [String: Any])?["rows"] as? Int == 2)

        // Rows arriving after that go to generation 2; generation 1 stays as it is.
        try f.pg.psql("INSERT INTO flights VALUES (5003, 'LATE3', '2024-01-02 10:00+00', 3, 'later')", database: f.database)
        let second = try a.run("archive")
        #expect(second.status == 0, "\(second.err)")
        #expect(second.err.contains("late rows: flights-2024-01-02: 1 rows arrived after the window was retired")
                && second.err.contains("archived as \(Self.late2)"), "\(second.err)")
        #expect(try a.content(Self.late1) == lateBytes)
        #expect(try a.manifest(Self.late2)["rows"] as? Int == 1)
        let again = try a.run("verify", ["--deep", "--against-source"])
        #expect(again.status == 0, "\(again.out)\(again.err)")
        #expect(FileStoreArchive.states(again.out)["flights-2024-01-02.late-2"] == "ok", "\(again.out)")
    }
}
