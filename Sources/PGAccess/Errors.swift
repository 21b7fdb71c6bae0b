/// A PostgreSQL failure with libpq's or the server's own message.
public struct PGError: Error, CustomStringConvertible, Sendable {
    /// Where it failed.
    public enum Kind: String, Sendable {
        /// Could not connect (after all retries).
        case connection
        /// The server refused who we are (password, role, database, pg_hba.conf): never retried.
        case authentication
        /// A query or command failed.
        case query
        /// A COPY failed while streaming.
        case copy
        /// The server answered something the caller did not expect.
        case protocolViolation
    }

    /// Where it failed.
    public var kind: Kind
    /// libpq's message, first line (trimmed).
    public var message: String
    /// The SQLSTATE, when the server sent one (`42501` insufficient privilege, …).
    public var sqlState: String?

    /// An error from its parts.
    public init(_ kind: Kind, _ message: String, sqlState: String? = nil) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
    }

    /// Whether the server refused for lack of privilege.
    public var isPermissionDenied: Bool { sqlState == "42501" }

    /// Whether the command was cancelled (`PGConnection.cancel`, or a statement timeout).
    public var isCancelled: Bool { sqlState == "57014" }

    public var description: String { message }
}

/// libpq text, trimmed of trailing newlines and joined into one line.
func oneLine(_ text: String) -> String {
    text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: " \t") }.filter { !$0.isEmpty }.joined(separator: "; ")
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = self
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
