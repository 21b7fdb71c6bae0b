#if canImport(Glibc)
import Glibc
#endif

/// An output file that appears only when complete: written to a temp file beside it, then renamed.
///
/// An interruption or a failure removes the temp file, so no half-written output is ever left.
public final class AtomicOutput {
    /// The final path.
    public let path: String
    /// The temp path written to until `commit()`.
    public let temporaryPath: String
    /// The sink on the temp file.
    public let sink: FileSink
    private var token: Int?
    private var finished = false

    /// Creates the temp file next to `path`.
    public init(path: String, mode: mode_t = 0o644) throws {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        temporaryPath = "\(dir).\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        sink = try FileSink.create(path: temporaryPath, mode: mode)
        sink.name = "\"\(path)\""
        let temp = temporaryPath
        token = Interrupts.shared.add { _ = unlink(temp) }
    }

    /// Flushes, fsyncs and renames the temp file into place.
    public func commit() throws {
        guard !finished else { return }
        try sink.close(sync: true)
        guard rename(temporaryPath, path) == 0 else {
            let text = systemErrorText(errno)
            discard()
            throw ToolError("could not rename into \"\(path)\": \(text)")
        }
        finished = true
        if let token { Interrupts.shared.remove(token) }
    }

    /// Removes the temp file.
    public func discard() {
        guard !finished else { return }
        finished = true
        _ = unlink(temporaryPath)
        if let token { Interrupts.shared.remove(token) }
    }

    deinit { discard() }
}
