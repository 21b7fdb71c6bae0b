import CLZ4
import CZlib
import CZstd

/// The CRC-32 (zlib's polynomial) of a page's compressed body, as PageHeader.crc carries it.
func pageChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    guard let p = bytes.baseAddress, bytes.count > 0 else { return UInt32(crc32(0, nil, 0)) }
    return UInt32(crc32(0, p.assumingMemoryBound(to: Bytef.self), uInt(bytes.count)))
}

/// Compresses page bodies with one codec, reusing its context across pages.
final class PageCompressor {
    let codec: CompressionCodec
    private let level: Int32
    private var zstd: OpaquePointer?
    private var zlib: UnsafeMutablePointer<z_stream>?

    /// A compressor for `codec` (UNCOMPRESSED, ZSTD, GZIP or LZ4_RAW) at `level`.
    init(codec: CompressionCodec, level: Int) throws(ParquetError) {
        self.codec = codec
        self.level = Int32(clamping: level)
        let levels: ClosedRange<Int>? = codec == .zstd ? 1...22 : codec == .gzip ? 1...9 : nil
        if let levels, !levels.contains(level) {
            throw ParquetError("\(codec) level \(level) is out of range (\(levels.lowerBound)-\(levels.upperBound))")
        }
        switch codec {
        case .uncompressed, .lz4Raw: break
        case .zstd:
            guard let ctx = ZSTD_createCCtx() else { throw ParquetError("zstd: could not allocate a compression context") }
            zstd = ctx
        case .gzip:
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            let rc = pgarchive_deflateInit2(stream, Int32(level), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
            guard rc == Z_OK else {
                stream.deallocate()
                throw ParquetError("gzip: deflateInit2 failed (\(rc))")
            }
            zlib = stream
        default:
            throw ParquetError("the writer does not support \(codec) compression")
        }
    }

    deinit {
        if let zstd { ZSTD_freeCCtx(zstd) }
        if let zlib {
            deflateEnd(zlib)
            zlib.deallocate()
        }
    }

    /// Appends the compressed form of `input` to `out`; returns the compressed size.
    func compress(_ input: UnsafeRawBufferPointer, into out: ByteBuffer) throws(ParquetError) -> Int {
        let n = input.count
        switch codec {
        case .zstd:
            let bound = ZSTD_compressBound(n)
            let space = out.unusedSpace(bound)
            let written = ZSTD_compressCCtx(zstd, space.baseAddress, bound, input.baseAddress, n, level)
            if ZSTD_isError(written) != 0 { throw ParquetError("zstd: \(String(cString: ZSTD_getErrorName(written)))") }
            out.commit(written)
            return written
        case .lz4Raw:
            let bound = Int(LZ4_compressBound(Int32(n)))
            let space = out.unusedSpace(bound)
            let written = n == 0 ? 0 : Int(LZ4_compress_default(input.baseAddress!.assumingMemoryBound(to: CChar.self),
                                                                    space.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(n), Int32(bound)))
            if n == 0 {
                // An empty block is a single zero token.
                space[0] = 0
                out.commit(1)
                return 1
            }
            guard written > 0 else { throw ParquetError("lz4: compression failed") }
            out.commit(written)
            return written
        case .gzip:
            let stream = zlib!
            deflateReset(stream)
            let bound = Int(deflateBound(stream, uLong(n))) + 32
            let space = out.unusedSpace(bound)
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(n)
            stream.pointee.next_out = space.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(bound)
            let rc = deflate(stream, Z_FINISH)
            guard rc == Z_STREAM_END else { throw ParquetError("gzip: deflate failed (\(rc))") }
            let written = bound - Int(stream.pointee.avail_out)
            out.commit(written)
            return written
        default:
            out.append(input)
            return n
        }
    }
}

/// Decompresses page bodies of any supported codec into buffers of a known size.
final class PageDecompressor {
    private var zstd: OpaquePointer?
    private var zlib: UnsafeMutablePointer<z_stream>?

    init() {}

    deinit {
        if let zstd { ZSTD_freeDCtx(zstd) }
        if let zlib {
            inflateEnd(zlib)
            zlib.deallocate()
        }
    }

    /// Decompresses `input` into exactly `output.count` bytes, or throws a description of what is wrong.
    func decompress(_ codec: CompressionCodec, _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(EncodingError) {
        let expected = output.count
        switch codec {
        case .uncompressed:
            guard input.count == expected else { throw EncodingError(message: "uncompressed page is \(input.count) bytes, header says \(expected)") }
            if expected > 0 { output.baseAddress!.copyMemory(from: input.baseAddress!, byteCount: expected) }
        case .snappy:
            try snappyDecompress(input, into: output)
        case .zstd:
            if zstd == nil { zstd = ZSTD_createDCtx() }
            guard let ctx = zstd else { throw EncodingError(message: "zstd: could not allocate a decompression context") }
            let n = ZSTD_decompressDCtx(ctx, output.baseAddress, expected, input.baseAddress, input.count)
            if ZSTD_isError(n) != 0 { throw EncodingError(message: "zstd: \(String(cString: ZSTD_getErrorName(n)))") }
            guard n == expected else { throw EncodingError(message: "zstd page decompresses to \(n) bytes, header says \(expected)") }
        case .lz4Raw:
            let n = LZ4_decompress_safe(input.baseAddress?.assumingMemoryBound(to: CChar.self), output.baseAddress?.assumingMemoryBound(to: CChar.self),
                                        Int32(input.count), Int32(expected))
            guard n >= 0 else { throw EncodingError(message: "corrupt LZ4_RAW data") }
            guard n == expected else { throw EncodingError(message: "LZ4_RAW page decompresses to \(n) bytes, header says \(expected)") }
        case .gzip:
            try inflateMembers(input, into: output)
        default:
            throw EncodingError(message: "\(codec) compression is not supported")
        }
    }

    /// Inflates one or more gzip members (or zlib streams) until the output is full.
    private func inflateMembers(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(EncodingError) {
        if zlib == nil {
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            guard pgarchive_inflateInit2(stream, 15 + 32) == Z_OK else {
                stream.deallocate()
                throw EncodingError(message: "gzip: inflateInit2 failed")
            }
            zlib = stream
        }
        let stream = zlib!
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        while true {
            inflateReset(stream)
            let rc = inflate(stream, Z_FINISH)
            if rc == Z_STREAM_END {
                if stream.pointee.avail_in == 0 || stream.pointee.avail_out == 0 { break }
                continue
            }
            let text = stream.pointee.msg.map { String(cString: $0) } ?? "error \(rc)"
            throw EncodingError(message: rc == Z_BUF_ERROR ? "gzip data is truncated or larger than the header says" : "corrupt gzip data: \(text)")
        }
        let produced = output.count - Int(stream.pointee.avail_out)
        guard produced == output.count, stream.pointee.avail_in == 0 else {
            throw EncodingError(message: "gzip page decompresses to \(produced) bytes, header says \(output.count)")
        }
    }
}
