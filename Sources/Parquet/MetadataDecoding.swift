// Thrift compact decoding of the footer and page headers (field ids from parquet.thrift).

extension ThriftReader {
    mutating func readLogicalType() throws(ThriftError) -> LogicalType {
        var result = LogicalType.other(0)
        try readStruct { (r, id, type) throws(ThriftError) in
            guard type == .structure else { return try r.skip(type) }
            switch id {
            case 1: result = .string; try r.skip(type)
            case 2: result = .map; try r.skip(type)
            case 3: result = .list; try r.skip(type)
            case 4: result = .enumeration; try r.skip(type)
            case 5:
                var p: Int32 = 0, s: Int32 = 0
                try r.readStruct { (r, id, type) throws(ThriftError) in
                    switch id {
                    case 1: s = try r.i32(type)
                    case 2: p = try r.i32(type)
                    default: try r.skip(type)
                    }
                }
                result = .decimal(precision: Int(p), scale: Int(s))
            case 6: result = .date; try r.skip(type)
            case 7, 8:
                var adjusted = false
                var unit = TimeUnit.micros
                try r.readStruct { (r, fid, type) throws(ThriftError) in
                    switch fid {
                    case 1: adjusted = try r.bool(type)
                    case 2:
                        try r.readStruct { (r, uid, type) throws(ThriftError) in
                            unit = uid == 1 ? .millis : uid == 3 ? .nanos : .micros
                            try r.skip(type)
                        }
                    default: try r.skip(type)
                    }
                }
                result = id == 7 ? .time(unit: unit, adjustedToUTC: adjusted) : .timestamp(unit: unit, adjustedToUTC: adjusted)
            case 10:
                var width: Int32 = 0
                var signed = true
                try r.readStruct { (r, fid, type) throws(ThriftError) in
                    switch fid {
                    case 1: width = try r.i32(type)
                    case 2: signed = try r.bool(type)
                    default: try r.skip(type)
                    }
                }
                result = .integer(bitWidth: Int(width), signed: signed)
            case 12: result = .json; try r.skip(type)
            case 14: result = .uuid; try r.skip(type)
            default: result = .other(id); try r.skip(type)
            }
        }
        return result
    }

    mutating func readStatistics() throws(ThriftError) -> Statistics {
        var s = Statistics()
        try readStruct { (r, id, type) throws(ThriftError) in
            switch id {
            case 1: s.legacyMax = try r.binary()
            case 2: s.legacyMin = try r.binary()
            case 3: s.nullCount = try r.i64(type)
            case 4: s.distinctCount = try r.i64(type)
            case 5: s.maxValue = try r.binary()
            case 6: s.minValue = try r.binary()
            default: try r.skip(type)
            }
        }
        return s
    }

    mutating func readSchemaElement() throws(ThriftError) -> SchemaElement {
        var e = SchemaElement(name: "")
        try readStruct("SchemaElement", required: [4]) { (r, id, type) throws(ThriftError) in
            switch id {
            case 1:
                let code = try r.i32(type)
                e.type = PhysicalType(rawValue: code)
                if e.type == nil { e.unknownTypeCode = code }
            case 2: e.typeLength = try r.i32(type)
            case 3: e.repetition = Repetition(rawValue: try r.i32(type))
            case 4: e.name = try r.string()
            case 5: e.numChildren = try r.i32(type)
            case 6: e.convertedType = try r.i32(type)
            case 7: e.scale = try r.i32(type)
            case 8: e.precision = try r.i32(type)
            case 10: e.logicalType = try r.readLogicalType()
            default: try r.skip(type)
            }
        }
        return e
    }

    mutating func readColumnMetaData() throws(ThriftError) -> ColumnMetaData {
        var m = ColumnMetaData(type: .boolean, encodings: [], pathInSchema: [], codec: .uncompressed, numValues: 0,
                               totalUncompressedSize: 0, totalCompressedSize: 0, dataPageOffset: -1)
        try readStruct("ColumnMetaData", required: [1, 2, 3, 4, 5, 6, 7, 9]) { (r, id, type) throws(ThriftError) in
            switch id {
            case 1:
                let code = try r.i32(type)
                guard let t = PhysicalType(rawValue: code) else { throw ThriftError(message: "unknown physical type \(code)", offset: r.position) }
                m.type = t
            case 2: m.encodings = try r.readI32List()
            case 3: m.pathInSchema = try r.readStringList()
            case 4:
                let code = try r.i32(type)
                if let c = CompressionCodec(rawValue: code) { m.codec = c } else { m.unknownCodecCode = code }
            case 5: m.numValues = try r.i64(type)
            case 6: m.totalUncompressedSize = try r.i64(type)
            case 7: m.totalCompressedSize = try r.i64(type)
            case 9: m.dataPageOffset = try r.i64(type)
            case 11: m.dictionaryPageOffset = try r.i64(type)
            case 12: m.statistics = try r.readStatistics()
            default: try r.skip(type)
            }
        }
        return m
    }

    mutating func readRowGroup() throws(ThriftError) -> RowGroup {
        var g = RowGroup(columns: [], totalByteSize: 0, numRows: 0)
        try readStruct("RowGroup", required: [1, 2, 3]) { (r, id, type) throws(ThriftError) in
            switch id {
            case 1:
                g.columns = try r.readList { (r) throws(ThriftError) in
                    var c = ColumnChunk(fileOffset: 0)
                    try r.readStruct { (r, id, type) throws(ThriftError) in
                        switch id {
                        case 1: c.filePath = try r.string()
                        case 2: c.fileOffset = try r.i64(type)
                        case 3: c.metaData = try r.readColumnMetaData()
                        default: try r.skip(type)
                        }
                    }
                    return c
                }
            case 2: g.totalByteSize = try r.i64(type)
            case 3: g.numRows = try r.i64(type)
            case 5: g.fileOffset = try r.i64(type)
            case 6: g.totalCompressedSize = try r.i64(type)
            case 7: g.ordinal = Int16(truncatingIfNeeded: try r.i32(type))
            default: try r.skip(type)
            }
        }
        return g
    }

    /// Decodes the footer.
    mutating func readFileMetaData() throws(ThriftError) -> FileMetaData {
        var m = FileMetaData(version: 0, schema: [], numRows: 0, rowGroups: [], keyValueMetadata: [], createdBy: nil,
                             columnOrderCount: 0, encrypted: false)
        try readStruct("FileMetaData", required: [1, 2, 3, 4]) { (r, id, type) throws(ThriftError) in
            switch id {
            case 1: m.version = try r.i32(type)
            case 2: m.schema = try r.readList { (r) throws(ThriftError) in try r.readSchemaElement() }
            case 3: m.numRows = try r.i64(type)
            case 4: m.rowGroups = try r.readList { (r) throws(ThriftError) in try r.readRowGroup() }
            case 5:
                m.keyValueMetadata = try r.readList { (r) throws(ThriftError) in
                    var kv = KeyValue(key: "", value: nil)
                    try r.readStruct("KeyValue", required: [1]) { (r, id, type) throws(ThriftError) in
                        switch id {
                        case 1: kv.key = try r.string()
                        case 2: kv.value = try r.string()
                        default: try r.skip(type)
                        }
                    }
                    return kv
                }
            case 6: m.createdBy = try r.string()
            case 7:
                let (elementType, count) = try r.listHeader()
                for _ in 0..<count { try r.skip(elementType) }
                m.columnOrderCount = count
            case 8: m.encrypted = true; try r.skip(type)
            default: try r.skip(type)
            }
        }
        return m
    }

    /// Decodes a page header.
    mutating func readPageHeader() throws(ThriftError) -> PageHeader {
        var h = PageHeader(type: -1, uncompressedPageSize: -1, compressedPageSize: -1)
        try readStruct("PageHeader", required: [1, 2, 3]) { (r, id, type) throws(ThriftError) in
            switch id {
            case 1: h.type = try r.i32(type)
            case 2: h.uncompressedPageSize = try r.i32(type)
            case 3: h.compressedPageSize = try r.i32(type)
            case 4: h.crc = try r.i32(type)
            case 5:
                var d = DataPageHeader(numValues: 0, encoding: 0, definitionLevelEncoding: 3, repetitionLevelEncoding: 3)
                try r.readStruct("DataPageHeader", required: [1, 2, 3, 4]) { (r, id, type) throws(ThriftError) in
                    switch id {
                    case 1: d.numValues = try r.i32(type)
                    case 2: d.encoding = try r.i32(type)
                    case 3: d.definitionLevelEncoding = try r.i32(type)
                    case 4: d.repetitionLevelEncoding = try r.i32(type)
                    default: try r.skip(type)
                    }
                }
                h.dataPage = d
            case 7:
                var d = DictionaryPageHeader(numValues: 0, encoding: 0)
                try r.readStruct("DictionaryPageHeader", required: [1, 2]) { (r, id, type) throws(ThriftError) in
                    switch id {
                    case 1: d.numValues = try r.i32(type)
                    case 2: d.encoding = try r.i32(type)
                    default: try r.skip(type)
                    }
                }
                h.dictionaryPage = d
            case 8:
                var d = DataPageHeaderV2(numValues: 0, numNulls: 0, numRows: 0, encoding: 0, definitionLevelsByteLength: 0,
                                         repetitionLevelsByteLength: 0, isCompressed: true)
                try r.readStruct("DataPageHeaderV2", required: [1, 2, 3, 4, 5, 6]) { (r, id, type) throws(ThriftError) in
                    switch id {
                    case 1: d.numValues = try r.i32(type)
                    case 2: d.numNulls = try r.i32(type)
                    case 3: d.numRows = try r.i32(type)
                    case 4: d.encoding = try r.i32(type)
                    case 5: d.definitionLevelsByteLength = try r.i32(type)
                    case 6: d.repetitionLevelsByteLength = try r.i32(type)
                    case 7: d.isCompressed = try r.bool(type)
                    default: try r.skip(type)
                    }
                }
                h.dataPageV2 = d
            default: try r.skip(type)
            }
        }
        return h
    }
}
