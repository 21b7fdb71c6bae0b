/// Parquet's physical storage types (`Type` in parquet.thrift).
public enum PhysicalType: Int32, Sendable, CustomStringConvertible {
    case boolean = 0, int32 = 1, int64 = 2, int96 = 3, float = 4, double = 5, byteArray = 6, fixedLenByteArray = 7

    public var description: String {
        switch self {
        case .boolean: "BOOLEAN"
        case .int32: "INT32"
        case .int64: "INT64"
        case .int96: "INT96"
        case .float: "FLOAT"
        case .double: "DOUBLE"
        case .byteArray: "BYTE_ARRAY"
        case .fixedLenByteArray: "FIXED_LEN_BYTE_ARRAY"
        }
    }
}

/// The unit of a TIME or TIMESTAMP logical type.
public enum TimeUnit: Sendable, Equatable {
    case millis, micros, nanos
}

/// The logical types this library knows (`LogicalType` in parquet.thrift, plus legacy converted types).
public enum LogicalType: Sendable, Equatable, CustomStringConvertible {
    case string
    case json
    case uuid
    case date
    case enumeration
    case decimal(precision: Int, scale: Int)
    case timestamp(unit: TimeUnit, adjustedToUTC: Bool)
    case time(unit: TimeUnit, adjustedToUTC: Bool)
    case integer(bitWidth: Int, signed: Bool)
    case list
    case map
    /// A logical type this library does not interpret, by its field id in the LogicalType union.
    case other(Int16)

    public var description: String {
        switch self {
        case .string: "STRING"
        case .json: "JSON"
        case .uuid: "UUID"
        case .date: "DATE"
        case .enumeration: "ENUM"
        case .decimal(let p, let s): "DECIMAL(\(p),\(s))"
        case .timestamp(let u, let a): "TIMESTAMP(\(u), adjustedToUTC=\(a))"
        case .time(let u, let a): "TIME(\(u), adjustedToUTC=\(a))"
        case .integer(let w, let s): "INT(\(w),\(s ? "signed" : "unsigned"))"
        case .list: "LIST"
        case .map: "MAP"
        case .other(let id): "logical type #\(id)"
        }
    }
}

/// Field repetition in the schema.
public enum Repetition: Int32, Sendable {
    case required = 0, optional = 1, repeated = 2
}

/// Value and level encodings (`Encoding` in parquet.thrift).
public enum Encoding: Int32, Sendable, CustomStringConvertible {
    case plain = 0, plainDictionary = 2, rle = 3, bitPacked = 4, deltaBinaryPacked = 5
    case deltaLengthByteArray = 6, deltaByteArray = 7, rleDictionary = 8, byteStreamSplit = 9, alp = 10

    public var description: String {
        switch self {
        case .plain: "PLAIN"
        case .plainDictionary: "PLAIN_DICTIONARY"
        case .rle: "RLE"
        case .bitPacked: "BIT_PACKED"
        case .deltaBinaryPacked: "DELTA_BINARY_PACKED"
        case .deltaLengthByteArray: "DELTA_LENGTH_BYTE_ARRAY"
        case .deltaByteArray: "DELTA_BYTE_ARRAY"
        case .rleDictionary: "RLE_DICTIONARY"
        case .byteStreamSplit: "BYTE_STREAM_SPLIT"
        case .alp: "ALP"
        }
    }
}

/// Page compression codecs (`CompressionCodec` in parquet.thrift).
public enum CompressionCodec: Int32, Sendable, CustomStringConvertible {
    case uncompressed = 0, snappy = 1, gzip = 2, lzo = 3, brotli = 4, lz4 = 5, zstd = 6, lz4Raw = 7

    public var description: String {
        switch self {
        case .uncompressed: "UNCOMPRESSED"
        case .snappy: "SNAPPY"
        case .gzip: "GZIP"
        case .lzo: "LZO"
        case .brotli: "BROTLI"
        case .lz4: "LZ4"
        case .zstd: "ZSTD"
        case .lz4Raw: "LZ4_RAW"
        }
    }
}

/// Page kinds (`PageType` in parquet.thrift).
public enum PageType: Int32, Sendable {
    case dataPage = 0, indexPage = 1, dictionaryPage = 2, dataPageV2 = 3
}

/// One node of the flattened schema tree (`SchemaElement`).
public struct SchemaElement: Sendable {
    public var type: PhysicalType?
    public var typeLength: Int32?
    public var repetition: Repetition?
    public var name: String
    public var numChildren: Int32?
    public var convertedType: Int32?
    public var scale: Int32?
    public var precision: Int32?
    public var logicalType: LogicalType?
    /// The raw physical type code when it is not one this library knows.
    public var unknownTypeCode: Int32?
}

/// Column statistics (`Statistics`); min/max are PLAIN-encoded values.
public struct Statistics: Sendable {
    public var nullCount: Int64?
    public var distinctCount: Int64?
    public var minValue: [UInt8]?
    public var maxValue: [UInt8]?
    /// The deprecated signed-order min/max (fields 1 and 2).
    public var legacyMin: [UInt8]?
    public var legacyMax: [UInt8]?
}

/// A footer key-value pair (`KeyValue`).
public struct KeyValue: Sendable, Equatable {
    public var key: String
    public var value: String?

    /// A pair.
    public init(key: String, value: String?) {
        self.key = key
        self.value = value
    }
}

/// Metadata of one column chunk (`ColumnMetaData`).
public struct ColumnMetaData: Sendable {
    public var type: PhysicalType
    public var encodings: [Int32]
    public var pathInSchema: [String]
    public var codec: CompressionCodec
    /// The raw codec code when it is not one this library knows.
    public var unknownCodecCode: Int32?
    public var numValues: Int64
    public var totalUncompressedSize: Int64
    public var totalCompressedSize: Int64
    public var dataPageOffset: Int64
    public var dictionaryPageOffset: Int64?
    public var statistics: Statistics?
}

/// One column of a row group (`ColumnChunk`).
public struct ColumnChunk: Sendable {
    public var filePath: String?
    public var fileOffset: Int64
    public var metaData: ColumnMetaData?
}

/// A row group (`RowGroup`).
public struct RowGroup: Sendable {
    public var columns: [ColumnChunk]
    public var totalByteSize: Int64
    public var numRows: Int64
    public var fileOffset: Int64?
    public var totalCompressedSize: Int64?
    public var ordinal: Int16?
}

/// The file footer (`FileMetaData`).
public struct FileMetaData: Sendable {
    public var version: Int32
    public var schema: [SchemaElement]
    public var numRows: Int64
    public var rowGroups: [RowGroup]
    public var keyValueMetadata: [KeyValue]
    public var createdBy: String?
    /// How many TypeDefinedOrder column orders were listed (one per leaf when present).
    public var columnOrderCount: Int
    /// Whether the footer announces encryption (which this library does not read).
    public var encrypted: Bool
}

/// Header of a data page v1 (`DataPageHeader`).
public struct DataPageHeader: Sendable {
    public var numValues: Int32
    public var encoding: Int32
    public var definitionLevelEncoding: Int32
    public var repetitionLevelEncoding: Int32
}

/// Header of a data page v2 (`DataPageHeaderV2`).
public struct DataPageHeaderV2: Sendable {
    public var numValues: Int32
    public var numNulls: Int32
    public var numRows: Int32
    public var encoding: Int32
    public var definitionLevelsByteLength: Int32
    public var repetitionLevelsByteLength: Int32
    public var isCompressed: Bool
}

/// Header of a dictionary page (`DictionaryPageHeader`).
public struct DictionaryPageHeader: Sendable {
    public var numValues: Int32
    public var encoding: Int32
}

/// A page header (`PageHeader`).
public struct PageHeader: Sendable {
    public var type: Int32
    public var uncompressedPageSize: Int32
    public var compressedPageSize: Int32
    /// CRC-32 of the compressed page body, when written.
    public var crc: Int32? = nil
    public var dataPage: DataPageHeader?
    public var dictionaryPage: DictionaryPageHeader?
    public var dataPageV2: DataPageHeaderV2?
}
