import Foundation
import Testing
import TestSupport

/// An archive of the fixture in a file:// store: the store's folder, its endpoint and the flags.
struct FileStoreArchive {
    let fixture: ArchiveFixture
    let store: TemporaryDirectory
    var endpoint: String { "file://" + store.url.path }
    /// Flags after the fixture's (later ones win), e.g. another date range.
    var extraFlags: [String] = []
    var flags: [String] { fixture.flags(endpoint: endpoint) + extraFlags }

    /// The path of an object's bytes in the store (`ROOT/BUCKET/KEY`).
    func file(_ key: String) -> String { store.path("\(fixture.bucket)/\(key)") }

    /// Runs data-archiver `command` with the archive's flags.
    @discardableResult
    func run(_ command: String, _ arguments: [String] = []) throws -> ProcessResult {
        try fixture.archive([command] + arguments, flags: flags)
    }

    /// The manifest of a data object, decoded.
    func manifest(_ objectKey: String) throws -> [String: Any] {
        let name = objectKey.split(separator: "/").last!
        let data = try Data(contentsOf: URL(fileURLWithPath: file("archives/flights/_manifest/\(name).json")))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// verify's per-slice lines: stem → state.
    static func states(_ out: String) -> [String: String] {
        var states: [String: String] = [:]
        for line in out.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count >= 2 else { continue }
            let state = words[1] == "source" ? "source changed" : String(words[1])
            states[String(words[0])] = state
        }
        return states
    }
}

let dayKeys = (1...5).map { "archives/flights/2024/01/flights-2024-01-0\($0).jsonl.zst" }

@Suite("data-archiver verify", .enabled(if: Services.postgresEnabled && Services.s3Enabled))
struct VerifyTests {
    func archived(days: Int) throws -> FileStoreArchive {
        let f = try ArchiveFixture(days: days, rowsPerDay: 150)
        let a = FileStoreArchive(fixture: f, store: try TemporaryDirectory())
        let result = try a.run("archive")
        #expect(result.status == 0, "\(result.err)")
        return a
    }

    @Test("after an archive every slice has a manifest and verifies ok: by default, --deep and --against-source")
    func allOK() throws {
        let a = try archived(days: 3)
        for key in dayKeys.prefix(3) {
            let m = try a.manifest(key)
            #expect(m["version"] as? Int == 1 && m["key"] as? String == key && m["rows"] as? Int == 150)
            #expect((m["digest"] as? String)?.count == 32 && m["format"] as? String == "jsonl" && m["codec"] as? String == "zstd")
            let size = try FileManager.default.attributesOfItem(atPath: a.file(key))[.size] as? Int
            #expect(m["size"] as? Int == size)
        }
        for mode in [[], ["--deep"], ["--against-source"], ["--deep", "--against-source", "--log-format", "json"]] {
            let result = try a.run("verify", mode)
            #expect(result.status == 0, "\(mode): \(result.out)\(result.err)")
            if mode.contains("json") {
                let lines = result.out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                #expect(lines.count == 3 && lines.allSatisfy { $0["state"] as? String == "ok" && $0["rows"] as? Int == 150 })
            } else {
                #expect(FileStoreArchive.states(result.out) == ["flights-2024-01-01": "ok", "flights-2024-01-02": "ok", "flights-2024-01-03": "ok"],
                        "\(mode): \(result.out)")
            }
            // With --log-format json the summary is the fields of its "summary" line.
            #expect(result.err.contains(mode.contains("json") ? "\"slices\":3,\"ok\":3" : "3 slices verified: 3 ok"), "\(result.err)")
        }
        // The manifest's digest is pg-extract's digest of the partition.
        let dir = try TemporaryDirectory()
        let extract = try shell("'\(Package.tool("pg-extract"))' --relation flights_20240102 --db-host \(a.fixture.pg.host) --db-port \(a.fixture.pg.port) "
                                + "--db-user \(a.fixture.pg.user) --db-name \(a.fixture.database) --progress-fd 3 3>'\(dir.path("p"))' >/dev/null",
                                environment: a.fixture.environment())
        #expect(extract.status == 0, "\(extract.err)")
        #expect(try String(contentsOfFile: dir.path("p"), encoding: .utf8).contains("\"digest\":\"\(try a.manifest(dayKeys[1])["digest"] as! String)\""))
    }

    @Test("--shard I/N verifies only the shard's slices: three shards together verify each slice exactly once")
    func sharded() throws {
        let a = try archived(days: 5)
        var seen: [String] = []
        for i in 0..<3 {
            let result = try a.run("verify", ["--shard", "\(i)/3", "--deep"])
            #expect(result.status == 0, "\(result.out)\(result.err)")
            let states = FileStoreArchive.states(result.out)
            #expect(states.values.allSatisfy { $0 == "ok" }, "\(result.out)")
            seen += states.keys
        }
        #expect(seen.sorted() == (1...5).map { "flights-2024-01-0\($0)" }, "\(seen)")
    }

    @Test("a deleted object is missing, a flipped bit corrupt (--deep), an UPDATE source changed, an object without manifest unverifiable, a cache that disagrees differs; exit 1")
    func damage() throws {
        let a = try archived(days: 5)
        // Day 1: the object is gone (its manifest stays).
        try FileManager.default.removeItem(atPath: a.file(dayKeys[0]))
        // Day 2: one flipped bit in the middle of the stored bytes; the store's metadata is kept.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: a.file(dayKeys[1])))
        bytes[bytes.count / 2] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: a.file(dayKeys[1])))
        // Day 3: one row changed in the source since it was archived.
        try a.fixture.pg.psql("UPDATE flights SET fare = fare + 1 WHERE id = (SELECT min(id) FROM flights_20240103 WHERE fare IS NOT NULL)",
                              database: a.fixture.database)
        // Day 4: an object without a manifest (as archived before manifests existed).
        try FileManager.default.removeItem(atPath: a.file("archives/flights/_manifest/flights-2024-01-04.jsonl.zst.json"))
        // Day 5: the cache records another size than the object's.
        let put = try run(Package.tool("archive-cache"), ["put", "--table", "flights", "--bucket", a.fixture.bucket,
                                                          "--path-template", "archives/{table}/{YYYY}/{MM}", "--key", dayKeys[4]],
                          stdin: Data(#"{"file_size": 1}"#.utf8), environment: a.fixture.environment())
        #expect(put.status == 0, "\(put.err)")

        let plain = try a.run("verify")
        #expect(plain.status == 1)
        #expect(FileStoreArchive.states(plain.out) == ["flights-2024-01-01": "missing", "flights-2024-01-02": "ok",
                                                       "flights-2024-01-03": "ok", "flights-2024-01-04": "unverifiable",
                                                       "flights-2024-01-05": "differs"], "\(plain.out)")
        let deep = try a.run("verify", ["--deep", "--against-source", "--workers", "3"])
        #expect(deep.status == 1)
        #expect(FileStoreArchive.states(deep.out) == ["flights-2024-01-01": "missing", "flights-2024-01-02": "corrupt",
                                                      "flights-2024-01-03": "source changed", "flights-2024-01-04": "unverifiable",
                                                      "flights-2024-01-05": "differs"], "\(deep.out)")
        #expect(deep.out.contains("re-archive the window with --force"))
        #expect(deep.out.contains("the cache records size 1"))
        #expect(deep.err.contains("5 slices verified: 0 ok, 0 empty, 1 missing, 1 corrupt, 1 differs, 1 source changed, 1 unverifiable"), "\(deep.err)")
    }

    @Test("restore checks each object's rows and digest before committing it: a manifest that disagrees fails that file alone")
    func restoreGate() throws {
        let a = try archived(days: 3)
        // Day 2's manifest claims another digest (stored as a proper object, so only its content lies).
        var m = try a.manifest(dayKeys[1])
        m["digest"] = String(repeating: "0", count: 31) + "1"
        let dir = try TemporaryDirectory()
        try JSONSerialization.data(withJSONObject: m).write(to: URL(fileURLWithPath: dir.path("m.json")))
        let put = try run(Package.tool("s3put"), ["--endpoint", a.endpoint, "--bucket", a.fixture.bucket,
                                                  "--key", "archives/flights/_manifest/flights-2024-01-02.jsonl.zst.json"],
                          stdinFile: dir.path("m.json"), environment: a.fixture.environment())
        #expect(put.status == 0, "\(put.err)")
        // Day 3 has no manifest: restored with a warning naming it.
        try FileManager.default.removeItem(atPath: a.file("archives/flights/_manifest/flights-2024-01-03.jsonl.zst.json"))
        let target = try a.fixture.pg.createDatabase(prefix: "rest")
        defer { a.fixture.pg.dropDatabase(target) }
        let p = a.fixture.pg
        let restored = try run(Package.tool("data-archiver"), ["restore", "--db-host", p.host, "--db-port", p.port, "--db-user", p.user,
                                                               "--db-name", target, "--table", "flights", "--s3-endpoint", a.endpoint,
                                                               "--s3-bucket", a.fixture.bucket, "--path-template", "archives/{table}/{YYYY}/{MM}",
                                                               "--start-date", "2024-01-01", "--end-date", "2024-01-31", "--workers", "1"],
                               environment: a.fixture.environment())
        #expect(restored.status == 1)
        #expect(restored.err.contains("2 restored, 1 failed"), "\(restored.err)")
        #expect(restored.err.contains("flights-2024-01-02.jsonl.zst") && restored.err.contains("is not what was archived"), "\(restored.err)")
        #expect(restored.err.contains("no manifest") && restored.err.contains("flights-2024-01-03.jsonl.zst"), "\(restored.err)")
        #expect(try a.fixture.sql("SELECT count(*), count(*) FILTER (WHERE departure >= '2024-01-02' AND departure < '2024-01-03') FROM flights",
                                  in: target) == "300|0")
    }
}
