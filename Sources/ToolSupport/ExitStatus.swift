/// The one exit-status table every tool and every man page uses.
public enum ExitStatus: Int32, Sendable {
    /// The operation succeeded.
    case ok = 0
    /// The operation failed.
    case failure = 1
    /// The command line was wrong.
    case usage = 2
    /// A query found nothing (`s3get --head`, `archive-cache get`).
    case notFound = 3
    /// Interrupted by SIGINT or SIGTERM.
    case interrupted = 130
}

/// A failure a tool reports as one line on stderr, with the exit status it maps to.
public struct ToolError: Error, CustomStringConvertible, Sendable {
    /// The exit status the tool ends with.
    public var status: ExitStatus
    /// One line, lower-case, with the context a user needs.
    public var message: String

    /// An error with a message and the status it ends the tool with (default: failure).
    public init(_ message: String, status: ExitStatus = .failure) {
        self.message = message
        self.status = status
    }

    /// A usage error (exit 2).
    public static func usage(_ message: String) -> ToolError { ToolError(message, status: .usage) }

    public var description: String { message }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The C library's text for an errno value.
public func systemErrorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
