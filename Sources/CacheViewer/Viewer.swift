import ArchiveCache
import Synchronization
import ToolSupport
import WebServer

/// The live cache viewer: HTTP routes, WebSocket updates (the cache database polled, the task
/// and PID files watched with inotify), Prometheus metrics.
///
/// Read-only: it serves the page, `/api/cache`, `/api/status`, `/ws` and `/metrics`, and
/// never changes a file (it only creates the state folder so it can watch it).
public final class CacheViewer: Sendable {
    /// Seconds between pings to WebSocket clients; a client silent for three intervals is dropped.
    public static let pingInterval: UInt64 = 20

    private let home: ArchiveHome
    private let version: String
    private let server: HTTPServer
    private let loopbackOnly: Bool
    private let mirror: CacheMirror
    private let state = Mutex(State())

    private struct State {
        var clients: [ObjectIdentifier: WebSocket] = [:]
        /// The last messages sent, and their documents without the timestamp (to detect change).
        var cacheMessage = "", statusMessage = "", statusBody = ""
        /// The cache version last sent to the clients.
        var sentVersion = 0
        var counters = ViewerMetrics.Counters()
    }

    /// A viewer of `home` for `host` (numeric address) and `port` (0: any free port).
    public init(home: ArchiveHome, host: String, port: UInt16, version: String) {
        self.home = home
        self.version = version
        mirror = CacheMirror(home: home)
        loopbackOnly = host == "127.0.0.1" || host == "::1" || host.hasPrefix("127.")
        let box = HandlerBox()
        server = HTTPServer(host: host, port: port) { box.viewer?.route($0) ?? .response(.error(503)) }
        box.viewer = self
    }

    /// Starts watching the state folder and listening; returns the port.
    public func start() throws -> UInt16 {
        let watcher = try FolderWatcher(home: home)
        refresh(filesChanged: false)
        let port: UInt16
        do {
            port = try server.start()
        } catch {
            throw ToolError(error.description)
        }
        spawnThread { [self] in
            var lastPing = monotonicNow()
            while true {
                // The database is polled (`PRAGMA data_version`) five times a second: WAL commits
                // touch only the -wal file, which inotify would report only on close.
                let changed = watcher.wait(timeout: 200)
                refresh(filesChanged: changed)
                if monotonicNow() - lastPing > 1_000_000_000 {
                    pingClients()
                    lastPing = monotonicNow()
                }
            }
        }
        return port
    }

    /// Stops accepting connections (open connections and the watcher run until the process ends).
    public func stop() { server.stop() }

    // MARK: Routes

    func route(_ request: HTTPRequest) -> HTTPRouteResult {
        if loopbackOnly, let problem = hostProblem(request) { return .response(secured(.error(403, problem))) }
        guard request.method == "GET" || request.method == "HEAD" else {
            var response = HTTPResponse.error(405)
            response.headers.append(("Allow", "GET, HEAD"))
            return .response(secured(response))
        }
        switch request.path {
        case "/", "/index.html":
            var page = HTTPResponse(contentType: "text/html; charset=utf-8", body: Array(ViewerPage.html.utf8))
            page.headers.append(("Content-Security-Policy",
                                 "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"))
            return .response(secured(page))
        case "/app.js":
            return .response(secured(HTTPResponse(contentType: "text/javascript; charset=utf-8", body: Array(ViewerPage.script.utf8))))
        case "/app.css":
            return .response(secured(HTTPResponse(contentType: "text/css; charset=utf-8", body: Array(ViewerPage.style.utf8))))
        case "/api/cache":
            // With a query (offset, limit, sort, order, q, table): one page, sorted and filtered
            // here; without: every entry, grouped by scope.
            if let query = PageQuery(target: request.target) { return .response(secured(.json(mirror.page(query)))) }
            return .response(secured(.json(mirror.fullDocument())))
        case "/api/status":
            return .response(secured(.json(statusDocument(now: .now()).compact)))
        case "/metrics":
            let counters = state.withLock { s -> ViewerMetrics.Counters in
                var c = s.counters
                c.clients = s.clients.count
                return c
            }
            let text = ViewerMetrics.render(files: mirror.files, running: TaskStore(home: home).status().running,
                                            counters: counters)
            return .response(secured(.text(text, contentType: "text/plain; version=0.0.4; charset=utf-8")))
        case "/ws":
            if let origin = request.header("Origin"), origin != "http://" + (request.header("Host") ?? "") {
                return .response(secured(.error(403, "cross-origin WebSocket refused")))
            }
            return .webSocket { [self] socket in session(socket) }
        default:
            return .response(secured(.error(404)))
        }
    }

    /// Refuses Host names other than loopback ones (DNS rebinding) when bound to loopback.
    private func hostProblem(_ request: HTTPRequest) -> String? {
        guard let host = request.header("Host") else { return "missing Host header" }
        var name = host
        if name.hasPrefix("[") {
            name = String(name.dropFirst().prefix { $0 != "]" })
        } else if let colon = name.lastIndex(of: ":") {
            name = String(name[..<colon])
        }
        let allowed = name == "localhost" || name == "::1" || name.hasPrefix("127.") && name.allSatisfy { $0.isNumber || $0 == "." }
        return allowed ? nil : "host \"\(host)\" refused: the viewer answers only to loopback names"
    }

    private func secured(_ response: HTTPResponse) -> HTTPResponse {
        var r = response
        r.headers += [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
                      ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY")]
        return r
    }

    private func statusDocument(now: Timestamp) -> JSONValue {
        ViewerDocuments.status(TaskStore(home: home).status(), version: version, now: now)
    }

    // MARK: WebSocket clients

    private func session(_ socket: WebSocket) {
        let id = ObjectIdentifier(socket)
        state.withLock { s in
            s.clients[id] = socket
            socket.send(text: s.cacheMessage)
            socket.send(text: s.statusMessage)
        }
        socket.run()
        _ = state.withLock { $0.clients.removeValue(forKey: id) }
    }

    /// Sends what changed to every client: the entries that changed when the database changed
    /// (a `delta` message; a `reload` one for a burst too large to list), the status when it
    /// changed (checked on every call: a crashed archiver changes no file, only its PID dies).
    private func refresh(filesChanged: Bool) {
        let delta = mirror.refresh()
        // The status document carries the time; compare it without.
        let statusBody = statusDocument(now: .zero).compact
        let deltaMessage = delta.flatMap { d -> String? in
            guard !d.initial else { return nil }
            let members: [(String, JSONValue)] = [("version", .int(Int64(d.version))), ("count", .int(Int64(mirror.counts.entries)))]
            var text = String(JSONValue.object(members).compact.dropLast())
            if d.changed.count + d.removed.count > Self.deltaLimit {
                text += ",\"reload\":true}"
            } else {
                text += ",\"changed\":[" + d.changed.map(\.json).joined(separator: ",") + "],\"removed\":"
                    + JSONValue.array(d.removed.map { .object([("file", .string($0.file)), ("partition", .string($0.key))]) }).compact + "}"
            }
            return ViewerDocuments.message("delta", json: text)
        }
        let summary = delta.map { _ in ViewerDocuments.message("cache", json: mirror.summaryDocument()) }
        state.withLock { s in
            var messages: [String] = []
            if let delta {
                if !delta.initial {
                    for row in delta.changed {
                        let before = delta.previous[row.id]
                        if !row.entry.s3UploadTime.isZero, row.entry.s3UploadTime != before?.s3UploadTime { s.counters.uploads += 1 }
                        if !row.entry.lastSkipTime.isZero, row.entry.lastSkipTime != before?.lastSkipTime { s.counters.skips += 1 }
                    }
                }
                s.sentVersion = delta.version
                if let summary { s.cacheMessage = summary }
                if let deltaMessage { messages.append(deltaMessage) }
            }
            if statusBody != s.statusBody {
                s.statusBody = statusBody
                s.statusMessage = ViewerDocuments.message("status", statusDocument(now: .now()))
                messages.append(s.statusMessage)
            }
            for client in s.clients.values {
                for message in messages { client.send(text: message) }
            }
        }
    }

    /// Changes in one delta message at most; a larger burst is sent as `reload`.
    static let deltaLimit = 500

    private func pingClients() {
        let now = monotonicNow()
        let clients = state.withLock { Array($0.clients.values) }
        for client in clients {
            if now - client.lastHeard > 3 * Self.pingInterval * 1_000_000_000 {
                client.close(code: 1001)
            } else if now - client.lastHeard > Self.pingInterval * 1_000_000_000 {
                client.ping()
            }
        }
    }
}

private final class HandlerBox: @unchecked Sendable {
    weak var viewer: CacheViewer?
}
