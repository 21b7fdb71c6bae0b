import CZstd
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The library's text for a zstd return code that is an error, else nil.
private func zstdError(_ code: Int) -> String? {
    ZSTD_isError(code) != 0 ? String(cString: ZSTD_getErrorName(code)) : nil
}

/// zstd compression through libzstd's streaming API, always in multi-threaded mode, every frame
/// with its content checksum.
///
/// Multi-threaded mode even for one worker, and no pledged source size, so the same input
/// gives the same bytes whatever the thread count. Jobs are one window long (2 MiB at level 3)
/// instead of libzstd's default four: a compressor then holds about 13 MiB instead of 40 MiB,
/// for the same CPU time and no larger output (docs/performance.md).
final class ZstdCompressor: Compressor {
    private let context: OpaquePointer
    private var output: UnsafeMutableRawBufferPointer
    /// What the last call of libzstd said is left to flush (0: all flushed).
    private var lastRemaining = 0

    init(level: Int, threads: Int) throws(CodecError) {
        guard let ctx = ZSTD_createCCtx() else { throw CodecError(.library, "zstd: could not allocate a compression context") }
        context = ctx
        output = .allocate(byteCount: ZSTD_CStreamOutSize() * 4, alignment: 16)
        let jobSize = 1 << Int(pgarchive_zstd_window_log(Int32(level)))
        // The content checksum (XXH64 of the frame's content, checked by every decoder) catches
        // damage a bit flip inside a compressed block would otherwise turn into changed rows.
        for (parameter, value) in [(ZSTD_c_compressionLevel, level), (ZSTD_c_nbWorkers, max(threads, 1)), (ZSTD_c_jobSize, jobSize),
                                   (ZSTD_c_checksumFlag, 1)] {
            if let text = zstdError(ZSTD_CCtx_setParameter(context, parameter, Int32(value))) {
                throw CodecError(.library, "zstd: could not set parameter: \(text)")
            }
        }
    }

    deinit {
        ZSTD_freeCCtx(context)
        output.deallocate()
    }

    func compress(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var inBuf = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while inBuf.pos < inBuf.size {
            let before = inBuf.pos
            if try step(&inBuf, ZSTD_e_continue, emit: emit) == 0 && inBuf.pos == before {
                // Every job slot is busy and nothing is ready to flush: libzstd returns at once,
                // so calling again would spin on its locks (a third of the CPU at one worker).
                usleep(100)
            }
        }
    }

    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var inBuf = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        repeat {
            if try step(&inBuf, ZSTD_e_end, emit: emit) == 0 && lastRemaining != 0 { usleep(100) }
        } while lastRemaining != 0
    }

    /// One call of libzstd; returns the bytes it emitted.
    @discardableResult
    private func step(_ inBuf: inout ZSTD_inBuffer, _ mode: ZSTD_EndDirective, emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        var outBuf = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let remaining = ZSTD_compressStream2(context, &outBuf, &inBuf, mode)
        if let text = zstdError(remaining) { throw CodecError(.library, "zstd: \(text)") }
        if outBuf.pos > 0 { try emit(UnsafeRawBufferPointer(rebasing: output[0..<outBuf.pos])) }
        lastRemaining = remaining
        return outBuf.pos
    }
}

/// zstd decompression of one or more concatenated frames (skippable frames included).
final class ZstdDecompressor: Decompressor {
    private let context: OpaquePointer
    private var output: UnsafeMutableRawBufferPointer
    /// What the last call returned: 0 at a frame boundary.
    private var pending = 0
    private var sawInput = false

    init() throws(CodecError) {
        guard let ctx = ZSTD_createDCtx() else { throw CodecError(.library, "zstd: could not allocate a decompression context") }
        context = ctx
        // Accept the windows of --ultra levels and long mode (up to 2 GiB).
        _ = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, 31)
        output = .allocate(byteCount: ZSTD_DStreamOutSize() * 4, alignment: 16)
    }

    deinit {
        ZSTD_freeDCtx(context)
        output.deallocate()
    }

    func decompress(_ input: UnsafeRawBufferPointer, offset: UInt64, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        if input.count > 0 { sawInput = true }
        var inBuf = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while true {
            var outBuf = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
            let before = inBuf.pos
            let result = ZSTD_decompressStream(context, &outBuf, &inBuf)
            if let text = zstdError(result) {
                throw CodecError(.corrupt, "corrupt zstd data near byte \(offset + UInt64(inBuf.pos)): \(text)")
            }
            // A call that moved nothing reports the next frame's header size: keep the real state.
            if inBuf.pos > before || outBuf.pos > 0 { pending = result }
            if outBuf.pos > 0 { try emit(UnsafeRawBufferPointer(rebasing: output[0..<outBuf.pos])) }
            // Done with this chunk once all input is consumed and the output buffer was not filled.
            if inBuf.pos == inBuf.size && outBuf.pos < outBuf.size { break }
        }
    }

    func finish(offset: UInt64) throws {
        if sawInput && pending != 0 {
            throw CodecError(.truncated, "truncated zstd data: the input ends inside a frame at byte \(offset)")
        }
    }
}
