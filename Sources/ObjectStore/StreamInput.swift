import Digest
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// The upload's input: a stream read once, digested as it arrives, with bytes read ahead
/// parked in an anonymous temp file (never memory) until the upload knows its shape.
final class StreamInput {
    private let source: FileSource
    private var md5 = MD5Lane()
    private let sha256: Digest?
    private let temporaryDirectory: String
    private var spoolFD: Int32 = -1
    /// Bytes parked in the spool file.
    private(set) var spooled: UInt64 = 0
    private var replayed: UInt64 = 0
    /// Bytes read from the stream so far.
    private(set) var total: UInt64 = 0
    /// Whether the stream has ended.
    private(set) var ended = false
    /// Told of every chunk read from the stream, in order (the `--if-different` ETag).
    var observer: ((UnsafeRawBufferPointer) -> Void)?

    init(source: FileSource, sha256: Bool, temporaryDirectory: String) {
        self.source = source
        self.sha256 = sha256 ? Digest(.sha256) : nil
        self.temporaryDirectory = temporaryDirectory
    }

    deinit { if spoolFD >= 0 { close(spoolFD) } }

    /// Fills `buffer` from the stream (fully unless it ends); returns the count.
    func readStream(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var noPart: MD5Lane?
        return try readStream(into: buffer, part: &noPart)
    }

    /// Fills `buffer` from the stream, digesting it into `part` too when given.
    private func readStream(into buffer: UnsafeMutableRawBufferPointer, part: inout MD5Lane?) throws -> Int {
        guard !ended else { return 0 }
        let n = try source.readFully(into: buffer)
        if n < buffer.count { ended = true }
        let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
        if part != nil {
            MD5Lane.update(&md5, &part!, with: chunk)
        } else {
            md5.update(chunk)
        }
        sha256?.update(chunk)
        observer?(chunk)
        total += UInt64(n)
        return n
    }

    /// Parks stream bytes in the spool file until the stream ends or `limit` bytes were read.
    func spool(until limit: UInt64) throws {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while !ended && total <= limit {
            let n = try readStream(into: chunk)
            if n == 0 { break }
            try openSpool()
            var off = 0
            while off < n {
                let w = pwrite(spoolFD, chunk.baseAddress! + off, n - off, off_t(spooled) + off_t(off))
                if w < 0 && errno == EINTR { continue }
                guard w > 0 else { throw ToolError("could not write the spool file in \(temporaryDirectory): \(systemErrorText(errno))") }
                off += w
            }
            spooled += UInt64(n)
        }
    }

    private func openSpool() throws {
        guard spoolFD < 0 else { return }
        // Unlinked at once: nothing to clean up, whatever happens.
        var template = Array("\(temporaryDirectory)/s3put-spool-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw ToolError("could not create a spool file in \(temporaryDirectory): \(systemErrorText(errno))")
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        spoolFD = fd
    }

    /// Reads parked bytes at `offset` (for a single PUT built from them).
    func readSpool(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard offset < spooled else { return 0 }
        let want = Int(min(UInt64(buffer.count), spooled - offset))
        while true {
            let n = pread(spoolFD, buffer.baseAddress!, want, off_t(offset))
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw ToolError("could not read the spool file: \(systemErrorText(errno))") }
            return n
        }
    }

    /// Fills `buffer` with the next part: parked bytes first, then the stream; returns the
    /// count and the part's MD5 (computed in the same pass as the whole stream's).
    func nextPart(into buffer: UnsafeMutableRawBufferPointer) throws -> (count: Int, md5: [UInt8]) {
        var part: MD5Lane? = MD5Lane()
        var filled = 0
        while filled < buffer.count && replayed < spooled {
            let n = try readSpool(at: replayed, into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            part!.update(UnsafeRawBufferPointer(rebasing: buffer[filled..<(filled + n)]))
            replayed += UInt64(n)
            filled += n
        }
        if filled < buffer.count {
            filled += try readStream(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), part: &part)
        }
        return (filled, part!.finalize())
    }

    /// The MD5 (binary) and SHA-256 (hex, when asked) of everything read; call once at the end.
    func digests() -> (md5: [UInt8], sha256: String?) { (md5.finalize(), sha256.map { hex($0.finalize()) }) }
}

/// A single PUT's body: a memory head followed by the spool file.
struct SpooledBody: ByteSource {
    let head: UnsafeRawBufferPointer
    let input: StreamInput

    var size: UInt64 { UInt64(head.count) + input.spooled }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if offset < UInt64(head.count) {
            return try MemoryBytes(head).read(at: offset, into: buffer)
        }
        return try input.readSpool(at: offset - UInt64(head.count), into: buffer)
    }
}

/// The commit gate: after EOF the upload completes only once `commit` arrives on a descriptor.
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
