import Foundation
import SlicePlan
import Testing
import TestSupport

/// One frame of a framed stream (docs/framing.md), as text and bytes.
struct TestFrame: Equatable {
    var header: String
    var data: [UInt8]
    var end: String
}

/// A framed stream made by hand.
func framedStream(_ frames: [TestFrame]) -> Data {
    var out = Data("PGAFRAM1".utf8)
    func record(_ kind: Character, _ payload: [UInt8]) {
        let n = UInt32(payload.count)
        out.append(contentsOf: [kind.asciiValue!, UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)])
        out.append(contentsOf: payload)
    }
    for frame in frames {
        record("H", Array(frame.header.utf8))
        var rest = frame.data[...]
        while !rest.isEmpty {  // cut in uneven records: the cuts must not matter
            let n = min(rest.count, 1000 + rest.count % 777)
            record("D", Array(rest.prefix(n)))
            rest = rest.dropFirst(n)
        }
        record("E", Array(frame.end.utf8))
    }
    return out
}

/// The frames of a framed stream, data records joined.
func parseFramed(_ data: Data) throws -> [TestFrame] {
    let bytes = Array(data)
    guard bytes.count >= 8, Array(bytes[0..<8]) == Array("PGAFRAM1".utf8) else { throw TestFailure("no PGAFRAM1 magic") }
    var at = 8
    var frames: [TestFrame] = []
    var current: TestFrame?
    while at < bytes.count {
        guard at + 5 <= bytes.count else { throw TestFailure("cut record head") }
        let kind = Character(UnicodeScalar(bytes[at]))
        let n = Int(bytes[at + 1]) << 24 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 8 | Int(bytes[at + 4])
        guard at + 5 + n <= bytes.count else { throw TestFailure("cut record") }
        let payload = Array(bytes[(at + 5)..<(at + 5 + n)])
        at += 5 + n
        switch kind {
        case "H": current = TestFrame(header: String(decoding: payload, as: UTF8.self), data: [], end: "")
        case "D": current!.data += payload
        case "E":
            current!.end = String(decoding: payload, as: UTF8.self)
            frames.append(current!)
            current = nil
        default: throw TestFailure("unknown record \(kind)")
        }
    }
    guard current == nil else { throw TestFailure("stream ends inside a frame") }
    return frames
}

func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

func quoted(_ path: String) -> String { "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'" }

@Suite("framed pipelines: pg-extract | rowfmt | zcompress | s3put --framed", .enabled(if: Services.postgresEnabled))
struct FramedPipelineTests {
    /// A table of hourly slices with a few rows each (one hour empty) and its plan lines.
    func hourlyTable(_ db: ScratchDatabase) throws -> [Slice] {
        try db.sql("""
            CREATE TABLE ticks (id bigint PRIMARY KEY, at timestamptz NOT NULL, label text, amount numeric(12,3), tags text[]);
            INSERT INTO ticks SELECT g, '2024-01-01'::timestamptz + (g - 1) * interval '20 minutes', 'row ' || g || E' "q" \\u00e9',
                   g * 1.5, ARRAY['a', NULL, g::text]
            FROM generate_series(1, 18) g WHERE g NOT BETWEEN 10 AND 12;
            ANALYZE ticks;
            """)
        let plan = try planSlices(db, ["--table", "ticks", "--date-column", "at", "--output-duration", "hourly",
                                       "--start-date", "2024-01-01", "--end-date", "2024-01-01", "--count", "none"])
        #expect(plan.status == 0, "\(plan.err)")
        return Array(plan.slices.prefix(6))
    }

    func request(_ slice: Slice, id: String, key: String) throws -> String {
        "{\"id\":\"\(id)\",\"key\":\"\(key)\",\"plan\":\(try slice.jsonLine())}\n"
    }

    @Test("the same objects byte for byte either way, for JSONL+zstd, CSV+gzip and Parquet; the same row digests",
          arguments: [("jsonl", "zstd"), ("csv", "gzip"), ("parquet", "none")])
    func sameObjectsEitherWay(format: String, codec: String) throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "fr")
        let slices = try hourlyTable(db)
        #expect(slices.count == 6)
        let dir = try TemporaryDirectory()
        let store = dir.path("store")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        let put = "\(quoted(Package.tool("s3put"))) --endpoint file://\(store) --bucket b"
        let convert = "\(quoted(Package.tool("rowfmt"))) --from rowstream --to \(format)"
        let compress = codec == "none" ? "" : " | \(quoted(Package.tool("zcompress"))) \(codec)"
        var singleResults: [[String: Any]] = []
        var singleDigests: [String] = []
        for (i, slice) in slices.enumerated() {
            try Data(try slice.jsonLine().utf8).write(to: URL(fileURLWithPath: dir.path("plan")))
            let progress = dir.path("progress-\(i)")
            let result = try shell("\(quoted(Package.tool("pg-extract"))) --progress-fd 3 3>\(quoted(progress)) < \(quoted(dir.path("plan")))"
                                   + " | \(convert)\(compress) | \(put) --key one/\(i)", environment: db.environment)
            #expect(result.status == 0, "\(result.err)")
            singleResults.append(try jsonObject(result.out.trimmingCharacters(in: .newlines)))
            let last = try String(contentsOfFile: progress, encoding: .utf8).split(separator: "\n").last.map(String.init) ?? ""
            singleDigests.append(try jsonObject(last)["digest"] as? String ?? "")
        }
        let requests = try slices.enumerated().map { try request($1, id: "s\($0)", key: "framed/\($0)") }.joined()
        let progress = dir.path("framed-progress")
        let framedCompress = codec == "none" ? "" : " | \(quoted(Package.tool("zcompress"))) --framed \(codec)"
        let framed = try shell("\(quoted(Package.tool("pg-extract"))) --framed --progress-fd 3 3>\(quoted(progress))"
                               + " | \(quoted(Package.tool("rowfmt"))) --framed --from rowstream --to \(format)\(framedCompress) | \(put) --framed",
                               environment: db.environment, stdin: Data(requests.utf8))
        #expect(framed.status == 0, "\(framed.err)")
        let results = try framed.out.split(separator: "\n").map { try jsonObject(String($0)) }
        try #require(results.count == slices.count)
        for (i, result) in results.enumerated() {
            #expect(result["id"] as? String == "s\(i)")
            #expect(result["error"] == nil, "\(result)")
            for field in ["size", "md5", "etag", "parts"] {
                #expect("\(result[field] ?? "")" == "\(singleResults[i][field] ?? "")", "slice \(i) \(field)")
            }
            let one = try Data(contentsOf: URL(fileURLWithPath: "\(store)/b/one/\(i)"))
            let many = try Data(contentsOf: URL(fileURLWithPath: "\(store)/b/framed/\(i)"))
            #expect(one == many, "object \(i) differs between the one-slice and the framed pipeline")
        }
        // pg-extract's final line per frame carries the same digest as the one-slice form's.
        let finals = try String(contentsOfFile: progress, encoding: .utf8).split(separator: "\n").map { try jsonObject(String($0)) }
            .filter { $0["done"] as? Bool == true }
        #expect(finals.map { $0["frame"] as? String ?? "" } == (0..<slices.count).map { "s\($0)" })
        #expect(finals.map { $0["digest"] as? String ?? "" } == singleDigests)
    }

    @Test("a failure confined to one slice fails that frame only: the other slices are stored, the pipeline exits 0")
    func confinedFailures() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "fr")
        let slices = try hourlyTable(db)
        var missing = slices[1]
        missing.sources = [Slice.Source(schema: "public", relation: "no_such_table")]
        var unplanned = slices[2]
        unplanned.error = "no SELECT privilege on public.ticks_x"
        let requests = try request(slices[0], id: "ok1", key: "k/ok1")
            + (try request(missing, id: "missing", key: "k/missing"))
            + "{\"id\":\"noplan\",\"key\":\"k/noplan\",\"plan\":{\"stem\":1}}\n"
            + (try request(unplanned, id: "unplanned", key: "k/unplanned"))
            + (try request(slices[3], id: "ok2", key: "k/ok2"))
        let dir = try TemporaryDirectory()
        let store = dir.path("store")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        let result = try shell("\(quoted(Package.tool("pg-extract"))) --framed | \(quoted(Package.tool("rowfmt"))) --framed --from rowstream --to jsonl"
                               + " | \(quoted(Package.tool("zcompress"))) --framed zstd | \(quoted(Package.tool("s3put"))) --framed --endpoint file://\(store) --bucket b",
                               environment: db.environment, stdin: Data(requests.utf8))
        #expect(result.status == 0, "\(result.err)")
        let lines = try result.out.split(separator: "\n").map { try jsonObject(String($0)) }
        try #require(lines.map { $0["id"] as? String ?? "" } == ["ok1", "missing", "noplan", "unplanned", "ok2"])
        for line in lines {
            let failed = !(line["id"] as! String).hasPrefix("ok")
            #expect((line["error"] != nil) == failed, "\(line)")
            if failed { #expect(line["stage"] as? String == "pg-extract", "\(line)") }
            #expect(FileManager.default.fileExists(atPath: "\(store)/b/k/\(line["id"]!)") == !failed)
        }
        #expect((lines[1]["error"] as? String ?? "").contains("no_such_table"))
        #expect((lines[3]["error"] as? String ?? "").contains("could not be fully planned"))
        #expect(result.err.contains("pg-extract: error: frame missing:"))
    }

    @Test("pg-extract --framed: a request line without a string id is a usage error; no request is an empty stream")
    func requestErrors() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "fr")
        let bad = try run(Package.tool("pg-extract"), ["--framed"], stdin: Data("{\"plan\":{}}\n".utf8), environment: db.environment)
        #expect(bad.status == 2)
        #expect(bad.err.contains("request line 1"))
        let none = try run(Package.tool("pg-extract"), ["--framed"], stdin: Data(), environment: db.environment)
        #expect(none.status == 0, "\(none.err)")
        #expect(none.stdout == Data("PGAFRAM1".utf8))
        let flags = try run(Package.tool("pg-extract"), ["--framed", "--relation", "t"], environment: db.environment)
        #expect(flags.status == 2)
    }

    @Test("rowfmt --framed alone: each frame as the one-slice form converts it; a bad frame fails alone; a failed frame passes on")
    func rowfmtAlone() throws {
        let db = try ScratchDatabase(try Services.requirePostgres(), prefix: "fr")
        let slices = try hourlyTable(db)
        var streams: [[UInt8]] = []
        var expected: [[UInt8]] = []
        for slice in slices.prefix(2) {
            let stream = try run(Package.tool("pg-extract"), ["--plan", try slice.jsonLine()], environment: db.environment)
            #expect(stream.status == 0, "\(stream.err)")
            streams.append(Array(stream.stdout))
            let csv = try run(Package.tool("rowfmt"), ["--from", "rowstream", "--to", "csv"], stdin: stream.stdout)
            expected.append(Array(csv.stdout))
        }
        let upstream = #"{"error":"reading public.ticks: connection lost","stage":"pg-extract"}"#
        let input = framedStream([
            TestFrame(header: #"{"id":"a","key":"x"}"#, data: streams[0], end: #"{"stage":"pg-extract"}"#),
            TestFrame(header: #"{"id":"garbage"}"#, data: Array("not a rowstream at all".utf8), end: #"{"stage":"pg-extract"}"#),
            TestFrame(header: #"{"id":"failed"}"#, data: Array(streams[1].prefix(30)), end: upstream),
            TestFrame(header: #"{"id":"b"}"#, data: streams[1], end: #"{"stage":"pg-extract"}"#),
        ])
        let out = try run(Package.tool("rowfmt"), ["--framed", "--from", "rowstream", "--to", "csv"], stdin: input)
        #expect(out.status == 0, "\(out.err)")
        let frames = try parseFramed(out.stdout)
        #expect(frames.map(\.header) == [#"{"id":"a","key":"x"}"#, #"{"id":"garbage"}"#, #"{"id":"failed"}"#, #"{"id":"b"}"#])
        #expect(frames[0].data == expected[0])
        #expect(try jsonObject(frames[0].end)["rows"] as? Int == 3)
        #expect(try jsonObject(frames[1].end)["stage"] as? String == "rowfmt")
        #expect(try jsonObject(frames[1].end)["error"] != nil)
        #expect(frames[2].end == upstream)
        #expect(frames[3].data == expected[1])
        #expect(out.err.contains("rowfmt: error: frame garbage:"))
        let usage = try run(Package.tool("rowfmt"), ["--framed", "--from", "jsonl", "--to", "csv"], stdin: input)
        #expect(usage.status == 2)
    }
}

@Suite("framed streams through zcompress and s3put")
struct FramedToolTests {
    @Test("zcompress --framed: each frame's bytes those of the one-slice form; a failed frame passes on; bad input stops it")
    func zcompressAlone() throws {
        let big = (0..<700_000).map { UInt8(truncatingIfNeeded: ($0 * 7919) >> 5) }
        let small = Array("{\"id\":1}\n".utf8)
        let failed = #"{"error":"line 3: bad value","stage":"rowfmt"}"#
        let input = framedStream([
            TestFrame(header: #"{"id":"big"}"#, data: big, end: #"{"stage":"rowfmt"}"#),
            TestFrame(header: #"{"id":"empty"}"#, data: [], end: #"{"stage":"rowfmt"}"#),
            TestFrame(header: #"{"id":"failed"}"#, data: small, end: failed),
            TestFrame(header: #"{"id":"small"}"#, data: small, end: #"{"stage":"rowfmt"}"#),
        ])
        for codec in ["zstd", "lz4", "gzip"] {
            let out = try run(Package.tool("zcompress"), ["--framed", codec, "-T", "2"], stdin: input)
            #expect(out.status == 0, "\(out.err)")
            let frames = try parseFramed(out.stdout)
            #expect(frames.map(\.header) == [#"{"id":"big"}"#, #"{"id":"empty"}"#, #"{"id":"failed"}"#, #"{"id":"small"}"#])
            for (i, data) in [(0, big), (1, [UInt8]()), (3, small)] {
                let one = try run(Package.tool("zcompress"), [codec, "-T", "2"], stdin: Data(data))
                #expect(frames[i].data == Array(one.stdout), "\(codec) frame \(i)")
                #expect(try jsonObject(frames[i].end)["bytes"] as? Int == one.stdout.count)
            }
            #expect(frames[2].end == failed)
            #expect(frames[2].data.isEmpty)
        }
        let plain = try run(Package.tool("zcompress"), ["--framed", "zstd"], stdin: Data("plain bytes".utf8))
        #expect(plain.status == 2)
        let cut = try run(Package.tool("zcompress"), ["--framed", "zstd"], stdin: input.prefix(input.count - 20))
        #expect(cut.status == 4, "\(cut.err)")
        #expect(try run(Package.tool("zcompress"), ["--framed", "-d"], stdin: input).status == 2)
    }

    @Test("s3put --framed: one object per committed frame, with the header's metadata; one verdict read per frame, failed or not")
    func s3putAlone() throws {
        let dir = try TemporaryDirectory()
        let store = dir.path("store")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        let input = framedStream([
            TestFrame(header: #"{"id":"1","key":"k/a","metadata":{"pgarchive-schema":"abc123"},"size_hint":100}"#,
                      data: Array("alpha\n".utf8), end: #"{"stage":"zcompress"}"#),
            TestFrame(header: #"{"id":"2","key":"k/declined"}"#, data: Array("beta\n".utf8), end: #"{"stage":"zcompress"}"#),
            TestFrame(header: #"{"id":"3","key":"k/failed"}"#, data: Array("gam".utf8),
                      end: #"{"error":"reading public.t: canceled","stage":"pg-extract"}"#),
            TestFrame(header: #"{"id":"4"}"#, data: Array("no key\n".utf8), end: #"{"stage":"zcompress"}"#),
            TestFrame(header: #"{"id":"5","key":"k/e"}"#, data: Array(repeating: 101, count: 300_000), end: #"{"stage":"zcompress"}"#),
        ])
        try input.write(to: URL(fileURLWithPath: dir.path("in")))
        try Data("commit\nabort\ncommit\ncommit\ncommit\n".utf8).write(to: URL(fileURLWithPath: dir.path("verdicts")))
        let out = try shell("\(quoted(Package.tool("s3put"))) --framed --endpoint file://\(store) --bucket b --commit-fd 3"
                            + " 3<\(quoted(dir.path("verdicts"))) < \(quoted(dir.path("in")))")
        #expect(out.status == 0, "\(out.err)")
        let lines = try out.out.split(separator: "\n").map { try jsonObject(String($0)) }
        try #require(lines.map { $0["id"] as? String ?? "" } == ["1", "2", "3", "4", "5"])
        #expect(lines[0]["error"] == nil && lines[0]["size"] as? Int == 6)
        #expect(lines[1]["declined"] as? Bool == true)
        #expect(lines[2]["stage"] as? String == "pg-extract" && lines[2]["error"] as? String == "reading public.t: canceled")
        #expect(lines[3]["stage"] as? String == "s3put" && (lines[3]["error"] as? String ?? "").contains("key"))
        #expect(lines[4]["error"] == nil && lines[4]["size"] as? Int == 300_000, "\(lines[4])")
        let objects = try FileManager.default.contentsOfDirectory(atPath: "\(store)/b/k").sorted()
        #expect(objects == ["a", "e"])
        let meta = try String(contentsOfFile: "\(store)/.meta/b/k/a.json", encoding: .utf8)
        #expect(meta.contains("abc123"))
        let usage = try run(Package.tool("s3put"), ["--framed", "--key", "x", "--endpoint", "file://\(store)", "--bucket", "b"], stdin: input)
        #expect(usage.status == 2)
    }
}
