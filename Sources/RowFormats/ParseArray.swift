import RowStream

/// The shape of an array being read: nesting seen so far, each level's length, where elements sit.
/// Fixed-size storage (PostgreSQL allows 6 dimensions), so a value allocates nothing.
struct ArrayShape {
    static let maxDimensions = 6
    /// Each level's length, −1 until its first sub-array closes.
    private(set) var lengths = InlineArray<6, Int32>(repeating: -1)
    /// Items seen so far in each open level.
    private var counts = InlineArray<6, Int32>(repeating: 0)
    /// Open levels.
    private var depth = 0
    /// The level elements sit at (−1 before the first).
    private var leafDepth = -1
    private(set) var elements = 0

    /// Dimensions of the finished array: 0 when it has no elements.
    var dimensions: Int { elements == 0 ? 0 : leafDepth + 1 }

    static let notRectangular = ValueError("multidimensional arrays must have sub-arrays of matching dimensions")

    /// A `{` or `[`: a sub-array opens.
    mutating func open() throws {
        if depth > 0 {
            guard leafDepth < 0 || depth - 1 < leafDepth else { throw Self.notRectangular }
            counts[depth - 1] += 1
        }
        guard depth < Self.maxDimensions else { throw ValueError("arrays have at most \(Self.maxDimensions) dimensions") }
        counts[depth] = 0
        depth += 1
    }

    /// An element (NULL or not) in the innermost open level.
    mutating func element() throws {
        if leafDepth < 0 { leafDepth = depth - 1 } else if leafDepth != depth - 1 { throw Self.notRectangular }
        counts[depth - 1] += 1
        elements += 1
    }

    /// A `}` or `]`: the innermost level closes; true when that was the outermost.
    mutating func close() throws -> Bool {
        depth -= 1
        let count = counts[depth]
        if lengths[depth] < 0 { lengths[depth] = count } else if lengths[depth] != count { throw Self.notRectangular }
        return depth == 0
    }
}

/// Builds PostgreSQL's binary array in place: header, then each element in row-major order.
struct ArrayBuilder {
    let out: ByteBuffer
    let start: Int
    var shape = ArrayShape()
    var hasNull = false
    /// Lower bounds from a `[m:n]…=` prefix, with the upper bounds to check (`declared` of them).
    private var lower = InlineArray<6, Int32>(repeating: 1)
    private var upper = InlineArray<6, Int64>(repeating: 0)
    private var declared = 0

    init(_ out: ByteBuffer, elementOID: UInt32) {
        self.out = out
        start = out.count
        out.appendBigEndian(Int32(1))
        out.appendBigEndian(Int32(0))
        out.appendBigEndian(elementOID)
        out.appendBigEndian(Int32(0))
        out.appendBigEndian(Int32(1))
    }

    var declaredDimensions: Int { declared }
    func declaredLower(_ d: Int) -> Int32 { lower[d] }
    func declaredLength(_ d: Int) -> Int64 { upper[d] - Int64(lower[d]) + 1 }

    /// A `[lower:upper]` of the array text's dimension decoration, in order.
    mutating func declare(lower l: Int32, upper u: Int32) throws {
        guard declared < ArrayShape.maxDimensions, Int64(u) >= Int64(l) - 1 else { throw ValueError("invalid array dimensions [\(l):\(u)]") }
        lower[declared] = l
        upper[declared] = Int64(u)
        declared += 1
    }

    /// Appends a NULL element.
    mutating func nullElement() throws {
        try shape.element()
        hasNull = true
        out.appendBigEndian(Int32(-1))
    }

    /// Appends an element: `body` writes its binary bytes.
    @inline(__always)
    mutating func element(_ body: () throws -> Void) throws {
        try shape.element()
        let lengthAt = out.count
        out.appendBigEndian(Int32(0))
        try body()
        out.storeBigEndian(Int32(out.count - lengthAt - 4), at: lengthAt)
    }

    /// Writes the dimensions (and moves the elements when there are more than one); an empty array has none.
    func finish() throws {
        let ndim = shape.dimensions
        if ndim == 0 {
            out.storeBigEndian(0, at: start)
            out.count = start + 12
            return
        }
        if declared > 0 {
            guard declared == ndim else { throw ValueError("the array's dimension decoration does not match its \(ndim) dimension\(ndim == 1 ? "" : "s")") }
            for d in 0..<ndim where upper[d] - Int64(lower[d]) + 1 != Int64(shape.lengths[d]) {
                throw ValueError("array bounds [\(lower[d]):\(upper[d])] do not match the \(shape.lengths[d]) elements of dimension \(d + 1)")
            }
        }
        if ndim > 1 { out.insertGap(8 * (ndim - 1), at: start + 20) }
        out.storeBigEndian(Int32(ndim), at: start)
        out.storeBigEndian(hasNull ? 1 : 0, at: start + 4)
        for d in 0..<ndim {
            out.storeBigEndian(shape.lengths[d], at: start + 12 + 8 * d)
            out.storeBigEndian(lower[d], at: start + 16 + 8 * d)
        }
    }
}

extension ArrayBuilder {
    /// Like `finish`, for elements appended flat (one level, row-major) whose dimensions are given
    /// as `array_dims()` text (`[1:2][0:2]`, docs/types.md "Arrays in Parquet"): the lengths' product
    /// must be the number of elements.
    mutating func finish(dims text: UnsafeRawBufferPointer) throws {
        var i = 0, total: Int64 = 1
        // A signed decimal int32 at `i`, ending at `end`.
        func integer(until end: UInt8) -> Int32? {
            let negative = i < text.count && text[i] == UInt8(ascii: "-")
            if negative { i += 1 }
            var value: Int64 = 0, digits = 0
            while i < text.count, text[i] >= 48, text[i] <= 57, digits < 11 {
                value = value * 10 + Int64(text[i] - 48)
                digits += 1
                i += 1
            }
            guard digits > 0, i < text.count, text[i] == end else { return nil }
            i += 1
            return Int32(exactly: negative ? -value : value)
        }
        while i < text.count {
            guard text[i] == UInt8(ascii: "[") else { throw ValueError("not array dimensions: \(TextParse.quoted(text))") }
            i += 1
            guard let low = integer(until: UInt8(ascii: ":")), let high = integer(until: UInt8(ascii: "]")), Int64(high) >= Int64(low) else {
                throw ValueError("not array dimensions: \(TextParse.quoted(text))")
            }
            try declare(lower: low, upper: high)
            total *= Int64(high) - Int64(low) + 1
            guard total <= Int64(shape.elements) else { break }
        }
        let ndim = declaredDimensions
        guard ndim > 0, i == text.count, total == Int64(shape.elements) else {
            throw ValueError("array dimensions \(TextParse.quoted(text)) do not hold the \(shape.elements) elements of the list")
        }
        if ndim > 1 { out.insertGap(8 * (ndim - 1), at: start + 20) }
        out.storeBigEndian(Int32(ndim), at: start)
        out.storeBigEndian(hasNull ? 1 : 0, at: start + 4)
        for d in 0..<ndim {
            out.storeBigEndian(Int32(declaredLength(d)), at: start + 12 + 8 * d)
            out.storeBigEndian(declaredLower(d), at: start + 16 + 8 * d)
        }
    }
}

/// Array text → PostgreSQL's binary array.
enum TextValue {
    /// Appends the binary array of PostgreSQL's array text `text` with elements of `kind`.
    static func appendArray(_ kind: ScalarKind, _ text: UnsafeRawBufferPointer, labels: [String]?, elementOID: UInt32, to out: ByteBuffer) throws {
        var builder = ArrayBuilder(out, elementOID: elementOID)
        try ArrayText.parse(text, into: &builder) { element in
            try TextParse.append(kind, element, labels: labels, to: out)
        }
        try builder.finish()
    }
}

/// PostgreSQL's array text (`{1,NULL,"a \"b\""}`, `{{1,2},{3,4}}`, `[0:1][1:2]={{x,y},{z,w}}`).
enum ArrayText {
    /// Reads the array's dimension decoration and nesting into `builder`, passing each non-NULL
    /// element's unescaped text to `element`, which writes its binary form.
    static func parse(_ text: UnsafeRawBufferPointer, into builder: inout ArrayBuilder,
                      element: (UnsafeRawBufferPointer) throws -> Void) throws {
        let bad = ValueError("not an array literal: \(TextParse.quoted(text))")
        var i = 0
        func space() { while i < text.count, isSpace(text[i]) { i += 1 } }
        space()
        if i < text.count, text[i] == UInt8(ascii: "[") {
            while i < text.count, text[i] == UInt8(ascii: "[") {
                let close = text[i...].firstIndex(of: UInt8(ascii: "]")) ?? text.count
                let dims = String(decoding: text[(i + 1)..<min(close, text.count)], as: UTF8.self).split(separator: ":")
                guard close < text.count, dims.count == 2, let low = Int32(dims[0]), let high = Int32(dims[1]) else { throw bad }
                try builder.declare(lower: low, upper: high)
                i = close + 1
            }
            guard i < text.count, text[i] == UInt8(ascii: "=") else { throw bad }
            i += 1
            space()
        }
        guard i < text.count, text[i] == UInt8(ascii: "{") else { throw bad }
        i += 1
        try builder.shape.open()
        let value = ByteBuffer(capacity: 256)
        var expectItem = true, mayClose = true
        while true {
            space()
            guard i < text.count else { throw bad }
            let c = text[i]
            if expectItem && c == UInt8(ascii: "{") {
                try builder.shape.open()
                i += 1
                mayClose = true
                continue
            }
            if mayClose && c == UInt8(ascii: "}") {
                i += 1
                if try builder.shape.close() { break }
                expectItem = false
                continue
            }
            if !expectItem && c == UInt8(ascii: ",") {
                i += 1
                expectItem = true
                mayClose = false
                continue
            }
            guard expectItem else { throw bad }
            value.removeAll()
            var quoted = false
            var lastSignificant = 0
            while i < text.count {
                let c = text[i]
                if c == UInt8(ascii: "\"") {
                    quoted = true
                    i += 1
                    while true {
                        guard i < text.count else { throw bad }
                        let q = text[i]
                        i += 1
                        if q == UInt8(ascii: "\"") { break }
                        if q == UInt8(ascii: "\\") {
                            guard i < text.count else { throw bad }
                            value.append(text[i])
                            i += 1
                        } else {
                            value.append(q)
                        }
                    }
                    lastSignificant = value.count
                    continue
                }
                if c == UInt8(ascii: ",") || c == UInt8(ascii: "}") { break }
                if c == UInt8(ascii: "{") { throw bad }
                if c == UInt8(ascii: "\\") {
                    i += 1
                    guard i < text.count else { throw bad }
                    value.append(text[i])
                    lastSignificant = value.count
                } else {
                    value.append(c)
                    if !isSpace(c) { lastSignificant = value.count }
                }
                i += 1
            }
            guard i < text.count else { throw bad }
            value.count = lastSignificant
            if !quoted && value.count == 4 && value.bytes.map({ $0 & 0xDF }) == Array("NULL".utf8) {
                try builder.nullElement()
            } else {
                try builder.element { try element(value.bytes) }
            }
            expectItem = false
            mayClose = true
        }
        space()
        guard i == text.count else { throw bad }
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 32 || (9...13).contains(c) }
}
