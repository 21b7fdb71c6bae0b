import Digest
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The server side of one WebSocket connection (RFC 6455, no extensions).
///
/// One thread runs `run(onText:)`, reading frames (answering pings, honouring close); any
/// thread may `send` — writes are serialised, and once the connection is closed sends are
/// refused, so a descriptor is never written after its connection ended.
public final class WebSocket: Sendable {
    /// Largest message accepted from a client.
    public static let maxMessageSize = 1 << 20

    private let fd: Int32
    private let writer = Mutex<Bool>(false)  // closed
    private let reader: Mutex<[UInt8]>
    private let heard = Atomic<UInt64>(0)

    init(fd: Int32, pending: [UInt8]) {
        self.fd = fd
        reader = Mutex(pending)
        heard.store(monotonicNow(), ordering: .relaxed)
    }

    /// The `Sec-WebSocket-Accept` value for a valid upgrade request, nil for anything else.
    static func handshakeAccept(for request: HTTPRequest) -> String? {
        guard request.method == "GET", request.version == "HTTP/1.1",
              request.headerHasToken("Connection", "upgrade"), request.headerHasToken("Upgrade", "websocket"),
              request.header("Sec-WebSocket-Version") == "13",
              let key = request.header("Sec-WebSocket-Key"), key.utf8.count == 24
        else { return nil }
        return acceptValue(key: key)
    }

    /// base64(SHA-1(key + the RFC 6455 GUID)).
    public static func acceptValue(key: String) -> String {
        base64(Digest.hash(.sha1, key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
    }

    /// Monotonic nanoseconds when the peer last sent anything.
    public var lastHeard: UInt64 { heard.load(ordering: .relaxed) }

    /// Whether the connection has ended.
    public var isClosed: Bool { writer.withLock { $0 } }

    /// Sends a text message; false when the connection is closed or the write failed.
    @discardableResult
    public func send(text: String) -> Bool { sendFrame(opcode: 1, payload: Array(text.utf8)) }

    /// Sends a ping.
    @discardableResult
    public func ping() -> Bool { sendFrame(opcode: 9, payload: []) }

    /// Sends a close frame with `code` and ends the connection (the reader returns).
    public func close(code: UInt16 = 1000) {
        _ = sendFrame(opcode: 8, payload: [UInt8(code >> 8), UInt8(code & 0xff)])
        writer.withLock { closed in
            closed = true
            shutdown(fd, Int32(SHUT_RDWR))
        }
    }

    private func sendFrame(opcode: UInt8, payload: [UInt8]) -> Bool {
        var frame: [UInt8] = [0x80 | opcode]
        let n = payload.count
        if n < 126 {
            frame.append(UInt8(n))
        } else if n <= 0xffff {
            frame += [126, UInt8(n >> 8), UInt8(n & 0xff)]
        } else {
            frame.append(127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((UInt64(n) >> UInt64(shift)) & 0xff)) }
        }
        frame += payload
        return writer.withLock { closed in
            guard !closed else { return false }
            if writeAll(fd, frame) { return true }
            closed = true
            shutdown(fd, Int32(SHUT_RDWR))
            return false
        }
    }

    /// Reads frames until the connection ends; text messages go to `onText`.
    ///
    /// Pings are answered, pongs noted, a close is echoed; protocol errors close with
    /// 1002/1007/1009. Returns when the connection is closed.
    public func run(onText: (String) -> Void = { _ in }) {
        var message: [UInt8] = []
        var messageOpcode: UInt8 = 0
        defer { writer.withLock { $0 = true } }
        while let frame = readFrame() {
            heard.store(monotonicNow(), ordering: .relaxed)
            switch frame.opcode {
            case 0x8:
                let code = frame.payload.count >= 2 ? UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1]) : 1000
                close(code: code == 1005 || code < 1000 ? 1000 : code)
                return
            case 0x9:
                _ = sendFrame(opcode: 0xA, payload: frame.payload)
            case 0xA:
                break
            case 0x1, 0x2, 0x0:
                if frame.opcode == 0 {
                    guard messageOpcode != 0 else { return close(code: 1002) }
                } else {
                    guard messageOpcode == 0 else { return close(code: 1002) }
                    messageOpcode = frame.opcode
                }
                guard message.count + frame.payload.count <= Self.maxMessageSize else { return close(code: 1009) }
                message += frame.payload
                if frame.fin {
                    if messageOpcode == 1 {
                        guard let text = String(validating: message, as: UTF8.self) else { return close(code: 1007) }
                        onText(text)
                    }
                    message = []
                    messageOpcode = 0
                }
            default:
                return close(code: 1002)
            }
        }
    }

    private struct Frame {
        var fin: Bool
        var opcode: UInt8
        var payload: [UInt8]
    }

    /// The next frame, or nil when the connection ended or broke the protocol (then closed).
    private func readFrame() -> Frame? {
        guard let head = readExactly(2) else { return nil }
        let fin = head[0] & 0x80 != 0
        let opcode = head[0] & 0x0f
        guard head[0] & 0x70 == 0, head[1] & 0x80 != 0 else {
            close(code: 1002)  // reserved bits set, or an unmasked client frame
            return nil
        }
        var length = UInt64(head[1] & 0x7f)
        if length == 126 {
            guard let ext = readExactly(2) else { return nil }
            length = UInt64(ext[0]) << 8 | UInt64(ext[1])
        } else if length == 127 {
            guard let ext = readExactly(8) else { return nil }
            length = ext.reduce(0) { $0 << 8 | UInt64($1) }
        }
        if opcode >= 8 && (!fin || length > 125) {
            close(code: 1002)
            return nil
        }
        guard length <= UInt64(Self.maxMessageSize) else {
            close(code: 1009)
            return nil
        }
        guard let mask = readExactly(4), var payload = readExactly(Int(length)) else { return nil }
        for i in payload.indices { payload[i] ^= mask[i & 3] }
        return Frame(fin: fin, opcode: opcode, payload: payload)
    }

    private func readExactly(_ count: Int) -> [UInt8]? {
        reader.withLock { buffer -> [UInt8]? in
            var chunk = [UInt8](repeating: 0, count: 4096)
            while buffer.count < count {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return nil }
                buffer += chunk[0..<n]
            }
            let out = Array(buffer[0..<count])
            buffer.removeFirst(count)
            return out
        }
    }
}

/// Nanoseconds from the monotonic clock.
public func monotonicNow() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
