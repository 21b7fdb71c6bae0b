/// The compression codecs of the toolbox, with their one set of facts: levels, defaults,
/// file-name extensions and magic bytes.
public enum Codec: String, CaseIterable, Sendable {
    case zstd, lz4, gzip, none

    /// Accepted levels (`none` takes only 0).
    public var levels: ClosedRange<Int> {
        switch self {
        case .zstd: 1...22
        case .lz4: 1...12
        case .gzip: 1...9
        case .none: 0...0
        }
    }

    /// The level used when none is given.
    public var defaultLevel: Int {
        switch self {
        case .zstd: 3
        case .lz4: 1
        case .gzip: 6
        case .none: 0
        }
    }

    /// The file-name extension archives append (`.zst`, `.lz4`, `.gz`, nothing for `none`).
    public var fileExtension: String {
        switch self {
        case .zstd: ".zst"
        case .lz4: ".lz4"
        case .gzip: ".gz"
        case .none: ""
        }
    }

    /// Checks a level against this codec's range.
    public func validate(level: Int) throws(CodecError) {
        guard levels.contains(level) else {
            let range = self == .none ? "only 0" : "\(levels.lowerBound)-\(levels.upperBound)"
            throw CodecError(.usage, "level \(level) is out of range for \(rawValue) (\(range))")
        }
    }

    /// The codec whose frame starts with these bytes, if any (at least 4 bytes needed).
    ///
    /// zstd and lz4 share the skippable-frame magic range 0x184D2A50–5F; such a prefix
    /// is reported as `nil` here and resolved by the decoder that meets it.
    public static func detect(_ prefix: UnsafeRawBufferPointer) -> Codec? {
        if prefix.count >= 2, prefix[0] == 0x1F, prefix[1] == 0x8B { return .gzip }
        guard prefix.count >= 4 else { return nil }
        let magic = UInt32(prefix[0]) | UInt32(prefix[1]) << 8 | UInt32(prefix[2]) << 16 | UInt32(prefix[3]) << 24
        switch magic {
        case 0xFD2F_B528: return .zstd
        case 0x184D_2204: return .lz4
        default: return nil
        }
    }
}

/// A codec failure: what went wrong and, for bad input, the byte offset where it was noticed.
public struct CodecError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public enum Kind: Sendable {
        /// A bad level or codec name.
        case usage
        /// The input is not in a known format.
        case unknownFormat
        /// The input ends inside a frame.
        case truncated
        /// The input is damaged.
        case corrupt
        /// The C library failed for another reason (memory, parameters).
        case library
    }

    /// The kind of failure.
    public var kind: Kind
    /// One line with the library's own text and the offset.
    public var message: String

    /// A failure of `kind` with a message.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Streaming compression: feed input chunks, then finish once.
public protocol Compressor: AnyObject {
    /// Compresses a chunk, handing output to `emit` as it is produced.
    func compress(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws
    /// Ends the stream, emitting whatever is buffered and the frame's epilogue.
    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws
}

/// Streaming decompression of concatenated frames: feed input chunks, then finish once.
public protocol Decompressor: AnyObject {
    /// Decompresses a chunk, handing output to `emit`; `offset` is the chunk's position in the input.
    func decompress(_ input: UnsafeRawBufferPointer, offset: UInt64, emit: (UnsafeRawBufferPointer) throws -> Void) throws
    /// Checks that the input ended at a frame boundary; `offset` is the total input size.
    func finish(offset: UInt64) throws
}

extension Codec {
    /// A compressor for this codec (`threads` is used by zstd only).
    public func makeCompressor(level: Int, threads: Int) throws -> any Compressor {
        try validate(level: level)
        switch self {
        case .zstd: return try ZstdCompressor(level: level, threads: threads)
        case .lz4: return try LZ4Compressor(level: level)
        case .gzip: return try GzipCompressor(level: level)
        case .none: return PassThrough()
        }
    }

    /// A decompressor for this codec.
    public func makeDecompressor() throws -> any Decompressor {
        switch self {
        case .zstd: return try ZstdDecompressor()
        case .lz4: return try LZ4Decompressor()
        case .gzip: return try GzipDecompressor()
        case .none: return PassThrough()
        }
    }
}

/// The `none` codec: bytes pass through unchanged.
final class PassThrough: Compressor, Decompressor {
    func compress(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws { try emit(input) }
    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {}
    func decompress(_ input: UnsafeRawBufferPointer, offset: UInt64, emit: (UnsafeRawBufferPointer) throws -> Void) throws { try emit(input) }
    func finish(offset: UInt64) throws {}
}
