#if canImport(Glibc)
import Glibc
#endif

/// The commit gate (ARCHITECTURE.md): in a pipe EOF looks the same whether the stage before
/// finished or died, so a stage that makes its work permanent (s3put's upload, pg-load's insert)
/// does so only once `commit` arrives on a descriptor the orchestrator writes after every earlier
/// stage exited 0.
public struct CommitGate: Sendable {
    /// The descriptor to read.
    public let fd: Int32

    /// A gate on `fd`.
    public init(fd: Int32) { self.fd = fd }

    /// Waits for the writer's verdict: true for `commit` (with an optional newline), false otherwise.
    public func awaitCommit() -> Bool {
        var text: [UInt8] = []
        var byte: UInt8 = 0
        while text.count < 64 {
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 || byte == UInt8(ascii: "\n") { break }
            text.append(byte)
        }
        return String(decoding: text, as: UTF8.self) == "commit"
    }
}
