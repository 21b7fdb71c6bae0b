import CLZ4

/// The library's text for an LZ4F return code that is an error, else nil.
private func lz4Error(_ code: Int) -> String? {
    LZ4F_isError(code) != 0 ? String(cString: LZ4F_getErrorName(code)) : nil
}

/// LZ4 frame compression (the format of the `lz4` CLI): 4 MiB independent blocks, content checksum.
final class LZ4Compressor: Compressor {
    private var context: OpaquePointer?
    private var preferences = LZ4F_preferences_t()
    private var output: UnsafeMutableRawBufferPointer
    private var started = false
    /// Input is handed to LZ4F in whole blocks.
    private let blockSize = 4 << 20

    init(level: Int) throws(CodecError) {
        var ctx: OpaquePointer?
        if let text = lz4Error(LZ4F_createCompressionContext(&ctx, UInt32(LZ4F_VERSION))) {
            throw CodecError(.library, "lz4: could not allocate a compression context: \(text)")
        }
        context = ctx
        preferences.compressionLevel = Int32(level)
        preferences.frameInfo.blockSizeID = LZ4F_max4MB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        let bound = max(LZ4F_compressBound(4 << 20, &preferences), Int(LZ4F_HEADER_SIZE_MAX)) + 64
        output = .allocate(byteCount: bound, alignment: 16)
    }

    deinit {
        LZ4F_freeCompressionContext(context)
        output.deallocate()
    }

    private func begin(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !started else { return }
        started = true
        let n = LZ4F_compressBegin(context, output.baseAddress, output.count, &preferences)
        if let text = lz4Error(n) { throw CodecError(.library, "lz4: \(text)") }
        try emit(UnsafeRawBufferPointer(rebasing: output[0..<n]))
    }

    func compress(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try begin(emit: emit)
        var offset = 0
        while offset < input.count {
            let chunk = min(blockSize, input.count - offset)
            let n = LZ4F_compressUpdate(context, output.baseAddress, output.count, input.baseAddress! + offset, chunk, nil)
            if let text = lz4Error(n) { throw CodecError(.library, "lz4: \(text)") }
            if n > 0 { try emit(UnsafeRawBufferPointer(rebasing: output[0..<n])) }
            offset += chunk
        }
    }

    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try begin(emit: emit)
        let n = LZ4F_compressEnd(context, output.baseAddress, output.count, nil)
        if let text = lz4Error(n) { throw CodecError(.library, "lz4: \(text)") }
        try emit(UnsafeRawBufferPointer(rebasing: output[0..<n]))
    }
}

/// LZ4 frame decompression of one or more concatenated frames (skippable frames included).
final class LZ4Decompressor: Decompressor {
    private var context: OpaquePointer?
    private var output: UnsafeMutableRawBufferPointer
    /// LZ4F's hint of bytes still expected: 0 at a frame boundary.
    private var pending = 0

    init() throws(CodecError) {
        var ctx: OpaquePointer?
        if let text = lz4Error(LZ4F_createDecompressionContext(&ctx, UInt32(LZ4F_VERSION))) {
            throw CodecError(.library, "lz4: could not allocate a decompression context: \(text)")
        }
        context = ctx
        output = .allocate(byteCount: 4 << 20, alignment: 16)
    }

    deinit {
        LZ4F_freeDecompressionContext(context)
        output.deallocate()
    }

    func decompress(_ input: UnsafeRawBufferPointer, offset: UInt64, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var consumed = 0
        while true {
            var srcSize = input.count - consumed
            var dstSize = output.count
            let hint = LZ4F_decompress(context, output.baseAddress, &dstSize, input.baseAddress.map { $0 + consumed }, &srcSize, nil)
            if let text = lz4Error(hint) {
                throw CodecError(.corrupt, "corrupt lz4 data near byte \(offset + UInt64(consumed + srcSize)): \(text)")
            }
            consumed += srcSize
            // A call that moved nothing reports a fresh frame's header size: keep the real state.
            if srcSize > 0 || dstSize > 0 { pending = hint }
            if dstSize > 0 { try emit(UnsafeRawBufferPointer(rebasing: output[0..<dstSize])) }
            // A full output buffer may hold back more output: call again, even with no input left.
            if consumed == input.count && dstSize < output.count { break }
        }
    }

    func finish(offset: UInt64) throws {
        if pending != 0 {
            throw CodecError(.truncated, "truncated lz4 data: the input ends inside a frame at byte \(offset)")
        }
    }
}
