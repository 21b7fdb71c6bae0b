#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A buffered writer on a file descriptor that fails loudly on any short or failed write.
public final class FileSink {
    /// The descriptor written to.
    public let fd: Int32
    /// A name for messages ("standard output", a path).
    public var name: String
    private var buffer: UnsafeMutableRawBufferPointer
    private var used = 0
    private let ownsDescriptor: Bool
    /// Where the bytes go instead of a descriptor (a frame's data records), when set.
    private let push: ((UnsafeRawBufferPointer) throws -> Void)?
    /// Bytes handed to the kernel so far.
    public private(set) var bytesWritten: UInt64 = 0

    /// A sink on `fd`; `bufferSize` bytes are gathered before each write(2).
    public init(fd: Int32, name: String, bufferSize: Int = 256 * 1024, ownsDescriptor: Bool = false) {
        self.fd = fd
        self.name = name
        self.ownsDescriptor = ownsDescriptor
        push = nil
        buffer = .allocate(byteCount: max(bufferSize, 1), alignment: 16)
    }

    /// A sink that hands each buffer's worth of bytes to `push` instead of a descriptor (a
    /// frame's data, docs/framing.md).
    public init(name: String, bufferSize: Int = 256 * 1024, push: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        fd = -1
        self.name = name
        ownsDescriptor = false
        self.push = push
        buffer = .allocate(byteCount: max(bufferSize, 1), alignment: 16)
    }

    /// Standard output.
    public static func standardOutput(bufferSize: Int = 256 * 1024) -> FileSink {
        FileSink(fd: 1, name: "standard output", bufferSize: bufferSize)
    }

    /// Opens (creates or truncates) a file for writing.
    public static func create(path: String, mode: mode_t = 0o644) throws -> FileSink {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw ToolError("could not create \"\(path)\": \(systemErrorText(errno))")
        }
        return FileSink(fd: fd, name: "\"\(path)\"", ownsDescriptor: true)
    }

    deinit {
        if ownsDescriptor { _ = Glibc.close(fd) }
        buffer.deallocate()
    }

    /// Appends bytes, writing through when the buffer fills.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        if used + bytes.count <= buffer.count {
            UnsafeMutableRawBufferPointer(rebasing: buffer[used..<(used + bytes.count)]).copyMemory(from: bytes)
            used += bytes.count
            return
        }
        try flush()
        if bytes.count >= buffer.count {
            try writeAll(bytes)
        } else {
            UnsafeMutableRawBufferPointer(rebasing: buffer[0..<bytes.count]).copyMemory(from: bytes)
            used = bytes.count
        }
    }

    /// Appends a byte array.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Appends the UTF-8 bytes of a string.
    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Writes out everything buffered.
    public func flush() throws {
        guard used > 0 else { return }
        let pending = UnsafeRawBufferPointer(rebasing: buffer[0..<used])
        used = 0
        try writeAll(pending)
    }

    /// Flushes and, for descriptors this sink opened, fsyncs and closes.
    public func close(sync: Bool = false) throws {
        try flush()
        if sync, fd >= 0, fsync(fd) != 0, errno != EINVAL {
            throw ToolError("could not sync \(name): \(systemErrorText(errno))")
        }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        if let push {
            try push(bytes)
            bytesWritten += UInt64(bytes.count)
            return
        }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                // The reader went away: a consequence of its failure (or of it being done).
                if errno == EPIPE { throw ToolError.consequence("could not write to \(name): \(systemErrorText(errno))") }
                throw ToolError("could not write to \(name): \(systemErrorText(errno))")
            }
            if n == 0 { throw ToolError("could not write to \(name): short write") }
            offset += n
            bytesWritten += UInt64(n)
        }
    }
}

/// A reader on a file descriptor.
public final class FileSource {
    /// The descriptor read from.
    public let fd: Int32
    /// A name for messages ("standard input", a path).
    public let name: String
    private let ownsDescriptor: Bool
    /// Where the bytes come from instead of a descriptor (a frame's data), when set.
    private let pull: ((UnsafeMutableRawBufferPointer) throws -> Int)?
    /// Bytes read so far.
    public private(set) var bytesRead: UInt64 = 0

    /// A source on an open descriptor.
    public init(fd: Int32, name: String, ownsDescriptor: Bool = false) {
        self.fd = fd
        self.name = name
        self.ownsDescriptor = ownsDescriptor
        pull = nil
    }

    /// A source whose reads call `pull` (a frame's data, docs/framing.md): it fills part of
    /// the buffer and returns the count, 0 at the end.
    public init(name: String, pull: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) {
        fd = -1
        self.name = name
        ownsDescriptor = false
        self.pull = pull
    }

    /// Standard input.
    public static var standardInput: FileSource { FileSource(fd: 0, name: "standard input") }

    /// Opens `path` for reading; `-` is standard input.
    public static func open(path: String) throws -> FileSource {
        if path == "-" { return .standardInput }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ToolError("could not open \"\(path)\": \(systemErrorText(errno))")
        }
        return FileSource(fd: fd, name: "\"\(path)\"", ownsDescriptor: true)
    }

    deinit {
        if ownsDescriptor { _ = Glibc.close(fd) }
    }

    /// Reads up to `buffer.count` bytes; 0 means end of input.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let pull {
            let n = try pull(buffer)
            bytesRead += UInt64(n)
            return n
        }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress!, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw ToolError("could not read \(name): \(systemErrorText(errno))")
            }
            bytesRead += UInt64(n)
            return n
        }
    }

    /// Fills `buffer` completely unless the input ends first; returns the count read.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]))
            if n == 0 { break }
            total += n
        }
        return total
    }
}

/// Whether a descriptor is a terminal.
public func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

/// Refuses to write binary data to a terminal unless forced (zstd's rule).
public func refuseBinaryToTerminal(fd: Int32 = 1, force: Bool, what: String) throws {
    if !force && isTerminal(fd) {
        throw ToolError.usage("refusing to write \(what) to a terminal (use -f to force, or redirect the output)")
    }
}

extension FileSource {
    /// The lines of `path` (`-`: standard input), in order, empty lines left out: the key lists
    /// of `s3get --keys-from` and `s3put --keys-from`.
    public static func nonEmptyLines(of path: String) throws -> [String] {
        let source = path == "-" ? FileSource.standardInput : try FileSource.open(path: path)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes.split(separator: 10).map { String(decoding: $0, as: UTF8.self) }.filter { !$0.isEmpty }
    }
}
