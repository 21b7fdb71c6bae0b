import PGAccess
import RowDigest
import RowStream
import SlicePlan
import ToolSupport

/// pg-extract's work: one slice's sources as one rowstream, in one snapshot.
public enum Extractor {
    /// The SQL reading one source: the base table's columns by name, filtered when the source says so.
    public static func selectSQL(_ columns: [SelectedColumn], source: Slice.Source) throws -> String {
        var sql = "SELECT " + columns.map(\.expression).joined(separator: ", ")
        sql += " FROM " + (source.only == true ? "ONLY " : "") + SQL.qualified(source.schema, source.relation)
        if let column = source.column {
            let from = try source.from.map { try instant($0, field: "from", source) }
            let to = try source.to.map { try instant($0, field: "to", source) }
            guard from != nil || to != nil else { throw ExtractError("source \(source.relation) names column \"\(column)\" but neither \"from\" nor \"to\"") }
            sql += " WHERE " + SQL.rangeFilter(column: column, from: from?.postgresText, to: to?.postgresText)
        }
        return sql
    }

    /// The SQL removing one source's rows and returning them as `selectSQL` reads them
    /// (`retire`): a source without a column filter is refused (whole relations are dropped, never emptied).
    public static func deleteSQL(_ columns: [SelectedColumn], source: Slice.Source) throws -> String {
        guard let column = source.column else { throw ExtractError("source \(source.relation) has no row filter to delete by") }
        let from = try source.from.map { try instant($0, field: "from", source) }
        let to = try source.to.map { try instant($0, field: "to", source) }
        guard from != nil || to != nil else { throw ExtractError("source \(source.relation) names column \"\(column)\" but neither \"from\" nor \"to\"") }
        return "DELETE FROM " + (source.only == true ? "ONLY " : "") + SQL.qualified(source.schema, source.relation)
            + " WHERE " + SQL.rangeFilter(column: column, from: from?.postgresText, to: to?.postgresText)
            + " RETURNING " + columns.map(\.expression).joined(separator: ", ")
    }

    private static func instant(_ text: String, field: String, _ source: Slice.Source) throws -> Instant {
        guard let t = Instant.parse(text) else {
            throw ExtractError("source \(source.relation): \"\(field)\" is not an RFC 3339 time: \"\(text)\"")
        }
        return t
    }

    /// Opens a read-only REPEATABLE READ snapshot and describes the slice's base table; with
    /// `columns`, only those (in table order), each of which must exist.
    public static func begin(_ conn: PGConnection, slice: Slice, columns names: [String]? = nil,
                             descriptions: DescriptionCache? = nil) throws -> (RowStreamSchema, [SelectedColumn]) {
        try conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        if let descriptions { return try descriptions.describe(conn, slice: slice, columns: names) }
        return try describe(conn, slice: slice, columns: names)
    }

    /// Describes the slice's base table in the current transaction; with `columns`, only those
    /// (in table order), each of which must exist.
    public static func describe(_ conn: PGConnection, slice: Slice, columns names: [String]? = nil) throws -> (RowStreamSchema, [SelectedColumn]) {
        var (schema, columns) = try SchemaQuery.describe(conn, schema: slice.schema, table: slice.table)
        guard let names else { return (schema, columns) }
        if let missing = names.first(where: { name in !columns.contains { $0.column.name == name } }) {
            throw ExtractError("column \"\(missing)\" is not a column of \(slice.schema).\(slice.table)")
        }
        columns = columns.filter { names.contains($0.column.name) }
        schema.columns = columns.map(\.column)
        return (schema, columns)
    }

    /// Writes the rowstream of `slice` to `sink`: header, every source's rows in order, trailer.
    /// Returns the row digest of the rows written (docs/rowstream.md, "Row digest"), which the
    /// final progress line also carries.
    ///
    /// A failure anywhere throws before the trailer is written, so the stream reads as truncated.
    public static func extract(_ conn: PGConnection, slice: Slice, columns names: [String]? = nil, sink: FileSink,
                               progress: ProgressReporter, descriptions: DescriptionCache? = nil) throws -> RowDigest {
        try extractCounting(conn, slice: slice, columns: names, sink: sink, progress: progress, descriptions: descriptions).digest
    }

    /// `extract`, also returning the row count.
    public static func extractCounting(_ conn: PGConnection, slice: Slice, columns names: [String]? = nil, sink: FileSink,
                                       progress: ProgressReporter, descriptions: DescriptionCache? = nil) throws -> (rows: UInt64, digest: RowDigest) {
        let (schema, columns) = try begin(conn, slice: slice, columns: names, descriptions: descriptions)
        let digester = RowDigester(schema: schema)
        let statements = try slice.sources.map { "COPY (\(try selectSQL(columns, source: $0))) TO STDOUT (FORMAT binary)" }
        try conn.execute("SET LOCAL statement_timeout = 0")
        try sink.write(try RowStreamFormat.header(for: schema))
        var rows: UInt64 = 0
        do {
            for (source, statement) in zip(slice.sources, statements) {
                try copyTuples(conn, statement, fieldCount: columns.count, relation: "\(source.schema).\(source.relation)") { tuple in
                    try sink.write(tuple)
                    digester.add(tuple: tuple)
                    rows += 1
                    if rows & 1023 == 0 { progress.update(rows: rows, bytes: sink.bytesWritten) }
                }
            }
        } catch {
            poison(sink, fieldCount: columns.count)
            throw error
        }
        try sink.write(RowStreamFormat.trailer)
        try sink.flush()
        try conn.execute("COMMIT")
        progress.finish(rows: rows, bytes: sink.bytesWritten, extra: ["digest": JSON.quote(digester.digest.hex)])
        return (rows, digester.digest)
    }

    /// Runs one `COPY (…) TO STDOUT (FORMAT binary)` and hands each tuple (header and trailer
    /// stripped) to `body`: the one way rows are read, for extraction and for `retire`'s digests.
    public static func copyTuples(_ conn: PGConnection, _ statement: String, fieldCount: Int, relation: String,
                                  _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var splicer = CopySplicer(fieldCount: fieldCount, relation: relation)
        do {
            try conn.copyOut(statement) { message in
                if let tuple = try splicer.tuple(in: message) { try body(tuple) }
            }
        } catch let error as PGError {
            throw ExtractError("reading \(relation): \(error.message)")
        }
        try splicer.finish()
    }

    /// Ends a failed stream inside a tuple (a field count and no fields), so that even readers that
    /// accept end of input at a tuple boundary, as PostgreSQL's `COPY FROM` does, reject it.
    static func poison(_ sink: FileSink, fieldCount: Int) {
        let count = UInt16(max(fieldCount, 1))
        try? sink.write([UInt8(count >> 8), UInt8(count & 0xFF)])
        try? sink.flush()
    }
}

/// Strips one COPY BINARY output's header and trailer so several outputs splice into one stream.
///
/// Each CopyData message holds one tuple (the protocol guarantees it); the first also holds
/// the header, the last is the trailer.
struct CopySplicer {
    let fieldCount: Int
    let relation: String
    private var sawHeader = false
    private var sawTrailer = false

    init(fieldCount: Int, relation: String) {
        self.fieldCount = fieldCount
        self.relation = relation
    }

    /// The tuple bytes of a message, or nil for the trailer.
    mutating func tuple(in message: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        var bytes = message
        if !sawHeader {
            guard bytes.count >= RowStreamFormat.fixedHeaderSize,
                  UnsafeRawBufferPointer(rebasing: bytes[0..<11]).elementsEqual(RowStreamFormat.signature) else {
                throw ExtractError("COPY of \(relation) did not start with the binary signature")
            }
            let ext = Int(UInt32(bytes[15]) << 24 | UInt32(bytes[16]) << 16 | UInt32(bytes[17]) << 8 | UInt32(bytes[18]))
            guard bytes.count >= RowStreamFormat.fixedHeaderSize + ext else { throw ExtractError("COPY of \(relation) sent a split header") }
            bytes = UnsafeRawBufferPointer(rebasing: bytes[(RowStreamFormat.fixedHeaderSize + ext)...])
            sawHeader = true
        }
        guard !sawTrailer else { throw ExtractError("COPY of \(relation) sent data after its trailer") }
        guard bytes.count >= 2 else { throw ExtractError("COPY of \(relation) sent a short message") }
        let count = Int(Int16(bitPattern: UInt16(bytes[0]) << 8 | UInt16(bytes[1])))
        if count == -1 {
            guard bytes.count == 2 else { throw ExtractError("COPY of \(relation) sent data after its trailer") }
            sawTrailer = true
            return nil
        }
        guard count == fieldCount else { throw ExtractError("COPY of \(relation) sent \(count) fields, expected \(fieldCount)") }
        return bytes
    }

    /// Checks that the output ended with its trailer.
    func finish() throws {
        guard sawHeader, sawTrailer else { throw ExtractError("COPY of \(relation) ended without its trailer") }
    }
}
