/// One HTTP/1.1 request head (the server accepts no request bodies).
public struct HTTPRequest: Sendable {
    /// `GET`, `HEAD`, …
    public var method: String
    /// The request target as sent (`/api/cache?x=1`).
    public var target: String
    /// `HTTP/1.1` or `HTTP/1.0`.
    public var version: String
    /// Header fields in order, names as sent.
    public var headers: [(name: String, value: String)]

    /// The target's path, without the query.
    public var path: String { String(target.prefix { $0 != "?" }) }

    /// The first value of a header (case-insensitive name).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// Whether a comma-separated header contains `token` (case-insensitive).
    public func headerHasToken(_ name: String, _ token: String) -> Bool {
        let lower = token.lowercased()
        return headers.contains { field in
            field.name.lowercased() == name.lowercased()
                && field.value.split(separator: ",").contains { $0.trimmingSpaces.lowercased() == lower }
        }
    }

    /// Whether the connection stays open after the response.
    public var keepAlive: Bool {
        if headerHasToken("Connection", "close") { return false }
        return version == "HTTP/1.1" || headerHasToken("Connection", "keep-alive")
    }

    /// Parses a request head (request line and header fields, without the blank line).
    static func parse(_ head: [UInt8]) throws(HTTPError) -> HTTPRequest {
        guard let text = String(validating: head, as: UTF8.self) else { throw .badRequest("request head is not UTF-8") }
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard !lines.isEmpty else { throw .badRequest("empty request") }
        let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard requestLine.count == 3, !requestLine[0].isEmpty, requestLine[0].allSatisfy({ $0.isLetter && $0.isUppercase }),
              requestLine[1].hasPrefix("/"), requestLine[2] == "HTTP/1.1" || requestLine[2] == "HTTP/1.0"
        else { throw .badRequest("malformed request line") }
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":"), colon > line.startIndex,
                  !line[..<colon].contains(where: { $0 == " " || $0 == "\t" })
            else { throw .badRequest("malformed header field") }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingSpaces))
        }
        return HTTPRequest(method: String(requestLine[0]), target: String(requestLine[1]),
                           version: String(requestLine[2]), headers: headers)
    }
}

/// A complete HTTP response.
public struct HTTPResponse: Sendable {
    /// Status code.
    public var status: Int
    /// Header fields (Content-Length, Date and Connection are added by the server).
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: [UInt8]

    /// A response with a body of `contentType`.
    public init(status: Int = 200, contentType: String, body: [UInt8], headers: [(name: String, value: String)] = []) {
        self.status = status
        self.headers = [("Content-Type", contentType)] + headers
        self.body = body
    }

    /// A UTF-8 text response.
    public static func text(_ text: String, status: Int = 200, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, contentType: contentType, body: Array(text.utf8))
    }

    /// A JSON response.
    public static func json(_ text: String, status: Int = 200) -> HTTPResponse {
        .text(text, status: status, contentType: "application/json; charset=utf-8")
    }

    /// A plain error response with the status's reason as body.
    public static func error(_ status: Int, _ detail: String? = nil) -> HTTPResponse {
        .text((detail ?? reasonPhrase(status)) + "\n", status: status)
    }

    /// The bytes of the status line, headers and (unless `headOnly`) body.
    func serialized(keepAlive: Bool, headOnly: Bool) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\n"
        head += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        return Array(head.utf8) + (headOnly ? [] : body)
    }
}

/// A request the server refuses before routing.
enum HTTPError: Error {
    case badRequest(String)
    case headTooLarge
}

/// The standard reason phrase of a status code.
public func reasonPhrase(_ status: Int) -> String {
    switch status {
    case 101: "Switching Protocols"
    case 200: "OK"
    case 204: "No Content"
    case 304: "Not Modified"
    case 400: "Bad Request"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 405: "Method Not Allowed"
    case 408: "Request Timeout"
    case 413: "Content Too Large"
    case 426: "Upgrade Required"
    case 431: "Request Header Fields Too Large"
    case 500: "Internal Server Error"
    case 503: "Service Unavailable"
    default: "Status \(status)"
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
