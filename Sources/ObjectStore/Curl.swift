import CCurl
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// Process-wide set-up of the HTTP client; call once at the top of a tool's `run()`.
public func initializeObjectStores() {
    _ = curl_global_init(3)  // CURL_GLOBAL_ALL
}

/// One HTTP request as the S3 client builds it.
struct HTTPRequest {
    var method: String
    var url: String
    var headers: [(String, String)]
    var body: (any ByteSource)?
    /// Receives the body of a 2xx response as it arrives; otherwise the body is collected.
    var consumer: ((UnsafeRawBufferPointer) throws -> Void)?
    /// Told the status and headers of a 2xx response before its first body byte.
    var onHeaders: ((Int, [String: String]) -> Void)?
    /// A limit on connecting and on the whole transfer (metadata endpoints answer fast or not at all).
    var timeoutMilliseconds: Int? = nil
}

/// What came back: status, headers (names lower-case), and the collected body.
struct HTTPResponse {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    /// Bytes handed to the request's consumer.
    var delivered: UInt64
}

/// A transport failure: libcurl's code and text, and whether a retry may help.
struct TransportError: Error, CustomStringConvertible {
    var code: Int
    var message: String
    var retryable: Bool
    var description: String { message }
}

/// The state one transfer's C callbacks reach through an `Unmanaged` box.
private final class Transfer {
    var body: (any ByteSource)?
    var bodyOffset: UInt64 = 0
    var consumer: ((UnsafeRawBufferPointer) throws -> Void)?
    var consumerError: (any Error)?
    var status = 0
    var headers: [String: String] = [:]
    var collected: [UInt8] = []
    var delivered: UInt64 = 0
    var readError: (any Error)?
    var onHeaders: ((Int, [String: String]) -> Void)?
    var headersReported = false

    init(_ request: HTTPRequest) {
        body = request.body
        consumer = request.consumer
        onHeaders = request.onHeaders
    }
}

private let readCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    buffer, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    guard let body = transfer.body, let buffer else { return 0 }
    do {
        let n = try body.read(at: transfer.bodyOffset, into: UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
        transfer.bodyOffset += UInt64(n)
        return n
    } catch {
        transfer.readError = error
        return Int(CURL_READFUNC_ABORT)
    }
}

private let seekCallback: @convention(c) (UnsafeMutableRawPointer?, curl_off_t, Int32) -> Int32 = { context, offset, origin in
    // libcurl rewinds the body to resend it (a reused connection that turned out dead).
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    guard origin == SEEK_SET, offset >= 0, UInt64(offset) <= transfer.body?.size ?? 0 else { return 1 }  // CURL_SEEKFUNC_FAIL
    transfer.bodyOffset = UInt64(offset)
    return 0  // CURL_SEEKFUNC_OK
}

private let writeCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: data, count: size * count)
    if (200..<300).contains(transfer.status), let consumer = transfer.consumer {
        if !transfer.headersReported {
            transfer.headersReported = true
            transfer.onHeaders?(transfer.status, transfer.headers)
        }
        do {
            try consumer(bytes)
            transfer.delivered += UInt64(bytes.count)
        } catch {
            transfer.consumerError = error
            return 0
        }
    } else if transfer.collected.count < 1 << 20 {
        transfer.collected.append(contentsOf: bytes)
    }
    return size * count
}

private let headerCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: size * count), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
        // A new response (after 100 Continue or a redirect): start over.
        transfer.headers = [:]
        let fields = line.split(separator: " ")
        transfer.status = fields.count > 1 ? Int(fields[1]) ?? 0 : 0
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingSpaces()
        if let old = transfer.headers[name] {
            transfer.headers[name] = old + "," + value
        } else {
            transfer.headers[name] = value
        }
    }
    return size * count
}

extension Substring {
    /// The text without leading and trailing spaces, tabs and line ends.
    func trimmingSpaces() -> String {
        var s = unicodeScalars[...]
        let space: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        while let f = s.first, space(f) { s = s.dropFirst() }
        while let l = s.last, space(l) { s = s.dropLast() }
        return String(String.UnicodeScalarView(s))
    }
}

/// One libcurl easy handle; reused for every request of one thread (keeps the connection).
final class CurlHandle {
    private let handle: UnsafeMutableRawPointer
    /// A CA bundle to trust instead of the system's.
    let caBundle: String?

    init(caBundle: String?) throws {
        guard let h = curl_easy_init() else { throw ToolError("could not initialise libcurl") }
        handle = h
        self.caBundle = caBundle
    }

    deinit { curl_easy_cleanup(handle) }

    /// Runs one request to completion; throws `TransportError` when no response arrived.
    func perform(_ request: HTTPRequest) throws -> HTTPResponse {
        curl_easy_reset(handle)
        let transfer = Transfer(request)
        let box = Unmanaged.passRetained(transfer)
        defer { box.release() }
        let context = box.toOpaque()
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for (name, value) in request.headers + [("Expect", ""), ("Accept", "")] {
            headerList = curl_slist_append(headerList, value.isEmpty ? "\(name):" : "\(name): \(value)")
        }
        pgarchive_curl_setopt_string(handle, CURLOPT_URL, request.url)
        // The path goes out exactly as it was signed: never squash `.`/`..` segments (a key
        // holding them would otherwise address another key, or another bucket).
        pgarchive_curl_setopt_long(handle, CURLOPT_PATH_AS_IS, 1)
        pgarchive_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        pgarchive_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, 15)
        pgarchive_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1)
        pgarchive_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, 60)
        pgarchive_curl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1)
        pgarchive_curl_setopt_long(handle, CURLOPT_UPLOAD_BUFFERSIZE, 256 * 1024)
        pgarchive_curl_setopt_long(handle, CURLOPT_BUFFERSIZE, 256 * 1024)
        if let caBundle { pgarchive_curl_setopt_string(handle, CURLOPT_CAINFO, caBundle) }
        if let limit = request.timeoutMilliseconds {
            pgarchive_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, limit)
            pgarchive_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, limit)
        }
        pgarchive_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)
        pgarchive_curl_setopt_write(handle, writeCallback)
        pgarchive_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
        pgarchive_curl_setopt_header(handle, headerCallback)
        pgarchive_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
        pgarchive_curl_setopt_read(handle, readCallback)
        pgarchive_curl_setopt_pointer(handle, CURLOPT_READDATA, context)
        pgarchive_curl_setopt_seek(handle, seekCallback)
        pgarchive_curl_setopt_pointer(handle, CURLOPT_SEEKDATA, context)
        switch request.method {
        case "HEAD":
            pgarchive_curl_setopt_long(handle, CURLOPT_NOBODY, 1)
        case "PUT":
            pgarchive_curl_setopt_long(handle, CURLOPT_UPLOAD, 1)
            pgarchive_curl_setopt_off(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body?.size ?? 0))
        case "POST":
            pgarchive_curl_setopt_long(handle, CURLOPT_POST, 1)
            pgarchive_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body?.size ?? 0))
        case "GET":
            break
        default:
            pgarchive_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
        }
        let code = curl_easy_perform(handle)
        if let error = transfer.consumerError { throw error }
        if let error = transfer.readError { throw error }
        guard code == CURLE_OK else {
            let text = String(cString: curl_easy_strerror(code))
            throw TransportError(code: Int(code.rawValue), message: text, retryable: Self.retryable(code))
        }
        var status = 0
        pgarchive_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: transfer.headers, body: transfer.collected, delivered: transfer.delivered)
    }

    private static func retryable(_ code: CURLcode) -> Bool {
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
             CURLE_OPERATION_TIMEDOUT, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_SSL_CONNECT_ERROR,
             CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_WEIRD_SERVER_REPLY:
            return true
        default:
            return false
        }
    }
}
