import CZlib

/// gzip (RFC 1952) compression through zlib's deflate.
final class GzipCompressor: Compressor {
    private var stream = z_stream()
    private var output: UnsafeMutableRawBufferPointer

    init(level: Int) throws(CodecError) {
        output = .allocate(byteCount: 256 * 1024, alignment: 16)
        // 15 + 16: a 32 KiB window with a gzip header and trailer.
        let rc = pgarchive_deflateInit2(&stream, Int32(level), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
        guard rc == Z_OK else {
            output.deallocate()
            throw CodecError(.library, "gzip: deflateInit2 failed (\(rc))")
        }
    }

    deinit {
        deflateEnd(&stream)
        output.deallocate()
    }

    func compress(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard input.count > 0 else { return }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        repeat {
            try run(Z_NO_FLUSH, emit: emit)
        } while stream.avail_in > 0
    }

    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        stream.next_in = nil
        stream.avail_in = 0
        while try run(Z_FINISH, emit: emit) != Z_STREAM_END {}
    }

    @discardableResult
    private func run(_ flush: Int32, emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Int32 {
        stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(output.count)
        let rc = deflate(&stream, flush)
        guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
            throw CodecError(.library, "gzip: deflate failed: \(stream.msg.map { String(cString: $0) } ?? "error \(rc)")")
        }
        let produced = output.count - Int(stream.avail_out)
        if produced > 0 { try emit(UnsafeRawBufferPointer(rebasing: output[0..<produced])) }
        return rc
    }
}

/// gzip decompression of one or more concatenated members, as `gzip -d` reads them.
///
/// After a member ends, any further input must be another member: zlib checks its header,
/// so trailing garbage is reported as corrupt data rather than ignored.
final class GzipDecompressor: Decompressor {
    private var stream = z_stream()
    private var output: UnsafeMutableRawBufferPointer
    /// Inside a member (its end not yet seen).
    private var inMember = false

    init() throws(CodecError) {
        output = .allocate(byteCount: 256 * 1024, alignment: 16)
        let rc = pgarchive_inflateInit2(&stream, 15 + 16)
        guard rc == Z_OK else {
            output.deallocate()
            throw CodecError(.library, "gzip: inflateInit2 failed (\(rc))")
        }
    }

    deinit {
        inflateEnd(&stream)
        output.deallocate()
    }

    func decompress(_ input: UnsafeRawBufferPointer, offset: UInt64, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard input.count > 0 else { return }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        while true {
            if !inMember {
                guard stream.avail_in > 0 else { break }
                inflateReset(&stream)
                inMember = true
            }
            stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(output.count)
            let rc = inflate(&stream, Z_NO_FLUSH)
            let produced = output.count - Int(stream.avail_out)
            if produced > 0 { try emit(UnsafeRawBufferPointer(rebasing: output[0..<produced])) }
            switch rc {
            case Z_STREAM_END:
                inMember = false
            case Z_OK, Z_BUF_ERROR:
                // Done with this chunk once the input is used up and the output buffer was not filled.
                if stream.avail_in == 0 && produced < output.count { return }
            default:
                let at = offset + UInt64(input.count - Int(stream.avail_in))
                let text = stream.msg.map { String(cString: $0) } ?? "error \(rc)"
                throw CodecError(.corrupt, "corrupt gzip data near byte \(at): \(text)")
            }
        }
    }

    func finish(offset: UInt64) throws {
        if inMember {
            throw CodecError(.truncated, "truncated gzip data: the input ends inside a member at byte \(offset)")
        }
    }
}
