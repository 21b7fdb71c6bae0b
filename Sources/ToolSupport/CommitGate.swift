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
    /// Where the verdict is noted once read (a framed stream reads one per frame, docs/framing.md).
    public let record: Verdict?

    /// A gate on `fd`; with `record`, the verdict read is noted there.
    public init(fd: Int32, record: Verdict? = nil) {
        self.fd = fd
        self.record = record
    }

    /// Whether a gate's verdict was read, and what it said.
    public final class Verdict: @unchecked Sendable {
        /// A verdict was read.
        public private(set) var read = false
        /// It was `commit`.
        public private(set) var committed = false

        /// Nothing read yet.
        public init() {}

        fileprivate func note(_ commit: Bool) {
            read = true
            committed = commit
        }
    }

    /// Waits for the writer's verdict: true for `commit` (with an optional newline), false otherwise.
    public func awaitCommit() -> Bool {
        let commit = readVerdict()
        record?.note(commit)
        return commit
    }

    private func readVerdict() -> Bool {
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
