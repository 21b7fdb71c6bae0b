import Synchronization
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// What a route answers: a response, or a WebSocket session run on the connection's thread.
public enum HTTPRouteResult: Sendable {
    /// Send this response.
    case response(HTTPResponse)
    /// Complete the WebSocket handshake, then hand the socket to this function.
    case webSocket(@Sendable (WebSocket) -> Void)
}

/// A small HTTP/1.1 server on POSIX sockets: one thread per connection, keep-alive, no
/// request bodies, WebSocket upgrade (RFC 6455) for routes that ask for it.
public final class HTTPServer: Sendable {
    /// Largest request head accepted.
    public static let maxHeadSize = 16 * 1024
    /// Seconds a connection may wait for its next request head to begin and end (a new
    /// connection, or an idle keep-alive one): short, so slow or idle clients do not hold slots.
    public static let headDeadline = 10
    /// Seconds an idle keep-alive connection is kept between two requests.
    public static let idleTimeout = 5

    private let host: String
    private let requestedPort: UInt16
    private let maxConnections: Int
    private let handler: @Sendable (HTTPRequest) -> HTTPRouteResult
    /// The listener, the port, how many connections are open, and which of them are idle
    /// (waiting for a request head) since when — the oldest idle one is evicted when full.
    private let state = Mutex<(fd: Int32, port: UInt16, connections: Int, stopped: Bool, idle: [Int32: UInt64])>((-1, 0, 0, false, [:]))

    /// A server for `host` (numeric IPv4 or IPv6 address) and `port` (0: any free port).
    public init(host: String, port: UInt16, maxConnections: Int = 2048,
                handler: @escaping @Sendable (HTTPRequest) -> HTTPRouteResult) {
        self.host = host
        requestedPort = port
        self.maxConnections = maxConnections
        self.handler = handler
    }

    /// The port listened on (after `start`).
    public var port: UInt16 { state.withLock { $0.port } }

    /// Binds, listens and starts accepting on a background thread; returns the port.
    @discardableResult
    public func start() throws(ServerError) -> UInt16 {
        let fd = try listenSocket()
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let family = address.ss_family
        let port: UInt16 = withUnsafePointer(to: &address) { pointer in
            if family == sa_family_t(AF_INET6) {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        state.withLock {
            $0.fd = fd
            $0.port = port
        }
        guard spawnThread({ [self] in acceptLoop(fd) }) else {
            close(fd)
            throw ServerError("could not start the accept thread")
        }
        return port
    }

    /// Stops accepting (open connections finish on their own).
    public func stop() {
        let fd = state.withLock { s -> Int32 in
            s.stopped = true
            return s.fd
        }
        if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func listenSocket() throws(ServerError) -> Int32 {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE | AI_NUMERICSERV
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(requestedPort), &hints, &list)
        guard rc == 0, let info = list else {
            throw ServerError("not a numeric address: \"\(host)\"")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if info.pointee.ai_family == AF_INET6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let text = String(cString: strerror(errno))
            close(fd)
            throw ServerError("could not bind \(host) port \(requestedPort): \(text)")
        }
        guard listen(fd, 1024) == 0 else {
            let text = String(cString: strerror(errno))
            close(fd)
            throw ServerError("could not listen on \(host) port \(requestedPort): \(text)")
        }
        return fd
    }

    private func acceptLoop(_ listener: Int32) {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if state.withLock({ $0.stopped }) { break }
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    usleep(50_000)
                    continue
                }
                break
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            // When full, the oldest idle connection (no request under way) makes room: one local
            // user holding idle sockets cannot deny the page to others. Under the lock, so the
            // evicted connection's thread cannot close its descriptor in between.
            let admitted = state.withLock { s -> Bool in
                if s.connections >= maxConnections {
                    guard let oldest = s.idle.min(by: { $0.value < $1.value })?.key else { return false }
                    s.idle[oldest] = nil
                    shutdown(oldest, Int32(SHUT_RDWR))
                }
                s.connections += 1
                return true
            }
            guard admitted else {
                _ = writeAll(fd, HTTPResponse.error(503).serialized(keepAlive: false, headOnly: false))
                close(fd)
                continue
            }
            let started = spawnThread { [self] in
                serve(fd)
                state.withLock { s in
                    s.idle[fd] = nil
                    close(fd)
                    s.connections -= 1
                }
            }
            if !started {
                state.withLock { $0.connections -= 1 }
                _ = writeAll(fd, HTTPResponse.error(503).serialized(keepAlive: false, headOnly: false))
                close(fd)
            }
        }
        close(listener)
    }

    private func serve(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        setTimeout(fd, SO_SNDTIMEO, seconds: 10)
        var buffer: [UInt8] = []
        var first = true
        while true {
            let head: [UInt8]
            state.withLock { $0.idle[fd] = monotonicNanoseconds() }
            let read = readHead(fd, &buffer, firstByteWithin: first ? Self.headDeadline : Self.idleTimeout)
            state.withLock { $0.idle[fd] = nil }
            first = false
            switch read {
            case .head(let h): head = h
            case .closed: return
            case .tooLarge:
                _ = writeAll(fd, HTTPResponse.error(431).serialized(keepAlive: false, headOnly: false))
                return
            }
            let request: HTTPRequest
            do {
                request = try HTTPRequest.parse(head)
            } catch {
                let detail: String
                switch error {
                case .badRequest(let why): detail = why
                case .headTooLarge: detail = reasonPhrase(431)
                }
                _ = writeAll(fd, HTTPResponse.error(400, detail).serialized(keepAlive: false, headOnly: false))
                return
            }
            if request.header("Transfer-Encoding") != nil || (request.header("Content-Length").flatMap { Int($0) } ?? 0) != 0 {
                _ = writeAll(fd, HTTPResponse.error(413, "request bodies are not accepted").serialized(keepAlive: false, headOnly: false))
                return
            }
            switch handler(request) {
            case .response(let response):
                let keepAlive = request.keepAlive
                guard writeAll(fd, response.serialized(keepAlive: keepAlive, headOnly: request.method == "HEAD")), keepAlive else { return }
            case .webSocket(let session):
                guard let accept = WebSocket.handshakeAccept(for: request) else {
                    let response = HTTPResponse.error(request.method == "GET" ? 426 : 405, "a WebSocket upgrade is expected here")
                    _ = writeAll(fd, response.serialized(keepAlive: false, headOnly: false))
                    return
                }
                let reply = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n\r\n"
                guard writeAll(fd, Array(reply.utf8)) else { return }
                setTimeout(fd, SO_RCVTIMEO, seconds: 0)
                session(WebSocket(fd: fd, pending: buffer))
                return
            }
        }
    }

    private enum HeadRead {
        case head([UInt8])
        case closed
        case tooLarge
    }

    /// Reads until a blank line; keeps bytes after it in `buffer` for the next request. The
    /// first byte must come within `firstByteWithin` seconds and the whole head within
    /// `headDeadline` of the start, else the connection closes (a slow or idle client).
    private func readHead(_ fd: Int32, _ buffer: inout [UInt8], firstByteWithin: Int) -> HeadRead {
        var scanFrom = 0
        var chunk = [UInt8](repeating: 0, count: 4096)
        let start = monotonicNanoseconds()
        while true {
            let limit = buffer.isEmpty ? firstByteWithin : Self.headDeadline
            let elapsed = Int((monotonicNanoseconds() - start) / 1_000_000)
            let left = limit * 1000 - elapsed
            if left <= 0 { return .closed }
            setTimeoutMilliseconds(fd, SO_RCVTIMEO, left)
            if buffer.count >= 4 {
                var i = max(scanFrom, 0)
                while i + 3 < buffer.count {
                    if buffer[i] == 13, buffer[i + 1] == 10, buffer[i + 2] == 13, buffer[i + 3] == 10 {
                        let head = Array(buffer[0..<i])
                        buffer.removeFirst(i + 4)
                        return .head(head)
                    }
                    i += 1
                }
                scanFrom = max(buffer.count - 3, 0)
            }
            if buffer.count > Self.maxHeadSize { return .tooLarge }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return .closed }
            buffer += chunk[0..<n]
        }
    }
}

/// A failure to start the server.
public struct ServerError: Error, CustomStringConvertible, Sendable {
    /// One line.
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Writes everything; false on any failure (the peer went away, or the send timed out).
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}

func setTimeout(_ fd: Int32, _ option: Int32, seconds: Int) {
    var tv = timeval(tv_sec: seconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
}

/// Sets a socket's receive or send timeout in milliseconds.
func setTimeoutMilliseconds(_ fd: Int32, _ option: Int32, _ milliseconds: Int) {
    var tv = timeval(tv_sec: milliseconds / 1000, tv_usec: Int((milliseconds % 1000) * 1000))
    setsockopt(fd, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
}
