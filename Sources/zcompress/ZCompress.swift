import ArgumentParser
import Codecs
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// zcompress: compress or decompress a byte stream with zstd, lz4, gzip or none.
@main
struct ZCompress: Tool {
    static let configuration = CommandConfiguration(
        commandName: "zcompress",
        abstract: "Compress a byte stream with zstd, lz4 or gzip, or decompress one (codec detected from its magic bytes).",
        usage: """
            zcompress CODEC [-l LEVEL] [-T THREADS] [-o FILE] [FILE|-]
            zcompress -d [-o FILE] [FILE|-]
            """,
        discussion: """
            CODEC is zstd (levels 1-22, default 3), lz4 (1-12, default 1), gzip (1-9, default 6) or none.
            zstd always runs libzstd's multi-threaded mode, so the output is the same whatever -T is.
            -d reads concatenated frames or members; truncated or corrupt input fails with exit 1 and
            the byte offset. Exit status: 0 ok, 1 failed, 2 usage error, 130 interrupted.
            """,
        version: PGArchive.versionLine("zcompress"))

    @Flag(name: [.short, .customLong("decompress")], help: "Decompress; the codec is detected from the input.")
    var decompress = false

    @Option(name: [.short, .customLong("level")], help: "Compression level (range depends on the codec).")
    var level: Int?

    @Option(name: [.customShort("T"), .customLong("threads")], help: "zstd worker threads (0 or default: all cores).")
    var threads: Int?

    @Option(name: [.short, .customLong("output")], help: "Write to FILE (appears only when complete) instead of stdout.")
    var output: String?

    @Flag(name: [.short, .customLong("force")], help: "Write compressed data even to a terminal.")
    var force = false

    @Flag(help: "Compress each frame of a framed stream on its own (docs/framing.md): one frame in, one frame out, each frame's bytes those of the one-slice form.")
    var framed = false

    @Option(name: .customLong("progress-fd"), help: "Write progress JSON lines to this file descriptor.")
    var progressFD: Int32?

    @Argument(help: ArgumentHelp("CODEC (when compressing), then the input FILE (default: stdin).", valueName: "operands"))
    var operands: [String] = []

    /// The codec and input file named by the operands.
    private var parsed: (codec: Codec?, input: String) {
        if decompress { return (nil, operands.first ?? "-") }
        return (Codec(rawValue: operands[0]), operands.count > 1 ? operands[1] : "-")
    }

    func validate() throws {
        if decompress {
            guard operands.count <= 1 else { throw ValidationError("-d takes at most one input file") }
            guard level == nil, threads == nil else { throw ValidationError("-l and -T apply to compression only") }
            guard !framed else { throw ValidationError("--framed applies to compression only") }
            return
        }
        guard let name = operands.first else { throw ValidationError("missing CODEC (zstd, lz4, gzip or none), or -d to decompress") }
        guard let codec = Codec(rawValue: name) else {
            throw ValidationError("unknown codec \"\(name)\" (expected zstd, lz4, gzip or none)")
        }
        guard operands.count <= 2 else { throw ValidationError("too many operands: one codec and at most one input file") }
        if let level {
            do { try codec.validate(level: level) } catch { throw ValidationError(error.message) }
        }
        if let threads, threads < 0 { throw ValidationError("-T must be 0 (all cores) or more") }
        if let progressFD, progressFD < 0 { throw ValidationError("--progress-fd must be a file descriptor number") }
        if framed && output != nil { throw ValidationError("--framed writes its frames to standard output: -o does not apply") }
    }

    func run() throws {
        let (codec, inputPath) = parsed
        let source = try FileSource.open(path: inputPath)
        let progress = ProgressReporter(fd: progressFD, stage: "zcompress")
        let atomic = try output.map { try AtomicOutput(path: $0) }
        if atomic == nil, let codec, codec != .none || framed {
            try refuseBinaryToTerminal(force: force, what: framed ? "a framed stream" : "compressed data")
        }
        let sink = atomic?.sink ?? FileSink.standardOutput()
        if framed, let codec {
            let workers = (threads ?? 0) == 0 ? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) : threads!
            try FramedFilter.run(stage: "zcompress", input: source, output: sink, progress: progress,
                                 describe: { ($0 as? CodecError)?.message ?? FramedFilter.message($0) }) { frame, frameSink, frameProgress in
                let bytes = try CodecStreams.compress(codec: codec, level: level ?? codec.defaultLevel, threads: workers,
                                                      from: frame.source, to: frameSink, progress: frameProgress)
                return ["bytes": String(bytes)]
            }
            return
        }
        do {
            if let codec {
                let workers = (threads ?? 0) == 0 ? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) : threads!
                try CodecStreams.compress(codec: codec, level: level ?? codec.defaultLevel, threads: workers,
                                          from: source, to: sink, progress: progress)
            } else {
                try CodecStreams.decompress(from: source, to: sink, progress: progress)
            }
            try atomic?.commit()
        } catch let error as CodecError where error.kind == .truncated {
            // The input ended inside a frame: in a pipeline, the stage writing it failed.
            atomic?.discard()
            throw ToolError.consequence(error.message)
        } catch {
            atomic?.discard()
            throw error
        }
    }
}
