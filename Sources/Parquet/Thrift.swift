/// Thrift compact-protocol type codes as they appear in field and list headers.
enum ThriftType: UInt8 {
    case stop = 0, boolTrue = 1, boolFalse = 2, byte = 3, i16 = 4, i32 = 5, i64 = 6, double = 7
    case binary = 8, list = 9, set = 10, map = 11, structure = 12
}

/// Writes Thrift compact-protocol structs into a byte buffer (the subset Parquet metadata uses).
struct ThriftWriter {
    let out: ByteBuffer
    private var lastField: [Int16] = [0]

    init(_ out: ByteBuffer) { self.out = out }

    private mutating func fieldHeader(_ id: Int16, _ type: ThriftType) {
        let delta = Int(id) - Int(lastField[lastField.count - 1])
        if delta > 0 && delta <= 15 {
            out.append(UInt8(delta << 4) | type.rawValue)
        } else {
            out.append(type.rawValue)
            out.appendVarint(zigzag(Int64(id)))
        }
        lastField[lastField.count - 1] = id
    }

    private func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }

    /// Writes an i32 field.
    mutating func field(_ id: Int16, i32 value: Int32) {
        fieldHeader(id, .i32)
        out.appendVarint(zigzag(Int64(value)))
    }

    /// Writes an i64 field.
    mutating func field(_ id: Int16, i64 value: Int64) {
        fieldHeader(id, .i64)
        out.appendVarint(zigzag(value))
    }

    /// Writes an i16 field.
    mutating func field(_ id: Int16, i16 value: Int16) {
        fieldHeader(id, .i16)
        out.appendVarint(zigzag(Int64(value)))
    }

    /// Writes an i8 field.
    mutating func field(_ id: Int16, i8 value: Int8) {
        fieldHeader(id, .byte)
        out.append(UInt8(bitPattern: value))
    }

    /// Writes a bool field (the value lives in the type nibble).
    mutating func field(_ id: Int16, bool value: Bool) {
        fieldHeader(id, value ? .boolTrue : .boolFalse)
    }

    /// Writes a binary or string field.
    mutating func field(_ id: Int16, binary value: UnsafeRawBufferPointer) {
        fieldHeader(id, .binary)
        out.appendVarint(UInt64(value.count))
        out.append(value)
    }

    /// Writes a binary field from an array.
    mutating func field(_ id: Int16, binary value: [UInt8]) {
        value.withUnsafeBytes { field(id, binary: $0) }
    }

    /// Writes a string field.
    mutating func field(_ id: Int16, string value: String) {
        field(id, binary: Array(value.utf8))
    }

    /// Opens a struct field; close it with `endStruct`.
    mutating func beginStruct(_ id: Int16) {
        fieldHeader(id, .structure)
        lastField.append(0)
    }

    /// Closes a struct opened by `beginStruct` or `beginListElement`.
    mutating func endStruct() {
        out.append(ThriftType.stop.rawValue)
        lastField.removeLast()
    }

    /// Starts a list field of `count` elements of `type`.
    mutating func beginList(_ id: Int16, _ type: ThriftType, count: Int) {
        fieldHeader(id, .list)
        if count < 15 {
            out.append(UInt8(count << 4) | type.rawValue)
        } else {
            out.append(0xF0 | type.rawValue)
            out.appendVarint(UInt64(count))
        }
    }

    /// Starts one struct element of a list.
    mutating func beginListElement() { lastField.append(0) }

    /// Writes one i32 list element.
    func element(i32 value: Int32) { out.appendVarint(zigzag(Int64(value))) }

    /// Writes one binary or string list element.
    func element(string value: String) {
        let utf8 = Array(value.utf8)
        out.appendVarint(UInt64(utf8.count))
        out.append(utf8)
    }

    /// Ends the outermost struct (the message itself).
    mutating func endMessage() { out.append(ThriftType.stop.rawValue) }
}

/// A failure to decode Thrift: what was expected and the byte offset within the structure.
struct ThriftError: Error {
    var message: String
    var offset: Int
}

/// Reads Thrift compact-protocol structs from memory, bounds-checked.
struct ThriftReader {
    let data: UnsafeRawBufferPointer
    private(set) var position = 0
    private var lastField: [Int16] = [0]
    /// The bool carried in the type nibble of the last field header.
    private var pendingBool = false
    /// Nesting depth guard against malicious input.
    private let maxDepth = 64

    init(_ data: UnsafeRawBufferPointer) { self.data = data }

    private func fail(_ what: String) -> ThriftError { ThriftError(message: what, offset: position) }

    mutating func byte() throws(ThriftError) -> UInt8 {
        guard position < data.count else { throw fail("unexpected end of data") }
        defer { position += 1 }
        return data[position]
    }

    mutating func varint() throws(ThriftError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw fail("varint too long") }
        }
    }

    private mutating func zigzag() throws(ThriftError) -> Int64 {
        let v = try varint()
        return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
    }

    /// Reads the next field header; nil at the struct's stop byte.
    mutating func nextField() throws(ThriftError) -> (id: Int16, type: ThriftType)? {
        let header = try byte()
        if header == 0 { return nil }
        guard let type = ThriftType(rawValue: header & 0x0F), type != .stop else { throw fail("unknown field type \(header & 0x0F)") }
        let delta = header >> 4
        let id: Int16
        if delta != 0 {
            id = lastField[lastField.count - 1] &+ Int16(delta)
        } else {
            let raw = try zigzag()
            guard let narrow = Int16(exactly: raw) else { throw fail("bad field id") }
            id = narrow
        }
        lastField[lastField.count - 1] = id
        if type == .boolTrue || type == .boolFalse { pendingBool = type == .boolTrue }
        return (id, type)
    }

    /// Enters a nested struct (after its field header or as a list element).
    mutating func enterStruct() throws(ThriftError) {
        guard lastField.count < maxDepth else { throw fail("structures nested too deeply") }
        lastField.append(0)
    }

    /// Leaves a nested struct after its stop byte was read.
    mutating func leaveStruct() { lastField.removeLast() }

    mutating func i32(_ type: ThriftType) throws(ThriftError) -> Int32 {
        guard type == .i32 || type == .i16 || type == .byte else { throw fail("expected an integer, found type \(type)") }
        if type == .byte { return Int32(Int8(bitPattern: try byte())) }
        let v = try zigzag()
        guard let narrow = Int32(exactly: v) else { throw fail("integer out of range") }
        return narrow
    }

    mutating func i64(_ type: ThriftType) throws(ThriftError) -> Int64 {
        guard type == .i64 || type == .i32 || type == .i16 else { throw fail("expected an integer, found type \(type)") }
        return try zigzag()
    }

    func bool(_ type: ThriftType) throws(ThriftError) -> Bool {
        guard type == .boolTrue || type == .boolFalse else { throw fail("expected a bool") }
        return pendingBool
    }

    mutating func binary() throws(ThriftError) -> [UInt8] {
        let n = try varint()
        guard n <= UInt64(data.count - position) else { throw fail("length \(n) runs past the end") }
        defer { position += Int(n) }
        return Array(data[position..<(position + Int(n))])
    }

    mutating func string() throws(ThriftError) -> String {
        String(decoding: try binary(), as: UTF8.self)
    }

    /// Reads a list header: element type and count.
    mutating func listHeader() throws(ThriftError) -> (type: ThriftType, count: Int) {
        let header = try byte()
        guard let type = ThriftType(rawValue: header & 0x0F) else { throw fail("unknown list element type") }
        var count = Int(header >> 4)
        if count == 15 {
            let n = try varint()
            guard n <= UInt64(data.count - position) else { throw fail("list of \(n) elements runs past the end") }
            count = Int(n)
        }
        return (type, count)
    }

    /// A bool list element (1 is true).
    mutating func listBool() throws(ThriftError) -> Bool { try byte() == 1 }

    /// Skips a value of `type`.
    mutating func skip(_ type: ThriftType) throws(ThriftError) {
        switch type {
        case .stop: throw fail("unexpected stop")
        case .boolTrue, .boolFalse: break
        case .byte: _ = try byte()
        case .i16, .i32, .i64: _ = try varint()
        case .double:
            guard data.count - position >= 8 else { throw fail("unexpected end of data") }
            position += 8
        case .binary:
            let n = try varint()
            guard n <= UInt64(data.count - position) else { throw fail("length \(n) runs past the end") }
            position += Int(n)
        case .list, .set:
            let (elementType, count) = try listHeader()
            // Nested lists count towards the same depth limit as structs.
            try enterStruct()
            for _ in 0..<count {
                if elementType == .boolTrue || elementType == .boolFalse { _ = try byte() } else { try skip(elementType) }
            }
            leaveStruct()
        case .map:
            let n = try varint()
            guard n <= UInt64(data.count - position) else { throw fail("map of \(n) entries runs past the end") }
            if n > 0 {
                try enterStruct()
                defer { leaveStruct() }
                let types = try byte()
                guard let k = ThriftType(rawValue: types >> 4), let v = ThriftType(rawValue: types & 0x0F) else { throw fail("bad map types") }
                for _ in 0..<n {
                    try skip(k)
                    try skip(v)
                }
            }
        case .structure:
            try enterStruct()
            while let (_, t) = try nextField() { try skip(t) }
            leaveStruct()
        }
    }

    /// Reads a struct's fields with `body` (called per field; it must consume or skip the value),
    /// then checks that every field id in `required` was present (`name` is for the message).
    mutating func readStruct(_ name: String = "struct", required: [Int16] = [],
                             _ body: (inout ThriftReader, Int16, ThriftType) throws(ThriftError) -> Void) throws(ThriftError) {
        try enterStruct()
        var seen: UInt64 = 0
        while let (id, type) = try nextField() {
            if id >= 0 && id < 64 { seen |= 1 << UInt64(id) }
            try body(&self, id, type)
        }
        leaveStruct()
        for id in required where seen & (1 << UInt64(id)) == 0 {
            throw fail("\(name) lacks its required field \(id)")
        }
    }

    /// Reads a list of structs with `element`.
    mutating func readList<T>(_ element: (inout ThriftReader) throws(ThriftError) -> T) throws(ThriftError) -> [T] {
        let (type, count) = try listHeader()
        guard type == .structure else { throw fail("expected a list of structs") }
        var result: [T] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try element(&self)) }
        return result
    }

    /// Reads a list of i32 values.
    mutating func readI32List() throws(ThriftError) -> [Int32] {
        let (type, count) = try listHeader()
        var result: [Int32] = []
        for _ in 0..<count { result.append(try i32(type)) }
        return result
    }

    /// Reads a list of strings.
    mutating func readStringList() throws(ThriftError) -> [String] {
        let (type, count) = try listHeader()
        guard type == .binary else { throw fail("expected a list of strings") }
        var result: [String] = []
        for _ in 0..<count { result.append(try string()) }
        return result
    }
}
