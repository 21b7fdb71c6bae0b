/// Collects decoded values of one physical type (PLAIN pages, dictionary gathers, RLE booleans).
struct ValueAccumulator {
    let type: ColumnType
    private var booleans: [Bool] = []
    private var int32s: [Int32] = []
    private var int64s: [Int64] = []
    private var floats: [Float] = []
    private var doubles: [Double] = []
    private var bytes = ByteArrays()

    init(type: ColumnType) { self.type = type }

    var count: Int { values.count }

    var values: ColumnValues {
        switch type.physical {
        case .boolean: .boolean(booleans)
        case .int32: .int32(int32s)
        case .int64: .int64(int64s)
        case .float: .float(floats)
        case .double: .double(doubles)
        default: .bytes(bytes)
        }
    }

    /// Appends `count` PLAIN-encoded values.
    mutating func appendPlain(_ reader: inout ByteReader, count: Int) throws(EncodingError) {
        guard count >= 0 else { throw EncodingError(message: "negative value count") }
        switch type.physical {
        case .boolean:
            let packed = try reader.take((count + 7) / 8)
            booleans.reserveCapacity(booleans.count + count)
            for i in 0..<count { booleans.append(packed[i >> 3] >> UInt8(i & 7) & 1 == 1) }
        case .int32:
            let raw = try reader.take(count * 4)
            int32s.reserveCapacity(int32s.count + count)
            for i in 0..<count { int32s.append(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))) }
        case .int64:
            let raw = try reader.take(count * 8)
            int64s.reserveCapacity(int64s.count + count)
            for i in 0..<count { int64s.append(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))) }
        case .float:
            let raw = try reader.take(count * 4)
            floats.reserveCapacity(floats.count + count)
            for i in 0..<count { floats.append(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))) }
        case .double:
            let raw = try reader.take(count * 8)
            doubles.reserveCapacity(doubles.count + count)
            for i in 0..<count { doubles.append(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))) }
        case .fixedLenByteArray:
            let width = type.typeLength ?? 0
            let raw = try reader.take(count * width)
            bytes.data.append(contentsOf: raw)
            bytes.offsets.reserveCapacity(bytes.offsets.count + count)
            let base = bytes.offsets[bytes.offsets.count - 1]
            if count > 0 {
                for i in 1...count { bytes.offsets.append(base + i * width) }
            }
        case .byteArray:
            bytes.offsets.reserveCapacity(bytes.offsets.count + count)
            for _ in 0..<count {
                let n = Int(try reader.uint32())
                bytes.append(try reader.take(n))
            }
        case .int96:
            throw EncodingError(message: "INT96 values are not supported")
        }
    }

    /// Appends RLE-decoded booleans (0/1 bytes).
    mutating func appendBooleans(_ bits: [UInt8]) {
        booleans.append(contentsOf: bits.map { $0 != 0 })
    }

    /// Appends `dictionary[i]` for each index.
    mutating func appendGathered(from dictionary: ValueAccumulator, _ indexes: [UInt32]) throws(EncodingError) {
        let n = dictionary.count
        for i in indexes where Int(i) >= n {
            throw EncodingError(message: "dictionary index \(i) out of range (dictionary has \(n) values)")
        }
        switch type.physical {
        case .boolean: booleans.append(contentsOf: indexes.map { dictionary.booleans[Int($0)] })
        case .int32: int32s.append(contentsOf: indexes.map { dictionary.int32s[Int($0)] })
        case .int64: int64s.append(contentsOf: indexes.map { dictionary.int64s[Int($0)] })
        case .float: floats.append(contentsOf: indexes.map { dictionary.floats[Int($0)] })
        case .double: doubles.append(contentsOf: indexes.map { dictionary.doubles[Int($0)] })
        default:
            let d = dictionary.bytes
            bytes.offsets.reserveCapacity(bytes.offsets.count + indexes.count)
            d.data.withUnsafeBytes { raw in
                for i in indexes {
                    let s = d.offsets[Int(i)], e = d.offsets[Int(i) + 1]
                    bytes.append(UnsafeRawBufferPointer(rebasing: raw[s..<e]))
                }
            }
        }
    }
}
