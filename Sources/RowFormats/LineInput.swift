#if canImport(Glibc)
import Glibc
#endif
import ToolSupport

/// Text input split into records: JSON lines, or CSV records (which may span lines inside quotes).
///
/// Memory holds one record at a time (it grows for a long one); line numbers are counted for messages.
final class LineInput {
    private let source: FileSource
    private var storage: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var inputEnded = false
    /// Called with every chunk read (inference spools the input through it).
    var tee: ((UnsafeRawBufferPointer) throws -> Void)?
    /// The line where the current record starts (1-based).
    private(set) var line: UInt64 = 0
    private var nextLine: UInt64 = 1

    init(_ source: FileSource, bufferSize: Int = 1 << 20) {
        self.source = source
        storage = .allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// The next record without its line ending, nil at end of input (valid until the next call).
    /// For CSV, a newline inside quotes does not end the record; an unterminated quote is an error.
    func next(csv: Bool) throws -> UnsafeRawBufferPointer? {
        var scan = start
        var inQuotes = false
        var newlines: UInt64 = 0
        while true {
            if csv {
                while scan < end {
                    let c = storage[scan]
                    if c == UInt8(ascii: "\"") { inQuotes.toggle() } else if c == 10 {
                        if !inQuotes { break }
                        newlines += 1
                    }
                    scan += 1
                }
            } else if scan < end {
                if let found = memchr(storage.baseAddress! + scan, 10, end - scan) {
                    scan = storage.baseAddress!.distance(to: UnsafeMutableRawPointer(mutating: found))
                } else {
                    scan = end
                }
            }
            if scan < end { break }
            let consumed = scan - start
            if try !fill() {
                if start == end { return nil }
                if inQuotes { throw FormatError(line: nextLine, "unterminated quoted field at end of input") }
                break
            }
            scan = start + consumed
        }
        line = nextLine
        nextLine += 1 + newlines
        var recordEnd = min(scan, end)
        if recordEnd > start && storage[recordEnd - 1] == 13 { recordEnd -= 1 }
        let record = UnsafeRawBufferPointer(rebasing: storage[start..<recordEnd])
        start = min(scan + 1, end)
        return record
    }

    /// Reads more input, keeping the current record; false when the input has ended.
    private func fill() throws -> Bool {
        guard !inputEnded else { return false }
        if start > 0 {
            let live = end - start
            if live > 0 { storage.baseAddress!.copyMemory(from: storage.baseAddress! + start, byteCount: live) }
            start = 0
            end = live
        }
        if end == storage.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: storage.count * 2, alignment: 16)
            bigger.baseAddress!.copyMemory(from: storage.baseAddress!, byteCount: end)
            storage.deallocate()
            storage = bigger
        }
        let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: storage[end...]))
        if n == 0 {
            inputEnded = true
            return false
        }
        try tee?(UnsafeRawBufferPointer(rebasing: storage[end..<(end + n)]))
        end += n
        return true
    }
}
