#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a Parquet file from a path: footer, schema and column chunks (random access through mmap).
public final class ParquetReader {
    /// The path, for messages.
    public let path: String
    /// The decoded footer.
    public let metadata: FileMetaData
    /// The top-level columns.
    public let columns: [ColumnDescriptor]
    private let base: UnsafeRawPointer?
    private let size: Int
    /// Where the footer starts: column chunks must end before it.
    private let footerStart: Int
    private let decompressor = PageDecompressor()

    /// Opens `path` and decodes its footer, refusing files it cannot read with a message naming what and where.
    public convenience init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ParquetError("could not open \"\(path)\": \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        try self.init(descriptor: fd, name: path)
    }

    /// Maps the open regular file `fd` (the caller keeps and closes it) and decodes its footer; `name` is used in messages.
    public init(descriptor fd: Int32, name path: String) throws {
        self.path = path
        let name = "\"\(path)\""
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ParquetError("could not stat \(name): \(String(cString: strerror(errno)))") }
        size = Int(st.st_size)
        guard size >= 12 else {
            throw ParquetError("\(name) is not a Parquet file: \(size) bytes is too short (truncated?)")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw ParquetError("could not map \(name): \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapped)
        let bytes = UnsafeRawBufferPointer(start: mapped, count: size)
        func magic(at offset: Int) -> String { String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self) }
        do {
            guard magic(at: 0) == "PAR1" else {
                throw ParquetError("\(name) is not a Parquet file: bad magic at byte 0 (expected PAR1)")
            }
            let tail = magic(at: size - 4)
            if tail == "PARE" { throw ParquetError("\(name) has an encrypted footer, which is not supported") }
            guard tail == "PAR1" else {
                throw ParquetError("\(name): bad magic at byte \(size - 4) (expected PAR1): the file is truncated or not Parquet")
            }
            let footerLength = Int(bytes.loadUnaligned(fromByteOffset: size - 8, as: UInt32.self).littleEndian)
            guard footerLength > 0, footerLength <= size - 12 else {
                throw ParquetError("\(name): corrupt footer: length \(footerLength) at byte \(size - 8) does not fit in a \(size)-byte file")
            }
            footerStart = size - 8 - footerLength
            var reader = ThriftReader(UnsafeRawBufferPointer(rebasing: bytes[footerStart..<(size - 8)]))
            do {
                metadata = try reader.readFileMetaData()
            } catch {
                throw ParquetError("\(name): corrupt footer at byte \(footerStart + error.offset): \(error.message)")
            }
            if metadata.encrypted { throw ParquetError("\(name) is encrypted, which is not supported") }
            columns = try SchemaResolver.resolve(metadata.schema, file: name)
            var total: Int64 = 0
            for (g, group) in metadata.rowGroups.enumerated() {
                guard group.columns.count == columns.count else {
                    throw ParquetError("\(name): corrupt footer: row group \(g) has \(group.columns.count) column chunks for \(columns.count) columns")
                }
                guard group.numRows >= 0 else { throw ParquetError("\(name): corrupt footer: row group \(g) has \(group.numRows) rows") }
                total += group.numRows
            }
            guard total == metadata.numRows else {
                throw ParquetError("\(name): corrupt footer: row groups hold \(total) rows, the file says \(metadata.numRows)")
            }
        } catch {
            munmap(mapped, size)
            throw error
        }
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    /// The footer's key-value metadata value for `key`.
    public func metadataValue(_ key: String) -> String? {
        metadata.keyValueMetadata.first { $0.key == key }?.value
    }

    /// The number of row groups.
    public var rowGroupCount: Int { metadata.rowGroups.count }

    /// The number of rows in row group `g`.
    public func rowCount(rowGroup g: Int) -> Int { Int(metadata.rowGroups[g].numRows) }

    /// Decodes column `c` of row group `g`.
    public func read(rowGroup g: Int, column c: Int) throws -> ColumnData {
        let descriptor = columns[c]
        let chunk = metadata.rowGroups[g].columns[c]
        let context = "\"\(path)\": column \"\(descriptor.name)\", row group \(g)"
        guard chunk.filePath == nil else { throw ParquetError("\(context): the column chunk lives in another file, which is not supported") }
        guard let meta = chunk.metaData else { throw ParquetError("\(context): corrupt footer: no column metadata") }
        if let code = meta.unknownCodecCode { throw ParquetError("\(context): unknown compression codec \(code)") }
        guard [.uncompressed, .snappy, .gzip, .zstd, .lz4Raw].contains(meta.codec) else {
            throw ParquetError("\(context): \(meta.codec) compression is not supported")
        }
        guard meta.type == descriptor.type.physical else {
            throw ParquetError("\(context): corrupt footer: chunk type \(meta.type) differs from the schema's \(descriptor.type.physical)")
        }
        var start = Int(meta.dataPageOffset)
        if let d = meta.dictionaryPageOffset, d > 0, d < start { start = Int(d) }
        let length = Int(meta.totalCompressedSize)
        guard start >= 4, length >= 0, start <= footerStart, length <= footerStart - start else {
            throw ParquetError("\(context): the column chunk at byte \(start) (\(length) bytes) runs past the data (the file is truncated or corrupt)")
        }
        var decoder = ChunkDecoder(descriptor: descriptor, codec: meta.codec, expectedLevels: Int(meta.numValues),
                                   decompressor: decompressor, context: context)
        try decoder.decode(UnsafeRawBufferPointer(start: base! + start, count: length), fileOffset: start)
        let data = decoder.result()
        let rows = descriptor.maxRepetition == 0 ? max(data.definitionLevels.count, data.values.count)
            : data.repetitionLevels.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
        guard rows == rowCount(rowGroup: g) else {
            throw ParquetError("\(context): holds \(rows) rows, the row group says \(rowCount(rowGroup: g))")
        }
        return data
    }
}
