#if canImport(Glibc)
import Glibc
#endif
import Parquet
import RowStream
import ToolSupport

/// Reads a Parquet file as rows in PostgreSQL's binary form, one row group in memory at a time.
///
/// The types come from the footer's `pgarchive.schema` when present (files rowfmt wrote), else
/// from the Parquet types (`ParquetTypes.inferredColumn`, e.g. files pyarrow wrote).
public final class ParquetRowReader: RowReader {
    public let schema: RowStreamSchema
    /// Whether the file lacked `pgarchive.schema`, so the types were inferred from the Parquet types.
    public let schemaInferred: Bool
    private let file: ParquetReader
    private let kinds: [ValueKind]
    /// Per column: the file column holding its values' `array_dims()` (docs/types.md), else −1.
    private let dimsColumns: [Int]
    /// Per column: the error for a value whose Parquet type does not convert to the column's type.
    private let mismatches: [ValueError]
    private var group = -1
    private var rowInGroup = 0
    private var rowsInGroup = 0
    private var data: [ColumnData] = []
    private var cells: [[Cell]] = []
    private let row = ByteBuffer(capacity: 1 << 16)
    private var spans: [Range<Int>?]
    /// The spool file of a piped input (kept open while the file is mapped).
    private let spool: FileSource?

    /// Opens the Parquet file behind `source`: a regular file directly, anything else (a pipe) spooled first.
    public static func open(_ source: FileSource, name: String, tableName: String) throws -> ParquetRowReader {
        var st = stat()
        guard fstat(source.fd, &st) == 0 else { throw ToolError("could not stat \(source.name): \(systemErrorText(errno))") }
        if st.st_mode & S_IFMT == S_IFREG {
            return try ParquetRowReader(descriptor: source.fd, name: name, tableName: tableName, spool: nil)
        }
        let spool = try spoolCopy(of: source)
        return try ParquetRowReader(descriptor: spool.fd, name: name, tableName: tableName, spool: spool)
    }

    /// Copies `source` to an unlinked temporary file (Parquet needs random access).
    private static func spoolCopy(of source: FileSource) throws -> FileSource {
        let fd = try Inference.spoolFile()
        let reading = FileSource(fd: fd, name: "the spool file", ownsDescriptor: true)
        let sink = FileSink(fd: fd, name: "the spool file", bufferSize: 1 << 20)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            try sink.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        try sink.flush()
        return reading
    }

    private init(descriptor: Int32, name: String, tableName: String, spool: FileSource?) throws {
        self.spool = spool
        do {
            file = try ParquetReader(descriptor: descriptor, name: name)
        } catch let error as ParquetError {
            throw FormatError(error.message)
        }
        if let json = file.metadataValue(ParquetTypes.schemaKey) {
            var text = json
            let decoded = try text.withUTF8 { utf8 in
                do {
                    return try RowStreamSchema.decode(json: UnsafeRawBufferPointer(utf8))
                } catch let error as RowStreamError {
                    throw FormatError("\"\(name)\": the \(ParquetTypes.schemaKey) footer key: \(error.message)")
                }
            }
            schema = decoded
            schemaInferred = false
            let dims = try Self.check(schema, against: file.columns, dims: file.metadataValue(ParquetTypes.arrayDimsKey), file: name)
            dimsColumns = schema.columns.indices.map { dims[$0] ?? -1 }
        } else {
            schema = RowStreamSchema(table: .init(schema: "public", name: tableName),
                                     columns: try file.columns.map { try ParquetTypes.inferredColumn($0, file: name) })
            schemaInferred = true
            dimsColumns = Array(repeating: -1, count: schema.columns.count)
        }
        kinds = try schema.columns.map { column in
            guard let kind = column.kind else {
                throw FormatError("column \"\(column.name)\" has type \(column.type) (OID \(column.oid)), which has no binary decoding")
            }
            return kind
        }
        spans = Array(repeating: nil, count: schema.columns.count)
        mismatches = zip(schema.columns, file.columns).map { ValueError("a Parquet \($1.type) value cannot be read as \($0.type)") }
    }

    /// The footer's schema must describe the file's columns: same count (plus the companion
    /// dimensions columns the footer names), names, and list-ness. Returns the companions.
    private static func check(_ schema: RowStreamSchema, against columns: [ColumnDescriptor], dims: String?, file: String) throws -> [Int: Int] {
        let companions = columns.count >= schema.columns.count
            ? try ParquetTypes.readDimsColumns(dims, schema: schema, columns: columns, file: file) : [:]
        guard schema.columns.count + companions.count == columns.count else {
            throw FormatError("\"\(file)\": the \(ParquetTypes.schemaKey) footer key lists \(schema.columns.count) columns"
                + (companions.isEmpty ? "" : " and \(ParquetTypes.arrayDimsKey) \(companions.count)") + " but the file has \(columns.count)")
        }
        for (column, d) in zip(schema.columns, columns) {
            guard column.name == d.name else {
                throw FormatError("\"\(file)\": the \(ParquetTypes.schemaKey) footer key names column \"\(column.name)\" where the file has \"\(d.name)\"")
            }
            if case .array = column.kind, !d.isList, d.type.logical != .string {
                throw FormatError("\"\(file)\": column \"\(d.name)\" is \(column.type) but the file holds \(d.type), not a LIST")
            }
        }
        return companions
    }

    public func next() throws -> Bool {
        while rowInGroup == rowsInGroup {
            group += 1
            guard group < file.rowGroupCount else { return false }
            do {
                data = try file.columns.indices.map { try file.read(rowGroup: group, column: $0) }
            } catch let error as ParquetError {
                throw FormatError(error.message)
            }
            cells = data.map { $0.cells() }
            rowsInGroup = file.rowCount(rowGroup: group)
            rowInGroup = 0
        }
        row.removeAll()
        for c in 0..<kinds.count {
            let start = row.count
            do {
                switch (cells[c][rowInGroup], kinds[c]) {
                case (.null, _):
                    spans[c] = nil
                    continue
                case (.value(let index), .scalar(let kind)):
                    try appendValue(c, index, kind)
                case (.value(let index), .array(let kind)):
                    // An array written as its PostgreSQL text (--special-values-as-text).
                    try withBytes(data[c].values, index) { text in
                        try TextValue.appendArray(kind, text, labels: schema.columns[c].enumLabels,
                                                  elementOID: schema.columns[c].elementOID ?? 0, to: row)
                    }
                case (.list(let elements), .array(let kind)):
                    var builder = ArrayBuilder(row, elementOID: schema.columns[c].elementOID ?? 0)
                    try builder.shape.open()
                    for element in elements {
                        if let index = element { try builder.element { try self.appendValue(c, index, kind) } } else { try builder.nullElement() }
                    }
                    _ = try builder.shape.close()
                    if dimsColumns[c] >= 0, case .value(let shape) = cells[dimsColumns[c]][rowInGroup] {
                        try withBytes(data[dimsColumns[c]].values, shape) { try builder.finish(dims: $0) }
                    } else {
                        try builder.finish()
                    }
                case (.list, .scalar):
                    throw ValueError("a LIST in the file for a \(schema.columns[c].type) column")
                }
            } catch let error as ValueError {
                throw FormatError("\"\(file.path)\": row group \(group), row \(rowInGroup + 1), column \"\(schema.columns[c].name)\": \(error.reason)")
            }
            spans[c] = start..<row.count
        }
        rowInGroup += 1
        return true
    }

    @inline(__always)
    public func field(_ index: Int) -> UnsafeRawBufferPointer? {
        spans[index].map { UnsafeRawBufferPointer(start: row.base + $0.lowerBound, count: $0.count) }
    }

    private func withBytes<R>(_ values: ColumnValues, _ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard case .bytes(let arrays) = values else { throw ValueError("expected a byte array in the file") }
        return try arrays.data.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[arrays.offsets[index]..<arrays.offsets[index + 1]]))
        }
    }

    /// Appends value `index` of column `c` as the binary form of `kind`.
    private func appendValue(_ c: Int, _ index: Int, _ kind: ScalarKind) throws {
        let type = file.columns[c].type
        let mismatch = mismatches[c]
        switch data[c].values {
        case .boolean(let values):
            guard kind == .bool else { throw mismatch }
            row.append(values[index] ? 1 : 0)
        case .int32(let values):
            try appendInteger(Int64(values[index]), type: type, kind: kind, mismatch: mismatch)
        case .int64(let values):
            try appendInteger(values[index], type: type, kind: kind, mismatch: mismatch)
        case .float(let values):
            guard kind == .float4 else { throw mismatch }
            row.appendBigEndian(values[index].bitPattern)
        case .double(let values):
            guard kind == .float8 else { throw mismatch }
            row.appendBigEndian(values[index].bitPattern)
        case .bytes:
            try withBytes(data[c].values, index) { bytes in
                if case .decimal(_, let scale)? = type.logical {
                    guard kind == .numeric else { throw mismatch }
                    try appendNumericText(DecimalText.format(bigEndian: bytes, scale: scale))
                    return
                }
                switch kind {
                case .bytea, .text, .varchar, .bpchar, .name, .json: row.append(bytes)
                case .jsonb:
                    row.append(1)
                    row.append(bytes)
                case .uuid where type.logical == .uuid:
                    guard bytes.count == 16 else { throw mismatch }
                    row.append(bytes)
                default:
                    try TextParse.append(kind, bytes, labels: schema.columns[c].enumLabels, to: row)
                }
            }
        }
    }

    private func appendNumericText(_ text: String) throws {
        var text = text
        try text.withUTF8 { try NumericParse.append(UnsafeRawBufferPointer($0), to: row) }
    }

    /// An INT32/INT64 value by its logical type: integer, decimal, date, timestamp or time.
    private func appendInteger(_ x: Int64, type: ColumnType, kind: ScalarKind, mismatch: ValueError) throws {
        switch type.logical {
        case .decimal(_, let scale)?:
            guard kind == .numeric else { throw mismatch }
            try appendNumericText(DecimalText.format(unscaled: x, scale: scale))
        case .date?:
            guard kind == .date else { throw mismatch }
            // DuckDB's infinities, ±(2^31 − 1), are PostgreSQL's (docs/types.md).
            if x == Int64(Int32.max) { return row.appendBigEndian(Int32.max) }
            if x == -Int64(Int32.max) { return row.appendBigEndian(Int32.min) }
            guard let days = Int32(exactly: x - Int64(unixToPostgresDays)), days != .max, days != .min else { throw ValueError("date out of range") }
            row.appendBigEndian(days)
        case .timestamp(let unit, _)?:
            guard kind == .timestamp || kind == .timestamptz else { throw mismatch }
            // ±(2^63 − 1) in any unit is ±infinity: mapped before the unit is converted.
            if x == .max { return row.appendBigEndian(Int64.max) }
            if x == -.max { return row.appendBigEndian(Int64.min) }
            guard let unix = Self.micros(x, unit) else { throw ValueError("timestamp out of range") }
            let (micros, overflow) = unix.subtractingReportingOverflow(unixToPostgresMicros)
            guard !overflow, micros != .max, micros != .min else { throw ValueError("timestamp out of range") }
            row.appendBigEndian(micros)
        case .time(let unit, _)?:
            guard kind == .time else { throw mismatch }
            guard let micros = Self.micros(x, unit) else { throw ValueError("time out of range") }
            row.appendBigEndian(micros)
        case .integer(64, false)?:
            let value = UInt64(bitPattern: x)
            switch kind {
            case .numeric: try appendNumericText(String(value))
            case .int8 where value <= UInt64(Int64.max): row.appendBigEndian(x)
            default: throw ValueError("\(value) does not fit \(kind.rawValue)")
            }
        case .integer(let bits, false)? where bits <= 32:
            try appendSigned(Int64(UInt32(truncatingIfNeeded: x)), kind: kind, mismatch: mismatch)
        case .integer?, nil:
            try appendSigned(x, kind: kind, mismatch: mismatch)
        default:
            throw mismatch
        }
    }

    private func appendSigned(_ x: Int64, kind: ScalarKind, mismatch: ValueError) throws {
        switch kind {
        case .int2:
            guard let v = Int16(exactly: x) else { throw ValueError("\(x) does not fit smallint") }
            row.appendBigEndian(v)
        case .int4:
            guard let v = Int32(exactly: x) else { throw ValueError("\(x) does not fit integer") }
            row.appendBigEndian(v)
        case .int8: row.appendBigEndian(x)
        case .numeric: try appendNumericText(String(x))
        default: throw mismatch
        }
    }

    /// Microseconds from a value in `unit` (nil when they overflow 64 bits); nanoseconds round half
    /// to even, as PostgreSQL rounds fractions.
    private static func micros(_ x: Int64, _ unit: TimeUnit) -> Int64? {
        switch unit {
        case .millis:
            let (product, overflow) = x.multipliedReportingOverflow(by: 1000)
            return overflow ? nil : product
        case .micros: return x
        case .nanos:
            var q = x / 1000, r = x % 1000
            if r < 0 { q -= 1; r += 1000 }
            if r > 500 || (r == 500 && q & 1 == 1) { q += 1 }
            return q
        }
    }
}
