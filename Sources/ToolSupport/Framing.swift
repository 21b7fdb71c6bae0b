/// Framed streams (docs/framing.md): many slices over one pipe, each a frame of records.
///
///     stream = magic frame*          magic = "PGAFRAM1" (8 bytes)
///     frame  = H D* E                record = kind (1 byte) | length (u32, big-endian) | payload
///
/// `H` carries the frame's header (a JSON object with a string `id`, passed on unchanged by
/// every tool), `D` a chunk of the tool's usual output bytes, `E` the end: a JSON object with
/// the writing tool's figures, or with `error` and `stage` when the frame failed (then the
/// frame's bytes are void, and every later tool passes that same end record on).
public enum Framing {
    /// The first eight bytes of every framed stream.
    public static let magic: [UInt8] = Array("PGAFRAM1".utf8)
    /// The largest `D` payload a reader accepts (writers emit at most their buffer, 256 KiB).
    public static let maximumChunk = 16 << 20
    /// The largest `H` or `E` payload a reader accepts.
    public static let maximumRecord = 1 << 20

    static let header = UInt8(ascii: "H"), data = UInt8(ascii: "D"), end = UInt8(ascii: "E")
}

/// A frame's end record: the figures of the tool that wrote it, or the failure of the first
/// tool that failed the frame.
public struct FrameEnd: Sendable {
    /// The payload, a JSON object.
    public var json: [UInt8]
    /// Its top-level members.
    public var fields: [String: FlatJSON.Value]

    /// The failure message, when the frame failed.
    public var error: String? { fields["error"]?.string }
    /// The tool that failed (or ended) the frame.
    public var stage: String? { fields["stage"]?.string }

    /// An end record from its payload.
    public init(json: [UInt8]) throws {
        self.json = json
        fields = try FlatJSON.object(json, what: "a frame's end record")
    }

    /// A successful end: `stage` and the figures (values already JSON-encoded), keys sorted.
    public static func success(stage: String, figures: [String: String]) -> FrameEnd {
        var text = "{\"stage\":\(JSON.quote(stage))"
        for (key, value) in figures.sorted(by: { $0.key < $1.key }) { text += ",\(JSON.quote(key)):\(value)" }
        return try! FrameEnd(json: Array((text + "}").utf8))
    }

    /// A failed end: which tool failed the frame and why.
    public static func failure(stage: String, message: String) -> FrameEnd {
        try! FrameEnd(json: Array("{\"error\":\(JSON.quote(message)),\"stage\":\(JSON.quote(stage))}".utf8))
    }
}

/// The failure a frame's data source throws when the frame arrived with a failed end record:
/// the frame is void, and its end record is to be passed on unchanged.
public struct UpstreamFrameFailure: Error, CustomStringConvertible {
    /// The end record that says so.
    public var end: FrameEnd
    public var description: String { "\(end.stage ?? "an earlier stage"): \(end.error ?? "failed")" }
}

/// Reads a framed stream: one frame after another, each frame's data as a `FileSource`.
public final class FrameReader {
    private let input: FileSource
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0, count = 0
    private var sawMagic = false
    private weak var current: Frame?

    /// A reader of the framed stream on `input`.
    public init(input: FileSource) {
        self.input = input
        buffer = .allocate(byteCount: 256 << 10, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The next frame, or nil at the end of the stream (between frames). The frame before must
    /// have been read to its end (`Frame.skipRest`).
    public func next() throws -> Frame? {
        if let current, current.end == nil {
            throw ToolError("framed input: frame \(current.id) was not read to its end")
        }
        if !sawMagic {
            var magic = [UInt8](repeating: 0, count: Framing.magic.count)
            let got = try magic.withUnsafeMutableBytes { try readUpTo($0) }
            if got == 0 { return nil }
            guard got == magic.count, magic == Framing.magic else {
                throw ToolError.usage("\(input.name) is not a framed stream (docs/framing.md): it does not start with PGAFRAM1")
            }
            sawMagic = true
        }
        guard let (kind, length) = try recordHead(allowEnd: true) else { return nil }
        guard kind == Framing.header else { throw ToolError("framed input: a frame starts with record \(describe(kind)), not H") }
        let payload = try payload(length, limit: Framing.maximumRecord, what: "header")
        let frame = Frame(reader: self, header: try FrameHeader(json: payload))
        current = frame
        return frame
    }

    /// The next record's kind and length; nil at a clean end of input when `allowEnd`.
    fileprivate func recordHead(allowEnd: Bool) throws -> (UInt8, Int)? {
        var head = [UInt8](repeating: 0, count: 5)
        let got = try head.withUnsafeMutableBytes { try readUpTo($0) }
        if got == 0 && allowEnd { return nil }
        guard got == 5 else { throw ToolError.consequence("framed input ended inside a frame (the stage before stopped)") }
        let length = Int(UInt32(head[1]) << 24 | UInt32(head[2]) << 16 | UInt32(head[3]) << 8 | UInt32(head[4]))
        return (head[0], length)
    }

    fileprivate func payload(_ length: Int, limit: Int, what: String) throws -> [UInt8] {
        guard length <= limit else { throw ToolError("framed input: a \(what) record of \(length) bytes (at most \(limit))") }
        var bytes = [UInt8](repeating: 0, count: length)
        let got = try bytes.withUnsafeMutableBytes { try readUpTo($0) }
        guard got == length else { throw ToolError.consequence("framed input ended inside a frame (the stage before stopped)") }
        return bytes
    }

    /// Fills `target` unless the input ends first; returns the count.
    fileprivate func readUpTo(_ target: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < target.count {
            if count == 0 {
                start = 0
                count = try input.read(into: buffer)
                if count == 0 { break }
            }
            let n = min(count, target.count - filled)
            UnsafeMutableRawBufferPointer(rebasing: target[filled..<(filled + n)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[start..<(start + n)]))
            start += n
            count -= n
            filled += n
        }
        return filled
    }

    fileprivate func describe(_ kind: UInt8) -> String {
        (0x21...0x7e).contains(kind) ? String(UnicodeScalar(kind)) : "0x" + String(kind, radix: 16)
    }
}

/// One frame being read: its header, its data (`source`) and, once the data is read, its end.
public final class Frame {
    private let reader: FrameReader
    /// The header record.
    public let header: FrameHeader
    /// The end record, once reached.
    public private(set) var end: FrameEnd?
    private var remaining = 0

    fileprivate init(reader: FrameReader, header: FrameHeader) {
        self.reader = reader
        self.header = header
    }

    /// The frame's `id`.
    public var id: String { header.id }

    /// The frame's data as a source: reads return 0 at a successful end and throw
    /// `UpstreamFrameFailure` at a failed one. Use it while the frame is alive (the frame owns it).
    public lazy var source: FileSource = FileSource(name: "frame \(id) of standard input") { [unowned self] in try self.read(into: $0) }

    /// The upstream failure, when the frame ended with one.
    public var upstreamFailure: UpstreamFrameFailure? {
        guard let end, end.error != nil else { return nil }
        return UpstreamFrameFailure(end: end)
    }

    /// An error of the framed stream itself (malformed, cut short, unreadable) met while
    /// reading this frame: the stream cannot go on.
    public private(set) var streamError: (any Error)?

    private func read(into target: UnsafeMutableRawBufferPointer) throws -> Int {
        do {
            return try readRecords(into: target)
        } catch let failure as UpstreamFrameFailure {
            throw failure
        } catch {
            streamError = error
            throw error
        }
    }

    private func readRecords(into target: UnsafeMutableRawBufferPointer) throws -> Int {
        while remaining == 0 {
            if end != nil {
                if let failure = upstreamFailure { throw failure }
                return 0
            }
            guard let (kind, length) = try reader.recordHead(allowEnd: false) else { return 0 }
            switch kind {
            case Framing.data:
                guard length <= Framing.maximumChunk else {
                    throw ToolError("framed input: a data record of \(length) bytes (at most \(Framing.maximumChunk))")
                }
                remaining = length
            case Framing.end:
                end = try FrameEnd(json: try reader.payload(length, limit: Framing.maximumRecord, what: "end"))
            default:
                throw ToolError("framed input: record \(reader.describe(kind)) inside frame \(id)")
            }
        }
        let n = try reader.readUpTo(UnsafeMutableRawBufferPointer(rebasing: target[0..<min(target.count, remaining)]))
        guard n > 0 else { throw ToolError.consequence("framed input ended inside a frame (the stage before stopped)") }
        remaining -= n
        return n
    }

    /// Reads and drops the rest of the frame's data (after a failure of the reading tool),
    /// up to its end record.
    public func skipRest() throws {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { scratch.deallocate() }
        while end == nil {
            do {
                _ = try read(into: scratch)
            } catch is UpstreamFrameFailure {
                break
            }
        }
    }
}

/// A frame's header: the JSON object as received (passed on byte for byte) and its members.
public struct FrameHeader: Sendable {
    /// The payload.
    public var json: [UInt8]
    /// Its top-level members.
    public var fields: [String: FlatJSON.Value]
    /// The frame's identifier (`id`, a string).
    public var id: String

    /// A header from its payload; it must be a JSON object with a string `id`.
    public init(json: [UInt8]) throws {
        self.json = json
        fields = try FlatJSON.object(json, what: "a frame header")
        guard let id = fields["id"]?.string else { throw ToolError("framed input: a frame header without a string \"id\"") }
        self.id = id
    }
}

/// Writes a framed stream on a sink: the magic, then frames.
public final class FrameWriter {
    private let output: FileSink
    private var open: FrameHeader?
    /// The error that broke the output (the next stage went away, …): the stream cannot go on.
    public private(set) var streamError: (any Error)?

    /// A writer on `output`; the magic goes out with the first frame (or `finish`).
    public init(output: FileSink) throws {
        self.output = output
        try output.write(Framing.magic)
    }

    /// Starts a frame with `header`; returns the sink for its data (each flush of it is one `D`
    /// record, at most 256 KiB).
    public func begin(_ header: FrameHeader) throws -> FileSink {
        precondition(open == nil, "a frame is already open")
        try header.json.withUnsafeBytes { try record(Framing.header, $0) }
        open = header
        return FileSink(name: "frame \(header.id) of \(output.name)") { bytes in
            try self.record(Framing.data, bytes)
        }
    }

    /// Ends the open frame: flushes `data` (the sink `begin` returned) unless the frame failed,
    /// writes the end record and hands everything to the next stage.
    public func end(_ end: FrameEnd, data: FileSink?) throws {
        if end.error == nil { try data?.flush() }
        try end.json.withUnsafeBytes { try record(Framing.end, $0) }
        try guarded { try output.flush() }
        open = nil
    }

    /// Flushes the stream (after the last frame).
    public func finish() throws { try guarded { try output.flush() } }

    private func record(_ kind: UInt8, _ payload: UnsafeRawBufferPointer) throws {
        let n = UInt32(payload.count)
        try guarded {
            try output.write([kind, UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)])
            try output.write(payload)
        }
    }

    private func guarded(_ body: () throws -> Void) throws {
        if let streamError { throw streamError }
        do { try body() } catch {
            streamError = error
            throw error
        }
    }
}

/// The loop of a tool that turns each frame of its input into one frame of its output
/// (rowfmt, zcompress): the header passes on unchanged, a failed frame's end record passes on
/// unchanged, and a failure of the tool's own confined to one frame ends that frame with the
/// tool's error and goes on with the next. Errors of the streams themselves end the loop.
public enum FramedFilter {
    /// Runs `body` for each frame of `input` with the frame, the sink for its output and a
    /// progress reporter naming the frame; `body` returns the figures of the end record
    /// (JSON-encoded values) and writes its own final progress line. `describe` turns an
    /// error into its one-line message.
    public static func run(stage: String, input: FileSource = .standardInput, output: FileSink = .standardOutput(),
                           progress: ProgressReporter, describe: (any Error) -> String = FramedFilter.message,
                           _ body: (Frame, FileSink, ProgressReporter) throws -> [String: String]) throws {
        let reader = FrameReader(input: input)
        let writer = try FrameWriter(output: output)
        while let frame = try reader.next() {
            let sink = try writer.begin(frame.header)
            let frameProgress = progress.forFrame(frame.id)
            do {
                let figures = try body(frame, sink, frameProgress)
                if frame.end == nil { try frame.skipRest() }
                if let failure = frame.upstreamFailure {
                    frameProgress.failFrame(failure.description)
                    try writer.end(failure.end, data: nil)
                } else {
                    try writer.end(.success(stage: stage, figures: figures), data: sink)
                }
            } catch {
                if let broken = frame.streamError ?? writer.streamError { throw broken }
                if frame.end == nil { try frame.skipRest() }
                if let broken = frame.streamError { throw broken }
                if let failure = frame.upstreamFailure {
                    frameProgress.failFrame(failure.description)
                    try writer.end(failure.end, data: nil)
                } else {
                    let text = describe(error)
                    writeStandardError("\(stage): error: frame \(frame.id): \(text)\n")
                    frameProgress.failFrame(text)
                    try writer.end(.failure(stage: stage, message: text), data: nil)
                }
            }
        }
        try writer.finish()
    }

    /// An error's one-line message.
    public static func message(_ error: any Error) -> String {
        (error as? ToolError)?.message ?? "\(error)"
    }
}

/// Reads lines from a source as they arrive (a request per line: `pg-extract --framed`).
public final class LineSource {
    private let source: FileSource
    private var pending: [UInt8] = []
    private var ended = false

    /// Lines of `source`.
    public init(_ source: FileSource) { self.source = source }

    /// The next line without its newline (a last line without one counts); nil at the end.
    public func next() throws -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return line
            }
            if ended {
                if pending.isEmpty { return nil }
                defer { pending = [] }
                return pending
            }
            let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { ended = true } else { pending += chunk[0..<n] }
        }
    }
}
