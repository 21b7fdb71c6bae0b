// Thrift compact encoding of the footer and page headers (field ids from parquet.thrift).

extension ThriftWriter {
    mutating func write(logicalType: LogicalType, field id: Int16) {
        beginStruct(id)
        func unit(_ u: TimeUnit) {
            beginStruct(2)
            beginStruct(u == .millis ? 1 : u == .micros ? 2 : 3)
            endStruct()
            endStruct()
        }
        switch logicalType {
        case .string: beginStruct(1); endStruct()
        case .map: beginStruct(2); endStruct()
        case .list: beginStruct(3); endStruct()
        case .enumeration: beginStruct(4); endStruct()
        case .decimal(let p, let s):
            beginStruct(5)
            field(1, i32: Int32(s))
            field(2, i32: Int32(p))
            endStruct()
        case .date: beginStruct(6); endStruct()
        case .time(let u, let adjusted):
            beginStruct(7)
            field(1, bool: adjusted)
            unit(u)
            endStruct()
        case .timestamp(let u, let adjusted):
            beginStruct(8)
            field(1, bool: adjusted)
            unit(u)
            endStruct()
        case .integer(let width, let signed):
            beginStruct(10)
            field(1, i8: Int8(width))
            field(2, bool: signed)
            endStruct()
        case .json: beginStruct(12); endStruct()
        case .uuid: beginStruct(14); endStruct()
        case .other(let id): beginStruct(id); endStruct()
        }
        endStruct()
    }

    mutating func write(statistics s: Statistics, field id: Int16) {
        beginStruct(id)
        if let v = s.legacyMax { field(1, binary: v) }
        if let v = s.legacyMin { field(2, binary: v) }
        if let v = s.nullCount { field(3, i64: v) }
        if let v = s.distinctCount { field(4, i64: v) }
        if let v = s.maxValue { field(5, binary: v) }
        if let v = s.minValue { field(6, binary: v) }
        endStruct()
    }

    /// Encodes the footer.
    mutating func write(fileMetaData m: FileMetaData) {
        field(1, i32: m.version)
        beginList(2, .structure, count: m.schema.count)
        for e in m.schema {
            beginListElement()
            if let t = e.type { field(1, i32: t.rawValue) }
            if let v = e.typeLength { field(2, i32: v) }
            if let r = e.repetition { field(3, i32: r.rawValue) }
            field(4, string: e.name)
            if let v = e.numChildren { field(5, i32: v) }
            if let v = e.convertedType { field(6, i32: v) }
            if let v = e.scale { field(7, i32: v) }
            if let v = e.precision { field(8, i32: v) }
            if let l = e.logicalType { write(logicalType: l, field: 10) }
            endStruct()
        }
        field(3, i64: m.numRows)
        beginList(4, .structure, count: m.rowGroups.count)
        for g in m.rowGroups {
            beginListElement()
            beginList(1, .structure, count: g.columns.count)
            for c in g.columns {
                beginListElement()
                if let p = c.filePath { field(1, string: p) }
                field(2, i64: c.fileOffset)
                if let md = c.metaData {
                    beginStruct(3)
                    field(1, i32: md.type.rawValue)
                    beginList(2, .i32, count: md.encodings.count)
                    for e in md.encodings { element(i32: e) }
                    beginList(3, .binary, count: md.pathInSchema.count)
                    for p in md.pathInSchema { element(string: p) }
                    field(4, i32: md.codec.rawValue)
                    field(5, i64: md.numValues)
                    field(6, i64: md.totalUncompressedSize)
                    field(7, i64: md.totalCompressedSize)
                    field(9, i64: md.dataPageOffset)
                    if let v = md.dictionaryPageOffset { field(11, i64: v) }
                    if let s = md.statistics { write(statistics: s, field: 12) }
                    endStruct()
                }
                endStruct()
            }
            field(2, i64: g.totalByteSize)
            field(3, i64: g.numRows)
            if let v = g.fileOffset { field(5, i64: v) }
            if let v = g.totalCompressedSize { field(6, i64: v) }
            if let v = g.ordinal { field(7, i16: v) }
            endStruct()
        }
        if !m.keyValueMetadata.isEmpty {
            beginList(5, .structure, count: m.keyValueMetadata.count)
            for kv in m.keyValueMetadata {
                beginListElement()
                field(1, string: kv.key)
                if let v = kv.value { field(2, string: v) }
                endStruct()
            }
        }
        if let v = m.createdBy { field(6, string: v) }
        if m.columnOrderCount > 0 {
            beginList(7, .structure, count: m.columnOrderCount)
            for _ in 0..<m.columnOrderCount {
                beginListElement()
                beginStruct(1)
                endStruct()
                endStruct()
            }
        }
        endMessage()
    }

    /// Encodes a page header.
    mutating func write(pageHeader h: PageHeader) {
        field(1, i32: h.type)
        field(2, i32: h.uncompressedPageSize)
        field(3, i32: h.compressedPageSize)
        if let v = h.crc { field(4, i32: v) }
        if let d = h.dataPage {
            beginStruct(5)
            field(1, i32: d.numValues)
            field(2, i32: d.encoding)
            field(3, i32: d.definitionLevelEncoding)
            field(4, i32: d.repetitionLevelEncoding)
            endStruct()
        }
        if let d = h.dictionaryPage {
            beginStruct(7)
            field(1, i32: d.numValues)
            field(2, i32: d.encoding)
            endStruct()
        }
        if let d = h.dataPageV2 {
            beginStruct(8)
            field(1, i32: d.numValues)
            field(2, i32: d.numNulls)
            field(3, i32: d.numRows)
            field(4, i32: d.encoding)
            field(5, i32: d.definitionLevelsByteLength)
            field(6, i32: d.repetitionLevelsByteLength)
            if !d.isCompressed { field(7, bool: false) }
            endStruct()
        }
        endMessage()
    }
}
