import FoundationEssentials
import PGAccess
import RowDigest
import RowStream
import SlicePlan
import ToolSupport

/// The descriptions of base tables read so far, so that a long-lived `pg-extract --framed`
/// queries the catalog once per relation (and column list), not once per slice. A description
/// lives as long as the process: the orchestrator's run reads the table's schema once too.
public final class DescriptionCache {
    private var known: [String: (RowStreamSchema, [SelectedColumn])] = [:]

    /// An empty cache.
    public init() {}

    /// `Extractor.describe`, from the cache when this table and column list were described before.
    public func describe(_ conn: PGConnection, slice: Slice, columns: [String]?) throws -> (RowStreamSchema, [SelectedColumn]) {
        let key = [slice.schema, slice.table, columns?.joined(separator: ",") ?? "*"].joined(separator: "\u{0}")
        if let found = known[key] { return found }
        let found = try Extractor.describe(conn, slice: slice, columns: columns)
        known[key] = found
        return found
    }
}

/// `pg-extract --framed` (docs/framing.md): one request per line in, one frame per request out,
/// all on one connection.
public enum FramedExtraction {
    /// What a request line must hold beyond its `id` (the rest of it is passed on in the header).
    struct Request: Decodable {
        var plan: Slice
        var columns: [String]?
    }

    /// Serves every request of `requests` until its end. A failure confined to one slice (its
    /// plan, a relation, a COPY) ends that slice's frame with the error and the next request is
    /// served; a lost connection or a broken output ends the loop with the error.
    public static func serve(_ conn: PGConnection, requests: LineSource, output: FileSink, columns: [String]?,
                             progress: ProgressReporter) throws {
        let writer = try FrameWriter(output: output)
        let descriptions = DescriptionCache()
        var number = 0
        while let line = try requests.next() {
            number += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let header: FrameHeader
            do {
                header = try FrameHeader(json: line)
            } catch let error as ToolError {
                throw ToolError.usage("request line \(number): \(error.message)")
            }
            let sink = try writer.begin(header)
            let frameProgress = progress.forFrame(header.id)
            do {
                let request: Request
                do {
                    request = try JSONDecoder().decode(Request.self, from: Data(line))
                } catch {
                    throw ExtractError("the request has no valid plan line under \"plan\" (docs/framing.md)")
                }
                if let error = request.plan.error { throw ExtractError("slice \(request.plan.stem) could not be fully planned: \(error)") }
                let (rows, digest) = try Extractor.extractCounting(conn, slice: request.plan, columns: request.columns ?? columns, sink: sink,
                                                                   progress: frameProgress, descriptions: descriptions)
                try writer.end(.success(stage: "pg-extract", figures: ["rows": String(rows), "bytes": String(sink.bytesWritten),
                                                                         "digest": JSON.quote(digest.hex)]), data: sink)
            } catch {
                if let broken = writer.streamError { throw broken }
                let text = (error as? PGError)?.message ?? (error as? ExtractError)?.message ?? FramedFilter.message(error)
                writeStandardError("pg-extract: error: frame \(header.id): \(text)\n")
                frameProgress.failFrame(text)
                try writer.end(.failure(stage: "pg-extract", message: text), data: nil)
                // The next slice needs a working session outside any transaction.
                if conn.isAlive && !conn.isIdle { try? conn.execute("ROLLBACK") }
                guard conn.isAlive && conn.isIdle else {
                    throw ToolError("the connection to PostgreSQL was lost serving frame \(header.id): \(text)")
                }
            }
        }
        try writer.finish()
    }
}
