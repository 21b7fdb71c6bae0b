/// Settings of a Parquet writer.
public struct ParquetWriterOptions: Sendable {
    /// Page compression for every column chunk: UNCOMPRESSED, ZSTD, GZIP or LZ4_RAW.
    public var codec: CompressionCodec = .zstd
    /// Codec level (zstd 1–22, gzip 1–9; LZ4_RAW and UNCOMPRESSED ignore it).
    public var level: Int = 3
    /// A row group closes once its buffered uncompressed bytes reach this bound.
    public var rowGroupBytes: Int = 32 << 20
    /// A row group closes at this many rows, whatever its size.
    public var rowGroupRows: Int = 1 << 20
    /// A data page closes once its values reach this many bytes…
    public var pageBytes: Int = 1 << 20
    /// …or this many values.
    public var pageRows: Int = 20_000
    /// Dictionary-encode columns (not BOOLEAN); a column chunk falls back to PLAIN when its dictionary exceeds
    /// `dictionaryBytes`, when its first 1 024 values are all distinct, or when it holds more than half the values.
    public var dictionary = true
    /// The dictionary size limit per column chunk.
    public var dictionaryBytes: Int = 1 << 20
    /// Key-value pairs for the footer.
    public var keyValueMetadata: [KeyValue] = []
    /// The footer's created_by.
    public var createdBy = "pgarchive"

    /// Defaults: ZSTD level 3, 32 MiB row groups, 1 MiB pages, dictionaries on.
    public init() {}
}

/// Writes a Parquet file row by row, one row group in memory at a time.
///
/// For each row, give every column exactly one value — `append`, `appendNull`, or for a LIST
/// column `beginList`, its elements, `endList` — then call `endRow()`. `finish()` writes the
/// footer. Appending a value of the wrong physical type is a programming error and traps.
/// All columns are OPTIONAL; list elements are nullable.
public final class ParquetWriter {
    private let columns: [ColumnWriter]
    /// Unretained references to `columns` (which keeps them alive), so the per-value path does no reference counting.
    private let references: UnsafeMutableBufferPointer<Unmanaged<ColumnWriter>>
    private let specs: [ColumnSpec]
    private let options: ParquetWriterOptions
    private let output: (UnsafeRawBufferPointer) throws -> Void
    private let scratch: PageScratch
    private let dictionaryPage = ByteBuffer(capacity: 64 * 1024)
    private var offset: Int64 = 0
    private var rowGroups: [RowGroup] = []
    /// Row counters behind a `let` pointer: `endRow` runs once per row and must not pay for
    /// dynamic exclusivity checks on class stored properties.
    private let counters: UnsafeMutablePointer<(rowsInGroup: Int, rowCount: Int64)> = .allocate(capacity: 1)
    private var rowsInGroup: Int {
        get { counters.pointee.rowsInGroup }
        set { counters.pointee.rowsInGroup = newValue }
    }
    /// Rows written so far (including the row group being filled).
    public var rowCount: Int64 { counters.pointee.rowCount }
    private var finished = false

    /// A writer for `columns` that hands the file's bytes, in order, to `output`.
    public init(columns: [ColumnSpec], options: ParquetWriterOptions = ParquetWriterOptions(),
                output: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !columns.isEmpty else { throw ParquetError("a Parquet file needs at least one column") }
        for c in columns {
            if c.type.physical == .fixedLenByteArray, (c.type.typeLength ?? 0) <= 0 {
                throw ParquetError("column \"\(c.name)\": FIXED_LEN_BYTE_ARRAY needs a positive length")
            }
            if c.type.physical == .int96 { throw ParquetError("column \"\(c.name)\": the writer does not write INT96") }
        }
        guard options.rowGroupBytes > 0, options.rowGroupRows > 0, options.pageBytes > 0, options.pageRows > 0 else {
            throw ParquetError("row-group and page bounds must be positive")
        }
        self.specs = columns
        self.options = options
        self.output = output
        let scratch = PageScratch(compressor: try PageCompressor(codec: options.codec, level: options.level))
        self.scratch = scratch
        let writers = columns.map { ColumnWriter(spec: $0, options: options, scratch: scratch) }
        self.columns = writers
        references = .allocate(capacity: writers.count)
        _ = references.initialize(from: writers.map { Unmanaged.passUnretained($0) })
        counters.initialize(to: (0, 0))
        try write(magic)
    }

    deinit {
        references.deallocate()
        counters.deallocate()
    }

    private let magic: [UInt8] = Array("PAR1".utf8)

    /// Runs `body` on column `i` without retaining it.
    @inline(__always)
    private func with<R>(_ i: Int, _ body: (ColumnWriter) -> R) -> R {
        references[i]._withUnsafeGuaranteedRef(body)
    }

    private func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try output($0) }
        offset += Int64(bytes.count)
    }

    private func write(_ buffer: ByteBuffer) throws {
        try output(buffer.bytes)
        offset += Int64(buffer.count)
    }

    // MARK: Values

    /// A null in `column` (a null list for a LIST column outside `beginList`, a null element inside).
    @inline(__always) public func appendNull(_ column: Int) { with(column) { $0.appendNull() } }
    /// A BOOLEAN value.
    @inline(__always) public func append(_ column: Int, _ value: Bool) { with(column) { $0.append(value) } }
    /// An INT32 value (INT(16/32), DATE, DECIMAL on INT32 as the unscaled value).
    @inline(__always) public func append(_ column: Int, _ value: Int32) { with(column) { $0.append(value) } }
    /// An INT64 value (INT(64), TIMESTAMP, TIME, DECIMAL on INT64 as the unscaled value).
    @inline(__always) public func append(_ column: Int, _ value: Int64) { with(column) { $0.append(value) } }
    /// A FLOAT value.
    @inline(__always) public func append(_ column: Int, _ value: Float) { with(column) { $0.append(value) } }
    /// A DOUBLE value.
    @inline(__always) public func append(_ column: Int, _ value: Double) { with(column) { $0.append(value) } }
    /// A BYTE_ARRAY value, or a FIXED_LEN_BYTE_ARRAY value of the declared width (UUID bytes, big-endian decimal).
    @inline(__always) public func append(_ column: Int, bytes: UnsafeRawBufferPointer) { with(column) { $0.append(bytes: bytes) } }

    /// A STRING or JSON value from a Swift string.
    public func append(_ column: Int, string: String) {
        var s = string
        s.withUTF8 { columns[column].append(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// A decimal on FIXED_LEN_BYTE_ARRAY from an unscaled value that fits in 64 bits (sign-extended to the width).
    public func appendDecimal(_ column: Int, unscaled: Int64) {
        let c = columns[column]
        switch c.physical {
        case .int32: c.append(Int32(truncatingIfNeeded: unscaled))
        case .int64: c.append(unscaled)
        default:
            withUnsafeTemporaryAllocation(byteCount: c.width, alignment: 8) { buf in
                let fill: UInt8 = unscaled < 0 ? 0xFF : 0
                for i in 0..<c.width {
                    let shift = (c.width - 1 - i) * 8
                    buf[i] = shift >= 64 ? fill : UInt8(truncatingIfNeeded: unscaled >> Int64(shift))
                }
                c.append(bytes: UnsafeRawBufferPointer(buf))
            }
        }
    }

    /// Opens the list of the current row in a LIST column; its elements follow, then `endList`.
    public func beginList(_ column: Int) { columns[column].beginList() }
    /// Closes the current row's list (no elements between begin and end is an empty list).
    public func endList(_ column: Int) { columns[column].endList() }

    /// Ends a row: every column must have received exactly one value. Closes the row group at its bounds.
    public func endRow() throws {
        let counters = self.counters
        counters.pointee.rowsInGroup += 1
        counters.pointee.rowCount += 1
        let expected = counters.pointee.rowsInGroup
        // The row count of every column on each row.
        var complete = true
        for i in 0..<references.count {
            complete = complete && with(i) { $0.rows } == expected
        }
        if !complete, let c = columns.first(where: { $0.rows != expected }) {
            throw ParquetError("column \"\(c.spec.name)\" has \(c.rows) values in a row group of \(expected) rows (row \(rowCount))")
        }
        if expected >= options.rowGroupRows {
            try flushRowGroup()
        } else if expected & 15 == 0 {
            // The byte bound is checked every 16 rows; compression failures with it.
            if let failure = scratch.failure { throw failure }
            var bytes = 0
            for i in 0..<references.count { bytes += with(i) { $0.bufferedBytes } }
            if bytes >= options.rowGroupBytes { try flushRowGroup() }
        }
    }

    // MARK: Row groups and footer

    /// Writes the buffered rows as a row group (no-op when empty).
    /// The uncompressed size of every column chunk written so far (pages before compression,
    /// dictionaries included): what the file's bytes encode, for a real compression ratio.
    public var uncompressedBytes: Int64 { rowGroups.reduce(0) { $0 + $1.totalByteSize } }

    public func flushRowGroup() throws {
        guard rowsInGroup > 0 else { return }
        let groupStart = offset
        var chunks: [ColumnChunk] = []
        var totalUncompressed: Int64 = 0
        for c in columns {
            let summary = c.finishChunk(dictionaryPage: dictionaryPage)
            if let failure = scratch.failure { throw failure }
            let chunkStart = offset
            var dictionaryOffset: Int64?
            var uncompressed = c.chunkUncompressed
            if let page = summary.dictionaryPage {
                dictionaryOffset = offset
                try write(page)
                uncompressed += summary.dictionaryUncompressed
            }
            let dataOffset = offset
            try write(c.chunk)
            var path = [c.spec.name]
            if c.spec.isList { path += ["list", "element"] }
            let meta = ColumnMetaData(type: c.physical, encodings: summary.encodings, pathInSchema: path, codec: options.codec,
                                      numValues: Int64(summary.numValues), totalUncompressedSize: Int64(uncompressed),
                                      totalCompressedSize: offset - chunkStart, dataPageOffset: dataOffset,
                                      dictionaryPageOffset: dictionaryOffset, statistics: summary.statistics)
            chunks.append(ColumnChunk(fileOffset: chunkStart, metaData: meta))
            totalUncompressed += Int64(uncompressed)
            c.resetChunk()
        }
        rowGroups.append(RowGroup(columns: chunks, totalByteSize: totalUncompressed, numRows: Int64(rowsInGroup), fileOffset: groupStart,
                                  totalCompressedSize: offset - groupStart, ordinal: Int16(truncatingIfNeeded: rowGroups.count)))
        rowsInGroup = 0
    }

    /// The flattened schema: root, then each column (a LIST as group, repeated group, element).
    private var schemaElements: [SchemaElement] {
        var elements = [SchemaElement(name: "schema", numChildren: Int32(specs.count))]
        for spec in specs {
            var leaf = SchemaElement(name: spec.name)
            leaf.type = spec.type.physical
            leaf.typeLength = spec.type.typeLength.map { Int32($0) }
            leaf.repetition = .optional
            leaf.logicalType = spec.type.logical
            leaf.convertedType = spec.type.convertedType
            if case .decimal(let p, let s) = spec.type.logical {
                leaf.precision = Int32(p)
                leaf.scale = Int32(s)
            }
            if spec.isList {
                var group = SchemaElement(name: spec.name)
                group.repetition = .optional
                group.numChildren = 1
                group.logicalType = .list
                group.convertedType = 3
                var repeated = SchemaElement(name: "list")
                repeated.repetition = .repeated
                repeated.numChildren = 1
                leaf.name = "element"
                elements += [group, repeated, leaf]
            } else {
                elements.append(leaf)
            }
        }
        return elements
    }

    /// Writes the last row group and the footer. The writer cannot be used afterwards.
    @discardableResult
    public func finish() throws -> FileMetaData {
        precondition(!finished, "finish called twice")
        finished = true
        try flushRowGroup()
        let meta = FileMetaData(version: 2, schema: schemaElements, numRows: rowCount, rowGroups: rowGroups,
                                keyValueMetadata: options.keyValueMetadata, createdBy: options.createdBy,
                                columnOrderCount: specs.count, encrypted: false)
        let footer = ByteBuffer(capacity: 4096)
        var w = ThriftWriter(footer)
        w.write(fileMetaData: meta)
        let length = footer.count
        footer.appendLittleEndian(UInt32(length))
        footer.append(magic)
        try write(footer)
        return meta
    }
}

extension SchemaElement {
    init(name: String, numChildren: Int32? = nil) {
        self.init(type: nil, typeLength: nil, repetition: nil, name: name, numChildren: numChildren, convertedType: nil,
                  scale: nil, precision: nil, logicalType: nil, unknownTypeCode: nil)
    }
}
