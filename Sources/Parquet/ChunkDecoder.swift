/// Decodes the pages of one column chunk into levels and values.
struct ChunkDecoder {
    let descriptor: ColumnDescriptor
    let codec: CompressionCodec
    let expectedLevels: Int
    let decompressor: PageDecompressor
    let context: String

    private var definitionLevels: [UInt8] = []
    private var repetitionLevels: [UInt8] = []
    private var values: ValueAccumulator
    private var dictionary: ValueAccumulator?
    /// Uncompressed pages above this are refused as corrupt rather than allocated.
    private let maxPageBytes = 1 << 30

    init(descriptor: ColumnDescriptor, codec: CompressionCodec, expectedLevels: Int, decompressor: PageDecompressor, context: String) {
        self.descriptor = descriptor
        self.codec = codec
        self.expectedLevels = expectedLevels
        self.decompressor = decompressor
        self.context = context
        values = ValueAccumulator(type: descriptor.type)
    }

    func result() -> ColumnData {
        ColumnData(descriptor: descriptor, definitionLevels: definitionLevels, repetitionLevels: repetitionLevels, values: values.values)
    }

    /// Decodes every page of the chunk (which starts at `fileOffset` in the file).
    mutating func decode(_ chunk: UnsafeRawBufferPointer, fileOffset: Int) throws(ParquetError) {
        var position = 0
        var levels = 0
        while levels < expectedLevels {
            guard position < chunk.count else {
                throw ParquetError("\(context): the column chunk ends after \(levels) of \(expectedLevels) values (truncated or corrupt)")
            }
            let at = fileOffset + position
            var reader = ThriftReader(UnsafeRawBufferPointer(rebasing: chunk[position...]))
            let header: PageHeader
            do {
                header = try reader.readPageHeader()
            } catch {
                throw ParquetError("\(context): corrupt page header at byte \(at + error.offset): \(error.message)")
            }
            let bodyStart = position + reader.position
            let compressed = Int(header.compressedPageSize), uncompressed = Int(header.uncompressedPageSize)
            guard compressed >= 0, uncompressed >= 0, uncompressed <= maxPageBytes, compressed <= chunk.count - bodyStart else {
                throw ParquetError("\(context): corrupt page header at byte \(at): page sizes \(compressed)/\(uncompressed) do not fit the column chunk")
            }
            let body = UnsafeRawBufferPointer(rebasing: chunk[bodyStart..<(bodyStart + compressed)])
            if let crc = header.crc, UInt32(bitPattern: crc) != pageChecksum(body) {
                throw ParquetError("\(context): corrupt page at byte \(at): checksum mismatch")
            }
            do {
                switch header.type {
                case PageType.dictionaryPage.rawValue:
                    guard let d = header.dictionaryPage else { throw EncodingError(message: "dictionary page without its header") }
                    try decodeDictionary(d, body, uncompressed: uncompressed)
                case PageType.dataPage.rawValue:
                    guard let d = header.dataPage else { throw EncodingError(message: "data page without its header") }
                    levels += try decodeDataPage(d, body, uncompressed: uncompressed)
                case PageType.dataPageV2.rawValue:
                    guard let d = header.dataPageV2 else { throw EncodingError(message: "data page v2 without its header") }
                    levels += try decodeDataPageV2(d, body, uncompressed: uncompressed)
                case PageType.indexPage.rawValue:
                    break
                default:
                    throw EncodingError(message: "unknown page type \(header.type)")
                }
            } catch let error as UnsupportedEncoding {
                throw ParquetError("\(context): \(error.message)")
            } catch {
                throw ParquetError("\(context): corrupt page at byte \(at): \(error)")
            }
            position = bodyStart + compressed
        }
        guard levels == expectedLevels else {
            throw ParquetError("\(context): pages hold \(levels) values, the column chunk says \(expectedLevels)")
        }
    }

    private func decompress(_ body: UnsafeRawBufferPointer, uncompressed: Int, _ work: (UnsafeRawBufferPointer) throws -> Void) throws {
        if codec == .uncompressed {
            guard body.count == uncompressed else { throw EncodingError(message: "page is \(body.count) bytes, header says \(uncompressed)") }
            return try work(body)
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(uncompressed, 1), alignment: 16)
        defer { buffer.deallocate() }
        let out = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<uncompressed])
        try decompressor.decompress(codec, body, into: out)
        try work(UnsafeRawBufferPointer(out))
    }

    private mutating func decodeDictionary(_ h: DictionaryPageHeader, _ body: UnsafeRawBufferPointer, uncompressed: Int) throws {
        guard dictionary == nil else { throw EncodingError(message: "a second dictionary page") }
        guard h.encoding == Encoding.plain.rawValue || h.encoding == Encoding.plainDictionary.rawValue else {
            throw UnsupportedEncoding(message: "dictionary page encoding \(encodingName(h.encoding)) is not supported")
        }
        guard h.numValues >= 0 else { throw EncodingError(message: "negative dictionary size") }
        var dict = ValueAccumulator(type: descriptor.type)
        try decompress(body, uncompressed: uncompressed) { data in
            var reader = ByteReader(data)
            try dict.appendPlain(&reader, count: Int(h.numValues))
        }
        dictionary = dict
    }

    private mutating func decodeDataPage(_ h: DataPageHeader, _ body: UnsafeRawBufferPointer, uncompressed: Int) throws -> Int {
        let n = Int(h.numValues)
        guard n >= 0 else { throw EncodingError(message: "negative value count") }
        try decompress(body, uncompressed: uncompressed) { data in
            var reader = ByteReader(data)
            if descriptor.maxRepetition > 0 {
                try checkLevelEncoding(h.repetitionLevelEncoding, "repetition")
                let bytes = try reader.lengthPrefixed()
                try appendLevels(&repetitionLevels, bytes, n, maxLevel: descriptor.maxRepetition)
            }
            var nonNull = n
            if descriptor.maxDefinition > 0 {
                try checkLevelEncoding(h.definitionLevelEncoding, "definition")
                let bytes = try reader.lengthPrefixed()
                nonNull = try appendLevels(&definitionLevels, bytes, n, maxLevel: descriptor.maxDefinition)
            }
            try decodeValues(encoding: h.encoding, &reader, count: nonNull)
        }
        return n
    }

    private mutating func decodeDataPageV2(_ h: DataPageHeaderV2, _ body: UnsafeRawBufferPointer, uncompressed: Int) throws -> Int {
        let n = Int(h.numValues)
        let repLength = Int(h.repetitionLevelsByteLength), defLength = Int(h.definitionLevelsByteLength)
        guard n >= 0, repLength >= 0, defLength >= 0, repLength + defLength <= body.count, repLength + defLength <= uncompressed else {
            throw EncodingError(message: "level lengths \(repLength)+\(defLength) do not fit the page")
        }
        var nonNull = n
        if descriptor.maxRepetition > 0 {
            try appendLevels(&repetitionLevels, UnsafeRawBufferPointer(rebasing: body[0..<repLength]), n, maxLevel: descriptor.maxRepetition)
        }
        if descriptor.maxDefinition > 0 {
            nonNull = try appendLevels(&definitionLevels, UnsafeRawBufferPointer(rebasing: body[repLength..<(repLength + defLength)]), n,
                                       maxLevel: descriptor.maxDefinition)
        }
        guard n - nonNull == Int(h.numNulls) else { throw EncodingError(message: "page says \(h.numNulls) nulls, its levels say \(n - nonNull)") }
        let rest = UnsafeRawBufferPointer(rebasing: body[(repLength + defLength)...])
        let restSize = uncompressed - repLength - defLength
        if h.isCompressed && codec != .uncompressed {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(restSize, 1), alignment: 16)
            defer { buffer.deallocate() }
            let out = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<restSize])
            try decompressor.decompress(codec, rest, into: out)
            var reader = ByteReader(UnsafeRawBufferPointer(out))
            try decodeValues(encoding: h.encoding, &reader, count: nonNull)
        } else {
            guard rest.count == restSize else { throw EncodingError(message: "page is \(rest.count) bytes, header says \(restSize)") }
            var reader = ByteReader(rest)
            try decodeValues(encoding: h.encoding, &reader, count: nonNull)
        }
        return n
    }

    private func checkLevelEncoding(_ encoding: Int32, _ what: String) throws {
        guard encoding == Encoding.rle.rawValue else {
            throw UnsupportedEncoding(message: "\(what) levels use \(encodingName(encoding)) encoding, which is not supported")
        }
    }

    /// Decodes `n` levels and appends them; returns how many equal `maxLevel`.
    @discardableResult
    private func appendLevels(_ levels: inout [UInt8], _ bytes: UnsafeRawBufferPointer, _ n: Int, maxLevel: Int) throws -> Int {
        let start = levels.count
        levels.append(contentsOf: repeatElement(0, count: n))
        var decoder = RLEHybridDecoder(bytes, bitWidth: bitWidth(UInt64(maxLevel)))
        try levels.withUnsafeMutableBufferPointer { buf in
            try decoder.decode(n, into: buf.baseAddress! + start)
        }
        var full = 0
        let top = UInt8(maxLevel)
        for i in start..<levels.count {
            let l = levels[i]
            guard l <= top else { throw EncodingError(message: "level \(l) above the maximum \(maxLevel)") }
            if l == top { full += 1 }
        }
        return full
    }

    private mutating func decodeValues(encoding: Int32, _ reader: inout ByteReader, count: Int) throws {
        switch encoding {
        case Encoding.plain.rawValue:
            try values.appendPlain(&reader, count: count)
        case Encoding.plainDictionary.rawValue, Encoding.rleDictionary.rawValue:
            guard let dictionary else { throw EncodingError(message: "dictionary-encoded page without a dictionary page") }
            guard count > 0 else { return }
            let width = Int(try reader.byte())
            guard width <= 32 else { throw EncodingError(message: "dictionary index width \(width)") }
            var decoder = RLEHybridDecoder(reader.rest, bitWidth: width)
            var indexes = [UInt32](repeating: 0, count: count)
            try indexes.withUnsafeMutableBufferPointer { try decoder.decode(count, into: $0.baseAddress!) }
            try values.appendGathered(from: dictionary, indexes)
        case Encoding.rle.rawValue where descriptor.type.physical == .boolean:
            let bytes = try reader.lengthPrefixed()
            var decoder = RLEHybridDecoder(bytes, bitWidth: 1)
            var bits = [UInt8](repeating: 0, count: count)
            try bits.withUnsafeMutableBufferPointer { try decoder.decode(count, into: $0.baseAddress!) }
            values.appendBooleans(bits)
        default:
            throw UnsupportedEncoding(message: "values use \(encodingName(encoding)) encoding, which is not supported")
        }
    }
}

/// An encoding or feature the reader refuses by name (not corruption).
struct UnsupportedEncoding: Error {
    var message: String
}

/// The name of an encoding code.
func encodingName(_ code: Int32) -> String {
    Encoding(rawValue: code)?.description ?? "unknown (\(code))"
}

/// A bounds-checked cursor over page bytes.
struct ByteReader {
    let data: UnsafeRawBufferPointer
    var position = 0

    init(_ data: UnsafeRawBufferPointer) { self.data = data }

    var rest: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: data[position...]) }

    mutating func byte() throws(EncodingError) -> UInt8 {
        guard position < data.count else { throw EncodingError(message: "page data ends early") }
        defer { position += 1 }
        return data[position]
    }

    mutating func take(_ n: Int) throws(EncodingError) -> UnsafeRawBufferPointer {
        guard n >= 0, n <= data.count - position else { throw EncodingError(message: "page data ends early (need \(n) bytes at \(position))") }
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: data[position..<(position + n)])
    }

    mutating func uint32() throws(EncodingError) -> UInt32 {
        let b = try take(4)
        return b.loadUnaligned(as: UInt32.self).littleEndian
    }

    /// A 4-byte little-endian length and that many bytes.
    mutating func lengthPrefixed() throws(EncodingError) -> UnsafeRawBufferPointer {
        try take(Int(try uint32()))
    }
}
