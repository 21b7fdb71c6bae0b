import Digest
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// The upload's input: a stream read once, digested as it arrives, with bytes read ahead
/// parked in an anonymous temp file (never memory) until the upload knows its shape.
///
/// Every byte goes, in one interleaved pass, into the whole stream's MD5 and into the MD5 of
/// the part (of `partSize` bytes, counted from the start) it falls in, so a multipart upload
/// has its Content-MD5s and ETag without reading anything twice.
final class StreamInput {
    private let source: FileSource
    private let partSize: UInt64
    private var md5 = MD5Lane()
    private var part = MD5Lane()
    private var partFill: UInt64 = 0
    /// Digests of parts read completely and not yet taken.
    private var finishedParts: [[UInt8]] = []
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
    /// One byte read ahead by `probeEnd`, handed out first by `nextPart`.
    private var lookahead: UInt8?

    init(source: FileSource, partSize: UInt64, sha256: Bool, temporaryDirectory: String) {
        self.source = source
        self.partSize = partSize
        self.sha256 = sha256 ? Digest(.sha256) : nil
        self.temporaryDirectory = temporaryDirectory
    }

    deinit { if spoolFD >= 0 { close(spoolFD) } }

    /// Fills `buffer` from the stream (fully unless it ends); returns the count.
    func readStream(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !ended else { return 0 }
        let n = try source.readFully(into: buffer)
        if n < buffer.count { ended = true }
        var rest = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
        sha256?.update(rest)
        total += UInt64(n)
        while rest.count > 0 {
            let take = Int(min(UInt64(rest.count), partSize - partFill))
            MD5Lane.update(&md5, &part, with: UnsafeRawBufferPointer(rebasing: rest[0..<take]))
            partFill += UInt64(take)
            if partFill == partSize {
                finishedParts.append(part.finalize())
                part = MD5Lane()
                partFill = 0
            }
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
        }
        return n
    }

    /// The MD5 of the next part in order: a finished one, or at the end of the stream the
    /// last, partial one.
    func takePartDigest() -> [UInt8] {
        if !finishedParts.isEmpty { return finishedParts.removeFirst() }
        let digest = part.finalize()
        part = MD5Lane()
        partFill = 0
        return digest
    }

    /// The ETag of everything read so far, as one PUT or in parts; before any part is taken.
    func etagSoFar(multipart: Bool) -> String {
        if !multipart {
            var whole = md5
            return hex(whole.finalize())
        }
        var last = part
        let digests = finishedParts + (partFill > 0 || finishedParts.isEmpty ? [last.finalize()] : [])
        return ETag.multipart(partDigests: digests)
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

    /// Whether the stream has ended, reading one byte ahead when that is not known yet (the
    /// input stopped exactly at a buffer's end); the byte is kept for `nextPart`.
    func probeEnd() throws -> Bool {
        guard !ended else { return true }
        var byte: UInt8 = 0
        let n = try withUnsafeMutableBytes(of: &byte) { try readStream(into: $0) }
        if n == 1 { lookahead = byte }
        return ended
    }

    /// Fills `buffer` (of the part size) with the next part: a byte read ahead and parked
    /// bytes first, then the stream; returns the count and the part's MD5.
    func nextPart(into buffer: UnsafeMutableRawBufferPointer) throws -> (count: Int, md5: [UInt8]) {
        var filled = 0
        if let byte = lookahead, buffer.count > 0 {
            buffer[0] = byte
            lookahead = nil
            filled = 1
        }
        while filled < buffer.count && replayed < spooled {
            let n = try readSpool(at: replayed, into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            replayed += UInt64(n)
            filled += n
        }
        if filled < buffer.count {
            filled += try readStream(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
        }
        return (filled, filled == 0 ? [] : takePartDigest())
    }

    /// The MD5 (binary) and SHA-256 (hex, when asked) of everything read; call once at the end.
    func digests() -> (md5: [UInt8], sha256: String?) { (md5.finalize(), sha256.map { hex($0.finalize()) }) }
}

/// A single PUT's body: a memory head followed by the spool file.
struct SpooledBody: ByteSource {
    /// The parts read into memory, in order.
    let heads: [UnsafeRawBufferPointer]
    let input: StreamInput

    var size: UInt64 { heads.reduce(0) { $0 + UInt64($1.count) } + input.spooled }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var start = offset
        for head in heads {
            if start < UInt64(head.count) { return try MemoryBytes(head).read(at: start, into: buffer) }
            start -= UInt64(head.count)
        }
        return try input.readSpool(at: start, into: buffer)
    }
}
