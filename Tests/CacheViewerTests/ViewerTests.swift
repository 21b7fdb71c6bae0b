import ArchiveCache
import CacheViewer
import Foundation
import Testing
import TestSupport
import WebServer

@Suite("cache viewer")
struct ViewerTests {
    @Test("the WebSocket accept key follows RFC 6455's example")
    func acceptKey() {
        #expect(WebSocket.acceptValue(key: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test("GET /api/cache and /api/status return the documented shapes")
    func restShapes() throws {
        let viewer = try ViewerProcess()
        try viewer.cli(["record", "--table", "flights", "--path-template", "archives/{table}/{YYYY}", "--row-count", "10",
                        "--uncompressed-size", "4000"], stdin: resultLine(key: "archives/flights/2024/flights-2024-01-01.jsonl.zst", size: 1000))
        try viewer.cli(["record-error"] + viewer.scope + ["--key", "flights-2024-01-02", "--kind", "query", "--message", "timeout"])
        try viewer.cli(["set-task", "--pid", String(getpid())], stdin: #"{"table":"flights","current_task":"archiving","current_partition":"flights-2024-01-02","current_step":"extracting","total_slices":4,"slices_processed":1}"#)
        try "\(getpid())\n".write(toFile: viewer.home + "/archiver.pid", atomically: true, encoding: .utf8)

        let cache = try viewer.json("/api/cache")
        #expect(cache["timestamp"] is String)
        let tables = try #require(cache["tables"] as? [[String: Any]])
        #expect(tables.count == 1)
        #expect(tables[0]["tableName"] as? String == "flights")
        let entries = try #require(tables[0]["entries"] as? [[String: Any]])
        #expect(entries.count == 2)
        let documented: Set = ["table", "partition", "rowCount", "countTime", "fileSize", "uncompressedSize", "fileMD5", "multipartETag",
                               "fileTime", "s3Key", "s3Uploaded", "s3UploadTime", "lastError", "errorTime", "processStartTime"]
        for entry in entries { #expect(documented.isSubset(of: Set(entry.keys))) }
        let uploaded = try #require(entries.first { $0["partition"] as? String == "archives/flights/2024/flights-2024-01-01.jsonl.zst" })
        #expect(uploaded["fileSize"] as? Int == 1000 && uploaded["uncompressedSize"] as? Int == 4000 && uploaded["rowCount"] as? Int == 10)
        #expect(uploaded["s3Uploaded"] as? Bool == true && uploaded["table"] as? String == "flights")
        #expect(uploaded["errorTime"] as? String == "0001-01-01T00:00:00Z")
        let failed = try #require(entries.first { $0["partition"] as? String == "flights-2024-01-02" })
        #expect(failed["lastError"] as? String == "query: timeout")

        let status = try viewer.json("/api/status")
        #expect(status["archiverRunning"] as? Bool == true)
        #expect(status["pid"] as? Int == Int(getpid()))
        #expect(status["version"] as? String == "0.1.0")
        #expect(status["isSlicing"] as? Bool == true)
        let task = try #require(status["currentTask"] as? [String: Any])
        #expect(task["current_step"] as? String == "extracting" && task["total_slices"] as? Int == 4)

        // A crashed archiver: the PID file names a dead process.
        try "99999999\n".write(toFile: viewer.home + "/archiver.pid", atomically: true, encoding: .utf8)
        let stale = try viewer.json("/api/status")
        #expect(stale["archiverRunning"] as? Bool == false && stale["stalePidFile"] as? Bool == true)
        #expect(stale["currentTask"] is NSNull)
    }

    @Test("/metrics exposes cache gauges and counts the uploads and skips it saw")
    func metrics() throws {
        let viewer = try ViewerProcess()
        try viewer.cli(["record", "--table", "flights", "--path-template", "archives/{table}/{YYYY}", "--row-count", "5"],
                       stdin: resultLine(key: "a", size: 100))
        try viewer.cli(["record-error"] + viewer.scope + ["--key", "b", "--kind", "upload", "--message", "503"])
        try viewer.cli(["record", "--table", "flights", "--path-template", "archives/{table}/{YYYY}"], stdin: resultLine(key: "a", size: 100, skipped: true))
        var text = ""
        // The counters follow inotify; wait (bounded) until the viewer has seen both changes.
        for _ in 0..<100 {
            text = String(decoding: try viewer.get("/metrics").body, as: UTF8.self)
            if text.contains("pgarchive_viewer_skips_seen_total 1") { break }
            usleep(50_000)
        }
        #expect(text.contains("# TYPE pgarchive_slices_uploaded gauge"))
        #expect(text.contains("pgarchive_slices_uploaded{command=\"archive\",table=\"flights\"} 1"))
        #expect(text.contains("pgarchive_slices_failed{command=\"archive\",table=\"flights\"} 1"))
        #expect(text.contains("pgarchive_bytes{command=\"archive\",table=\"flights\",kind=\"compressed\"} 100"))
        #expect(text.contains("pgarchive_rows{command=\"archive\",table=\"flights\"} 5"))
        #expect(text.contains("# TYPE pgarchive_viewer_uploads_seen_total counter"))
        #expect(text.contains("pgarchive_viewer_uploads_seen_total 1"))
        #expect(text.contains("pgarchive_viewer_skips_seen_total 1"))
        // Every sample line is NAME{labels} VALUE or NAME VALUE.
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.split(separator: " ").count == 2 && Double(line.split(separator: " ").last!) != nil, "\(line)")
        }
    }

    @Test("safe by default: loopback bind, foreign Host and Origin refused, read-only, security headers")
    func safety() throws {
        let viewer = try ViewerProcess()
        #expect(viewer.url.hasPrefix("http://127.0.0.1:"))
        #expect(try viewer.get("/api/cache", headers: ["Host: attacker.example"]).status == 403)
        #expect(try viewer.get("/api/cache", headers: ["Host: localhost"]).status == 200)
        #expect(try viewer.get("/api/cache", method: "POST").status == 405)
        #expect(try viewer.get("/api/cache", method: "DELETE").status == 405)
        #expect(try viewer.get("/no/such/page").status == 404)
        let wsHeaders = ["Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]
        #expect(try viewer.get("/ws", headers: wsHeaders + ["Origin: http://attacker.example"]).status == 403)
        #expect(try viewer.get("/ws").status == 426)
        let page = try viewer.get("/")
        #expect(page.status == 200)
        #expect(page.headers.contains("Content-Security-Policy: default-src 'none'; script-src 'self'"))
        #expect(page.headers.contains("X-Content-Type-Options: nosniff"))
        #expect(!page.headers.lowercased().contains("access-control-allow-origin"))
        let page6 = try ViewerProcess(arguments: ["--bind", "::1"])
        #expect(page6.url.hasPrefix("http://[::1]:"))
        #expect(try page6.get("/api/status").status == 200)
    }

    @Test("a WebSocket client gets cache and status on connect, a cache message after a change, and pongs")
    func webSocketUpdates() throws {
        let viewer = try ViewerProcess()
        let r = try viewer.python(webSocketScript)
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.contains("ok"))
    }

    @Test("headless Chromium renders rows, stats and live updates; markup in values shows as text")
    func browser() throws {
        let viewer = try ViewerProcess()
        try viewer.cli(["record", "--table", "flights", "--path-template", "archives/{table}/{YYYY}", "--row-count", "1200",
                        "--uncompressed-size", "80000"], stdin: resultLine(key: "archives/flights/2024/flights-2024-01-01.jsonl.zst", size: 10000))
        try viewer.cli(["record-error"] + viewer.scope + ["--key", "<img src=x onerror=\"window.__xss=1\">",
                                                          "--kind", "query", "--message", "<script>window.__xss=2</script>"])
        let long = "s3put (exit status 6): PUT s3://bkt/archives/flights/2024/flights-2024-01-09.jsonl.zst: AccessDenied: "
            + String(repeating: "a long message from the store that goes on and on ", count: 6)
        try viewer.cli(["record-error"] + viewer.scope + ["--key", "archives/flights/2024/flights-2024-01-09.jsonl.zst",
                                                          "--kind", "s3put", "--message", long])
        try viewer.cli(["set-task", "--pid", String(getpid())], stdin: #"{"table":"flights","current_task":"archiving","current_partition":"archives/flights/2024/flights-2024-01-01.jsonl.zst","current_step":"uploading","total_slices":4,"slices_processed":1,"workers":[{"worker":1,"slice":"flights-2024-01-03","stage":"compressing","rows":600,"expected_rows":1200,"bytes":40000},{"worker":2,"slice":"flights-2024-01-02","stage":"uploading","rows":1200,"expected_rows":1200,"bytes":90000}]}"#)
        try "\(getpid())\n".write(toFile: viewer.home + "/archiver.pid", atomically: true, encoding: .utf8)
        let shot = ProcessInfo.processInfo.environment["PGARCHIVE_VIEWER_SHOT"] ?? viewer.dir.path("viewer.png")
        let r = try viewer.python(browserScript, [shot, String(viewer.process.processIdentifier)])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.contains("ok"))
        #expect(FileManager.default.fileExists(atPath: shot))
    }

    @Test("100,000 entries: paged /api/cache sorted and searched on the server, deltas over the WebSocket, Chromium shows one page")
    func hundredThousandEntries() throws {
        // Filled before the viewer starts, in one transaction, as a long archive would leave it.
        let dir = try TemporaryDirectory()
        let home = ArchiveHome(path: dir.path("home"))
        let scope = CacheScope(command: "archive", table: "big", bucket: "bkt", pathTemplate: "archives/{table}/{YYYY}")
        let keys = (0..<100_000).map { "archives/big/2024/big-" + String(String($0 + 1_000_000).dropFirst()) + ".jsonl.zst" }
        let now = Timestamp.now()
        try CacheStore(home: home).updateEntries(scope, keys: keys) { key, e in
            let n = Int64(key.dropFirst("archives/big/2024/big-".count).prefix(6))!
            e.fileSize = n
            e.rowCount = n
            e.fileMD5 = "0123456789abcdef0123456789abcdef"
            e.s3Uploaded = true
            e.s3UploadTime = now
            e.s3Key = key
        }
        let viewer = try ViewerProcess(home: home.path)
        // REST: one page, sorted and filtered by the server.
        let page = try viewer.json("/api/cache?offset=100&limit=50&sort=fileSize&order=desc&q=big-09")
        let entries = try #require(page["entries"] as? [[String: Any]])
        #expect(page["total"] as? Int == 10_000 && page["count"] as? Int == 100_000)
        #expect(entries.count == 50 && entries.first?["fileSize"] as? Int == 99_899)
        #expect((page["stats"] as? [String: Any])?["uploaded"] as? Int == 10_000)
        let r = try viewer.python(bigBrowserScript, [viewer.dir.path("big.png"), String(viewer.process.processIdentifier)])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.contains("ok"), "\(r.out)")
    }

    @Test("retired entries: their fields in /api/cache, sorted and searched on the server, counted in the stats and /metrics")
    func retiredEntries() throws {
        let dir = try TemporaryDirectory()
        let home = ArchiveHome(path: dir.path("home"))
        let scope = CacheScope(command: "archive", table: "flights", bucket: "bkt", pathTemplate: "archives/{table}/{YYYY}")
        let keys = (1...4).map { "archives/flights/2024/flights-2024-01-0\($0).jsonl.zst" }
        let now = Timestamp.now()
        try CacheStore(home: home).updateEntries(scope, keys: keys) { key, e in
            e.s3Key = key
            e.s3Uploaded = true
            e.s3UploadTime = now
            e.rowCount = 150
            // Days 1 and 3 retired, day 3 later (by DELETE), day 1 earlier (drop).
            if key.contains("01-01") || key.contains("01-03") {
                let late = key.contains("01-03")
                e.retiredTime = Timestamp(seconds: now.seconds - (late ? 10 : 3600), nanoseconds: 0)
                e.retiredRows = late ? 140 : 150
                e.retiredDigest = late ? "dddddddddddddddddddddddddddddddd" : "0123456789abcdef0123456789abcdef"
                e.retireMode = late ? "delete" : "drop"
            }
        }
        let viewer = try ViewerProcess(home: home.path)
        let page = try viewer.json("/api/cache?sort=retired&order=asc")
        let entries = try #require(page["entries"] as? [[String: Any]])
        #expect(entries.map { $0["partition"] as? String ?? "" } == [keys[2], keys[0], keys[1], keys[3]])
        #expect(entries[0]["retireMode"] as? String == "delete" && entries[0]["retiredRows"] as? Int == 140)
        #expect(entries[0]["retiredDigest"] as? String == "dddddddddddddddddddddddddddddddd")
        #expect(entries[3]["retireMode"] as? String == "" && entries[3]["retiredTime"] as? String == "0001-01-01T00:00:00Z")
        let stats = try #require(page["stats"] as? [String: Any])
        #expect(stats["retired"] as? Int == 2 && stats["retiredRows"] as? Int == 290, "\(stats)")
        let found = try viewer.json("/api/cache?q=retired%20drop")
        #expect((found["entries"] as? [[String: Any]])?.map { $0["partition"] as? String ?? "" } == [keys[0]])
        #expect(try viewer.json("/api/cache?q=retired")["total"] as? Int == 2)
        #expect(try viewer.json("/api/cache?q=dddddddd")["total"] as? Int == 1)
        let metrics = String(decoding: try viewer.get("/metrics").body, as: UTF8.self)
        #expect(metrics.contains("pgarchive_slices_retired{command=\"archive\",table=\"flights\"} 2"), "\(metrics)")
        #expect(metrics.contains("pgarchive_rows_retired{command=\"archive\",table=\"flights\"} 290"))
    }

    @Test("bounded load: 200 WebSocket clients and 1,000 REST requests on loopback without errors")
    func load() throws {
        let viewer = try ViewerProcess()
        try viewer.cli(["record", "--table", "flights", "--path-template", "archives/{table}/{YYYY}"], stdin: resultLine(key: "k0"))
        let r = try viewer.python(loadScript)
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.contains("\"errors\": 0"))
    }
}
