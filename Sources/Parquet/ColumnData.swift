/// Variable-length values in one buffer: value `i` is `data[offsets[i]..<offsets[i+1]]`.
public struct ByteArrays: Sendable, Equatable {
    /// All value bytes, back to back.
    public var data: [UInt8] = []
    /// Start offsets plus the end offset (count + 1 entries).
    public var offsets: [Int] = [0]

    /// An empty collection.
    public init() {}

    /// The number of values.
    public var count: Int { offsets.count - 1 }

    /// The bytes of value `i`.
    public subscript(i: Int) -> ArraySlice<UInt8> { data[offsets[i]..<offsets[i + 1]] }

    /// Appends one value.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        data.append(contentsOf: bytes)
        offsets.append(data.count)
    }
}

/// The decoded non-null values of a column chunk, in order, by physical type.
public enum ColumnValues: Sendable, Equatable {
    case boolean([Bool])
    case int32([Int32])
    case int64([Int64])
    case float([Float])
    case double([Double])
    /// BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY values.
    case bytes(ByteArrays)

    /// The number of values.
    public var count: Int {
        switch self {
        case .boolean(let v): v.count
        case .int32(let v): v.count
        case .int64(let v): v.count
        case .float(let v): v.count
        case .double(let v): v.count
        case .bytes(let v): v.count
        }
    }
}

/// One row's cell of a column: null, a value (index into the values), or a list of element indexes (nil = null element).
public enum Cell: Sendable, Equatable {
    case null
    case value(Int)
    case list([Int?])
}

/// A decoded column chunk: levels and the non-null values.
public struct ColumnData: Sendable {
    /// The column it belongs to.
    public var descriptor: ColumnDescriptor
    /// One definition level per slot (empty when the column is REQUIRED and not a list).
    public var definitionLevels: [UInt8]
    /// One repetition level per slot (empty unless a list).
    public var repetitionLevels: [UInt8]
    /// The present values, in slot order.
    public var values: ColumnValues

    /// The cells of all rows, in order.
    public func cells() -> [Cell] {
        let maxDef = UInt8(descriptor.maxDefinition)
        var result: [Cell] = []
        var next = 0
        if !descriptor.isList {
            if definitionLevels.isEmpty { return (0..<values.count).map { .value($0) } }
            result.reserveCapacity(definitionLevels.count)
            for d in definitionLevels {
                if d == maxDef {
                    result.append(.value(next))
                    next += 1
                } else {
                    result.append(.null)
                }
            }
            return result
        }
        // Levels below these mean: null list, empty list, null element.
        let listPresent = UInt8(descriptor.isNullable ? 1 : 0)
        var current: [Int?]? = nil
        for i in 0..<definitionLevels.count {
            let d = definitionLevels[i]
            if repetitionLevels[i] == 0 {
                if let c = current { result.append(.list(c)) } else if i > 0 { result.append(.null) }
                if d < listPresent {
                    current = nil
                    continue
                }
                current = []
                if d == listPresent { continue }
            }
            if d == maxDef {
                current?.append(next)
                next += 1
            } else {
                current?.append(nil)
            }
        }
        if !definitionLevels.isEmpty {
            if let c = current { result.append(.list(c)) } else { result.append(.null) }
        }
        return result
    }
}
