/// Buffers and encodes one column of the current row group: levels, values, dictionary, pages, statistics.
final class ColumnWriter {
    let spec: ColumnSpec
    let physical: PhysicalType
    /// PLAIN width of a fixed-size value (BOOLEAN is buffered as one byte per value); 0 for BYTE_ARRAY.
    let width: Int
    let maxDefinition: UInt8
    let maxRepetition: UInt8
    /// A LIST column (levels and list state to keep); `spec.isList`, at hand for the per-value path.
    private let isList: Bool
    private let pageBytes: Int
    private let pageRows: Int
    private let dictionaryLimit: Int
    /// The chunk buffer keeps its storage across row groups up to this size.
    private let chunkCapacityLimit: Int

    // The page being filled.
    private let definitionLevels = ByteBuffer(capacity: 32 * 1024)
    private let repetitionLevels: ByteBuffer
    /// PLAIN values, or UInt32 dictionary indices while the dictionary is active, after
    /// `headroom` bytes kept free so that a PLAIN page's levels can go right before its values
    /// and the page is compressed in place, without copying the values.
    private let values = ByteBuffer(capacity: 64 * 1024)
    private static let headroom = 8 * 1024
    /// After this many values in a chunk, a dictionary holding as many entries is given up.
    private static let distinctProbe = 1024
    private var pageNonNull = 0

    // Dictionary state for this column chunk.
    /// The dictionary (allocated for every column, used unless `options.dictionary` is off or the type is BOOLEAN).
    private let dictionary: DictionaryBuilder
    private let usesDictionary: Bool
    /// Values go through the dictionary (until it grows too large or does not pay off).
    private var dictionaryActive: Bool
    private var dictionaryPagesWritten = false
    private var chunkNonNull = 0

    // The column chunk: encoded data pages of the current row group.
    let chunk = ByteBuffer(capacity: 256 * 1024)
    private(set) var chunkUncompressed = 0
    private var chunkLevels = 0
    private var plainPagesWritten = false
    let statistics: StatisticsAccumulator
    /// Rows completed in the current row group (one per `append`/`appendNull` outside a list, or per list).
    private(set) var rows = 0

    /// The dictionary is to be switched off at the next row boundary.
    private var fallbackPending = false

    // List state.
    private var listOpen = false
    private var listEmpty = true

    private let scratch: PageScratch

    init(spec: ColumnSpec, options: ParquetWriterOptions, scratch: PageScratch) {
        self.spec = spec
        self.scratch = scratch
        physical = spec.type.physical
        switch physical {
        case .boolean: width = 1
        case .int32, .float: width = 4
        case .int64, .double: width = 8
        case .int96: width = 12
        case .fixedLenByteArray: width = spec.type.typeLength ?? 0
        case .byteArray: width = 0
        }
        maxDefinition = spec.isList ? 3 : 1
        maxRepetition = spec.isList ? 1 : 0
        isList = spec.isList
        repetitionLevels = ByteBuffer(capacity: spec.isList ? 32 * 1024 : 16)
        pageBytes = options.pageBytes
        pageRows = options.pageRows
        dictionaryLimit = options.dictionaryBytes
        chunkCapacityLimit = max(options.rowGroupBytes, 1 << 20)
        let useDictionary = options.dictionary && physical != .boolean
        dictionary = DictionaryBuilder(prefixed: physical == .byteArray)
        usesDictionary = useDictionary
        dictionaryActive = useDictionary
        statistics = StatisticsAccumulator(physical: physical, signedBytes: spec.type.signedBytes)
        values.commit(Self.headroom)
    }

    /// The values of the page being filled.
    private var pageValues: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: values.base + Self.headroom, count: values.count - Self.headroom)
    }

    /// Uncompressed bytes held for the current row group (pages written plus the page being filled).
    @inline(__always)
    var bufferedBytes: Int {
        chunkUncompressed + (values.count - Self.headroom) + (definitionLevels.count >> 3) + dictionary.data.count
    }

    // MARK: Levels

    /// Starts a value slot: flushes a full page at a row boundary, then records the levels.
    @inline(__always)
    private func slot(definition: UInt8) {
        if isList {
            listSlot()
        } else {
            if values.count - Self.headroom >= pageBytes || definitionLevels.count >= pageRows { flushPage() }
            rows += 1
        }
        definitionLevels.append(definition)
    }

    /// The repetition level of a LIST column's slot (a pending dictionary fallback and a full
    /// page wait for the row boundary).
    private func listSlot() {
        if listOpen {
            repetitionLevels.append(listEmpty ? 0 : 1)
            listEmpty = false
        } else {
            if fallbackPending { fallBack() }
            if values.count - Self.headroom >= pageBytes || definitionLevels.count >= pageRows { flushPage() }
            repetitionLevels.append(0)
            rows += 1
        }
    }

    /// A null: a null list outside a list, a null element inside one.
    func appendNull() {
        slot(definition: listOpen ? 2 : 0)
        statistics.nullCount += 1
    }

    /// Opens a list for the current row.
    func beginList() {
        precondition(spec.isList && !listOpen, "beginList on column \"\(spec.name)\" that is not a list or has a list open")
        if fallbackPending { fallBack() }
        if values.count - Self.headroom >= pageBytes || definitionLevels.count >= pageRows { flushPage() }
        listOpen = true
        listEmpty = true
    }

    /// Closes the current row's list; an empty list gets its own level.
    func endList() {
        precondition(listOpen, "endList on column \"\(spec.name)\" without beginList")
        listOpen = false
        if listEmpty {
            repetitionLevels.append(0)
            definitionLevels.append(1)
            statistics.nullCount += 1
        }
        rows += 1
    }

    @inline(__always)
    private func present() {
        slot(definition: maxDefinition)
        pageNonNull += 1
    }

    // MARK: Values

    @inline(__always)
    private func checkType(_ expected: PhysicalType) {
        precondition(physical == expected, "column \"\(spec.name)\" is \(physical), not \(expected)")
        precondition(!isList || listOpen, "column \"\(spec.name)\" is a list: call beginList first")
    }

    /// Adds a fixed-width value through the dictionary (or PLAIN once it is off).
    @inline(__always)
    private func addFixed<T>(_ value: T) {
        if dictionaryActive {
            var v = value
            let index = withUnsafeBytes(of: &v) { dictionary.index(of: $0.baseAddress!, count: MemoryLayout<T>.size) }
            values.appendLittleEndian(index)
            chunkNonNull += 1
            checkDictionary()
        } else {
            values.reserve(MemoryLayout<T>.size)
            values.base.storeBytes(of: value, toByteOffset: values.count, as: T.self)
            values.count += MemoryLayout<T>.size
        }
    }

    func append(_ v: Bool) {
        checkType(.boolean)
        present()
        values.append(v ? 1 : 0)
        statistics.observe(Int64(v ? 1 : 0))
    }

    func append(_ v: Int32) {
        checkType(.int32)
        present()
        if !dictionaryActive { statistics.observe(Int64(v)) }
        addFixed(v.littleEndian)
    }

    func append(_ v: Int64) {
        checkType(.int64)
        present()
        if !dictionaryActive { statistics.observe(v) }
        addFixed(v.littleEndian)
    }

    func append(_ v: Float) {
        checkType(.float)
        present()
        if !dictionaryActive { statistics.observe(Double(v)) }
        addFixed(v.bitPattern.littleEndian)
    }

    func append(_ v: Double) {
        checkType(.double)
        present()
        if !dictionaryActive { statistics.observe(v) }
        addFixed(v.bitPattern.littleEndian)
    }

    /// A BYTE_ARRAY value, or a FIXED_LEN_BYTE_ARRAY value of exactly the declared width.
    func append(bytes: UnsafeRawBufferPointer) {
        precondition(physical == .byteArray || (physical == .fixedLenByteArray && bytes.count == width),
                     "column \"\(spec.name)\" is \(spec.type), not a \(bytes.count)-byte value")
        precondition(!isList || listOpen, "column \"\(spec.name)\" is a list: call beginList first")
        present()
        let n = bytes.count
        let p = bytes.baseAddress ?? UnsafeRawPointer(values.base)
        if dictionaryActive {
            values.appendLittleEndian(dictionary.index(of: p, count: n))
            chunkNonNull += 1
            checkDictionary()
        } else {
            statistics.observe(p, n)
            if physical == .byteArray { values.appendLittleEndian(UInt32(n)) }
            values.append(UnsafeRawBufferPointer(start: p, count: n))
        }
    }

    /// Turns the dictionary off when it outgrows its limit, holds more than half the values seen
    /// (checked every 16 384 values), or when the chunk's first 1 024 values were all distinct (a key,
    /// a timestamp, a measurement: hashing more of them would only be wasted).
    @inline(__always)
    private func checkDictionary() {
        let d = dictionary
        if d.data.count > dictionaryLimit || (chunkNonNull & 0x3FFF == 0 && d.count * 2 > chunkNonNull)
            || (chunkNonNull == Self.distinctProbe && d.count == Self.distinctProbe) {
            // Pages end at row boundaries: inside a list, switch at the next row.
            if listOpen {
                fallbackPending = true
            } else {
                fallBack()
            }
        }
    }

    /// Ends the dictionary-encoded page and writes PLAIN from here on in this chunk.
    private func fallBack() {
        fallbackPending = false
        flushPage()
        dictionaryActive = false
    }

    // MARK: Pages

    /// Encodes the page being filled (if any) into the chunk.
    func flushPage() {
        let levelCount = definitionLevels.count
        guard levelCount > 0 else { return }
        let body = scratch.body
        body.reset()
        if maxRepetition > 0 { appendLevels(repetitionLevels, bitWidth: 1, into: body) }
        if !isList && pageNonNull == levelCount && levelCount >= 8 {
            // No nulls: one RLE run of the present level (what encodeRLEHybrid makes of it, without the scan).
            let lengthAt = body.count
            body.appendLittleEndian(UInt32(0))
            body.appendVarint(UInt64(levelCount) << 1)
            body.append(maxDefinition)
            body.patchLittleEndian(UInt32(body.count - lengthAt - 4), at: lengthAt)
        } else {
            appendLevels(definitionLevels, bitWidth: bitWidth(UInt64(maxDefinition)), into: body)
        }
        let encoding: Encoding
        if dictionaryActive && pageNonNull > 0 {
            encoding = .rleDictionary
            let bits = max(1, bitWidth(UInt64(dictionary.count - 1)))
            body.append(UInt8(bits))
            pageValues.withMemoryRebound(to: UInt32.self) { encodeRLEHybrid($0, bitWidth: bits, into: body) }
            dictionaryPagesWritten = true
        } else if physical == .boolean {
            encoding = .plain
            appendPackedBooleans(pageValues, into: body)
            plainPagesWritten = true
        } else {
            encoding = .plain
            plainPagesWritten = true
            if body.count <= Self.headroom {
                // Levels moved right before the values: the page is contiguous in `values`.
                let start = values.base + Self.headroom - body.count
                start.copyMemory(from: body.base, byteCount: body.count)
                let page = UnsafeRawBufferPointer(start: start, count: values.count - Self.headroom + body.count)
                finishPage(levelCount: levelCount, encoding: encoding, body: page)
                return
            }
            body.append(pageValues)
        }
        finishPage(levelCount: levelCount, encoding: encoding, body: body.bytes)
    }

    /// Compresses the page `body` into the chunk and starts the next page.
    private func finishPage(levelCount: Int, encoding: Encoding, body: UnsafeRawBufferPointer) {
        let header = PageHeader(type: PageType.dataPage.rawValue, uncompressedPageSize: Int32(body.count), compressedPageSize: 0,
                                dataPage: DataPageHeader(numValues: Int32(levelCount), encoding: encoding.rawValue,
                                                         definitionLevelEncoding: Encoding.rle.rawValue,
                                                         repetitionLevelEncoding: Encoding.rle.rawValue))
        chunkUncompressed += scratch.appendPage(header, body: body, to: chunk)
        chunkLevels += levelCount
        definitionLevels.reset()
        repetitionLevels.reset()
        values.reset()
        values.commit(Self.headroom)
        pageNonNull = 0
    }

    private func appendLevels(_ levels: ByteBuffer, bitWidth bits: Int, into body: ByteBuffer) {
        let lengthAt = body.count
        body.appendLittleEndian(UInt32(0))
        levels.bytes.withMemoryRebound(to: UInt8.self) { encodeRLEHybrid($0, bitWidth: bits, into: body) }
        body.patchLittleEndian(UInt32(body.count - lengthAt - 4), at: lengthAt)
    }

    private func appendPackedBooleans(_ bytes: UnsafeRawBufferPointer, into body: ByteBuffer) {
        let n = bytes.count
        body.reserve((n + 7) / 8)
        guard let src = bytes.baseAddress else { return }
        var i = 0
        while i < n {
            var b: UInt8 = 0
            var k = 0
            while k < 8 && i + k < n {
                b |= src.load(fromByteOffset: i + k, as: UInt8.self) << UInt8(k)
                k += 1
            }
            body.append(b)
            i += 8
        }
    }

    // MARK: Chunk

    /// What the row group needs to know about a finished column chunk.
    struct ChunkSummary {
        var dictionaryPage: ByteBuffer?
        var dictionaryUncompressed: Int
        var numValues: Int
        var encodings: [Int32]
        var statistics: Statistics
    }

    /// Flushes the last page and builds the dictionary page; call `resetChunk` after writing.
    func finishChunk(dictionaryPage: ByteBuffer) -> ChunkSummary {
        precondition(!listOpen, "row group closed with a list open on column \"\(spec.name)\"")
        flushPage()
        var summary = ChunkSummary(dictionaryPage: nil, dictionaryUncompressed: 0, numValues: chunkLevels, encodings: [], statistics: Statistics())
        let stats = statistics
        if dictionaryPagesWritten {
            let d = dictionary
            for i in 0..<d.count {
                let e = d.entry(i)
                stats.observePlain(e.baseAddress ?? UnsafeRawPointer(d.data.base), e.count)
            }
            let header = PageHeader(type: PageType.dictionaryPage.rawValue, uncompressedPageSize: Int32(d.data.count), compressedPageSize: 0,
                                    dictionaryPage: DictionaryPageHeader(numValues: Int32(d.count), encoding: Encoding.plain.rawValue))
            dictionaryPage.reset()
            summary.dictionaryUncompressed = scratch.appendPage(header, body: d.data.bytes, to: dictionaryPage)
            summary.dictionaryPage = dictionaryPage
        }
        summary.statistics = stats.statistics()
        if dictionaryPagesWritten || plainPagesWritten { summary.encodings.append(Encoding.plain.rawValue) }
        summary.encodings.append(Encoding.rle.rawValue)
        if dictionaryPagesWritten { summary.encodings.append(Encoding.rleDictionary.rawValue) }
        return summary
    }

    /// Empties the chunk for the next row group.
    func resetChunk() {
        chunk.reset()
        chunk.shrink(to: chunkCapacityLimit)
        chunkUncompressed = 0
        chunkLevels = 0
        chunkNonNull = 0
        rows = 0
        plainPagesWritten = false
        dictionaryPagesWritten = false
        statistics.reset()
        if usesDictionary {
            dictionary.reset()
            dictionaryActive = true
            fallbackPending = false
        }
    }
}
