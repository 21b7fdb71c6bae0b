import CLibPQ

#if canImport(Glibc)
import Glibc
#endif

extension PGConnection {
    /// Runs a command and returns how many rows it affected (`PQcmdTuples`: INSERT, UPDATE, DELETE, COPY).
    public func executeCounting(_ sql: String) throws -> Int64 {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, expecting: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
        return Int64(String(cString: PQcmdTuples(result))) ?? 0
    }

    /// Runs `COPY … FROM STDIN`; `produce` sends the data through the writer it is given. When
    /// `produce` throws, the COPY is ended with that error (the server discards it) and the error
    /// is rethrown; otherwise the server's verdict is checked. Returns the rows the server copied.
    @discardableResult
    public func copyIn(_ sql: String, _ produce: (CopyInWriter) throws -> Void) throws -> Int64 {
        let start = PQexec(handle, sql)
        if PQresultStatus(start) != PGRES_COPY_IN {
            defer { PQclear(start) }
            try check(start, expecting: [PGRES_COPY_IN], kind: .copy)
        }
        PQclear(start)
        let writer = CopyInWriter(handle: handle)
        var failure: (any Error)?
        do { try produce(writer) } catch { failure = error }
        if failure == nil {
            do { try writer.flush() } catch { failure = error }
        }
        let message = failure.map { "\($0)" }
        if PQputCopyEnd(handle, message) != 1 && failure == nil {
            failure = PGError(.copy, oneLine(String(cString: PQerrorMessage(handle))))
        }
        var copied: Int64 = 0
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            if failure == nil {
                do {
                    try check(result, expecting: [PGRES_COMMAND_OK], kind: .copy)
                    copied = Int64(String(cString: PQcmdTuples(result))) ?? 0
                } catch { failure = error }
            }
        }
        if let failure { throw failure }
        return copied
    }
}

/// Buffers COPY data and hands it to libpq in large messages (valid only inside `copyIn`).
public final class CopyInWriter {
    private let handle: OpaquePointer
    private var buffer: [UInt8] = []
    private let limit = 1 << 18

    init(handle: OpaquePointer) {
        self.handle = handle
        buffer.reserveCapacity(limit + 4096)
    }

    /// Appends bytes; sends when the buffer is full.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= limit { try flush() }
    }

    /// Appends bytes from an array.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Sends what is buffered.
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        let status = buffer.withUnsafeBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { PQputCopyData(handle, $0, Int32(p.count)) }
        }
        buffer.removeAll(keepingCapacity: true)
        if status != 1 { throw PGError(.copy, oneLine(String(cString: PQerrorMessage(handle)))) }
    }
}
