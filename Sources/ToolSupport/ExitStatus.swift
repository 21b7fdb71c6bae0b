/// The one exit-status table every tool and every man page uses.
///
/// | status | meaning |
/// |---|---|
/// | 0 | ok |
/// | 1 | the operation failed (the cause) |
/// | 2 | usage error |
/// | 3 | not found (query tools) |
/// | 4 | consequence: output closed (EPIPE), input ended early, upload not committed |
/// | 5 | configuration error |
/// | 6 | authentication refused (final) |
/// | 130 | interrupted by SIGINT/SIGTERM |
public enum ExitStatus: Int32, Sendable {
    /// The operation succeeded.
    case ok = 0
    /// The operation failed.
    case failure = 1
    /// The command line was wrong.
    case usage = 2
    /// A query found nothing (`s3get --head`, `archive-cache get`).
    case notFound = 3
    /// A consequence of another stage's failure, not a cause: the tool's output was closed by
    /// its reader (EPIPE), its input ended in the middle of a stream (the writer died), or
    /// s3put's commit gate closed without `commit`. An orchestrator names another stage.
    case consequence = 4
    /// The configuration is wrong: a setting from the environment or a file is invalid, a
    /// secret file cannot be read, the state directory cannot be used.
    case configuration = 5
    /// Authentication was refused (PostgreSQL password, role or database; S3 access key,
    /// signature or access denied): final, never retried.
    case authentication = 6
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

    /// A consequence of a neighbouring stage's failure (exit 4).
    public static func consequence(_ message: String) -> ToolError { ToolError(message, status: .consequence) }

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
