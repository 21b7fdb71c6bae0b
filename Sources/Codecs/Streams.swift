import ToolSupport

/// Whole-stream compression and decompression between a source and a sink.
public enum CodecStreams {
    /// Bytes read per input chunk.
    static let chunkSize = 256 << 10

    /// Compresses everything from `source` into `sink`; returns the bytes written.
    @discardableResult
    public static func compress(codec: Codec, level: Int, threads: Int, from source: FileSource, to sink: FileSink,
                                progress: ProgressReporter? = nil) throws -> UInt64 {
        let compressor = try codec.makeCompressor(level: level, threads: threads)
        // lz4 gets whole 4 MiB blocks, which LZ4F compresses without copying them first.
        let wholeBlocks = codec == .lz4
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: wholeBlocks ? 4 << 20 : chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        let emit: (UnsafeRawBufferPointer) throws -> Void = { bytes in
            try sink.write(bytes)
            progress?.update(bytes: sink.bytesWritten)
        }
        while true {
            let n = wholeBlocks ? try source.readFully(into: buffer) : try source.read(into: buffer)
            if n == 0 { break }
            try compressor.compress(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), emit: emit)
        }
        try compressor.finish(emit: emit)
        try sink.flush()
        progress?.finish(bytes: sink.bytesWritten)
        return sink.bytesWritten
    }

    /// Decompresses everything from `source` into `sink`, detecting the codec from the magic
    /// bytes; returns the codec found.
    @discardableResult
    public static func decompress(from source: FileSource, to sink: FileSink, progress: ProgressReporter? = nil) throws -> Codec {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        // Enough bytes to recognise the format; a stream shorter than a magic number is not one.
        let first = try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<4]))
        let prefix = UnsafeRawBufferPointer(rebasing: buffer[0..<first])
        guard let codec = Codec.detect(prefix) ?? skippableFrameCodec(prefix) else {
            throw CodecError(.unknownFormat, first == 0 ? "empty input: not a zstd, lz4 or gzip stream"
                                                        : "not a zstd, lz4 or gzip stream")
        }
        let decompressor = try codec.makeDecompressor()
        let emit: (UnsafeRawBufferPointer) throws -> Void = { bytes in
            try sink.write(bytes)
            progress?.update(bytes: sink.bytesWritten)
        }
        try decompressor.decompress(prefix, offset: 0, emit: emit)
        var offset = UInt64(first)
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            try decompressor.decompress(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), offset: offset, emit: emit)
            offset += UInt64(n)
        }
        try decompressor.finish(offset: offset)
        try sink.flush()
        progress?.finish(bytes: sink.bytesWritten)
        return codec
    }

    /// A stream that starts with a skippable frame (0x184D2A5?) is zstd's or lz4's; both
    /// decoders skip it, and zstd is the codec that writes them in practice.
    private static func skippableFrameCodec(_ prefix: UnsafeRawBufferPointer) -> Codec? {
        guard prefix.count >= 4, prefix[1] == 0x2A, prefix[2] == 0x4D, prefix[3] == 0x18, prefix[0] & 0xF0 == 0x50 else { return nil }
        return .zstd
    }
}
