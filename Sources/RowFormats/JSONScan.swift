import ToolSupport

/// One JSON value found in a line: its kind and where it is.
struct JSONToken {
    enum Kind { case null, bool, number, string, object, array }
    var kind: Kind
    /// The value's bytes as written (for a string: with its quotes).
    var raw: Range<Int>
    /// For a string: its unescaped UTF-8, in the line when `inLine` (no escapes), else in the
    /// scanner's `strings` buffer; for a bool: 1 or 0 in `lowerBound`.
    var text: Range<Int> = 0..<0
    /// Whether `text` indexes the line itself (a string without escapes is not copied).
    var inLine = false
    /// For a string that is valid JSON but no text PostgreSQL can store (`\u0000`, a lone surrogate
    /// escape): why. Such a string is fine inside a json value, which keeps its escapes as written.
    var undecodable: String? = nil

    /// A string token's unescaped bytes.
    func string(line: UnsafeRawBufferPointer, strings: ByteBuffer) throws -> UnsafeRawBufferPointer {
        if let undecodable { throw ValueError(undecodable) }
        return UnsafeRawBufferPointer(rebasing: inLine ? line[text] : strings.bytes[text])
    }
}

/// A validating JSON scanner over one line; unescaped strings go into `strings`.
struct JSONScan {
    let bytes: UnsafeRawBufferPointer
    var i: Int
    let strings: ByteBuffer

    init(_ bytes: UnsafeRawBufferPointer, from: Int = 0, strings: ByteBuffer) {
        self.bytes = bytes
        i = from
        self.strings = strings
    }

    /// An error naming the byte position (1-based, as a column) in the line.
    func fail(_ reason: String) -> ValueError { ValueError("invalid JSON at byte \(i + 1): \(reason)") }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 || bytes[i] == 10 || bytes[i] == 13 { i += 1 }
    }

    mutating func expect(_ c: UInt8, _ what: String) throws {
        skipSpace()
        guard i < bytes.count, bytes[i] == c else { throw missing(what) }
        i += 1
    }

    /// The error for something expected but not found here.
    func missing(_ what: String) -> ValueError {
        fail(i < bytes.count ? "expected \(what)" : "line ends early, expected \(what)")
    }

    /// Reads a whole line holding one object, calling `member` with each key (unescaped, in
    /// `strings`) and its value; anything after the object is an error.
    mutating func object(_ member: (_ key: Range<Int>, _ value: JSONToken) throws -> Void) throws {
        try expect(UInt8(ascii: "{"), "an object")
        if !take(UInt8(ascii: "}")) {
            repeat {
                let name = try key()
                try expect(UInt8(ascii: ":"), "':'")
                try member(name, try value())
            } while take(UInt8(ascii: ","))
            try expect(UInt8(ascii: "}"), "',' or '}'")
        }
        skipSpace()
        guard i == bytes.count else { throw fail("unexpected data after the object") }
    }

    /// Reads an object key (a string); its unescaped text's range in `strings`.
    mutating func key() throws -> Range<Int> {
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw missing("a key") }
        return try string()
    }

    /// Whether the next non-space byte is `c` (consumed when it is).
    mutating func take(_ c: UInt8) -> Bool {
        skipSpace()
        if i < bytes.count, bytes[i] == c { i += 1; return true }
        return false
    }

    /// Reads any value; objects and arrays are validated and skipped (their raw range is kept).
    mutating func value(depth: Int = 0) throws -> JSONToken {
        skipSpace()
        guard i < bytes.count else { throw fail("line ends early, expected a value") }
        let start = i
        switch bytes[i] {
        case UInt8(ascii: "\""):
            // Without escapes the text is the line's own bytes: a huge value is not copied.
            var j = i + 1
            while j < bytes.count, bytes[j] != UInt8(ascii: "\""), bytes[j] != UInt8(ascii: "\\"), bytes[j] >= 0x20 { j += 1 }
            if j < bytes.count, bytes[j] == UInt8(ascii: "\"") {
                i = j + 1
                return JSONToken(kind: .string, raw: start..<i, text: (start + 1)..<j, inLine: true)
            }
            let mark = strings.count
            do {
                let text = try string()
                return JSONToken(kind: .string, raw: start..<i, text: text)
            } catch let error as ValueError {
                // Valid JSON all the same? Then only text columns refuse it (json keeps it as written).
                i = start
                strings.count = mark
                try skipString()
                return JSONToken(kind: .string, raw: start..<i, undecodable: error.reason)
            }
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < 1000 else { throw fail("nesting too deep") }
            let object = bytes[i] == UInt8(ascii: "{")
            i += 1
            let close = object ? UInt8(ascii: "}") : UInt8(ascii: "]")
            if !take(close) {
                repeat {
                    // Inside a json value nothing is decoded: its strings are checked, kept as written.
                    if object {
                        skipSpace()
                        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw missing("a key") }
                        try skipString()
                        try expect(UInt8(ascii: ":"), "':'")
                    }
                    skipSpace()
                    if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
                        try skipString()
                    } else {
                        _ = try value(depth: depth + 1)
                    }
                } while take(UInt8(ascii: ","))
                try expect(close, object ? "',' or '}'" : "',' or ']'")
            }
            return JSONToken(kind: object ? .object : .array, raw: start..<i)
        case UInt8(ascii: "t"): try literal("true"); return JSONToken(kind: .bool, raw: start..<i, text: 1..<1)
        case UInt8(ascii: "f"): try literal("false"); return JSONToken(kind: .bool, raw: start..<i, text: 0..<0)
        case UInt8(ascii: "n"): try literal("null"); return JSONToken(kind: .null, raw: start..<i)
        default:
            try number()
            return JSONToken(kind: .number, raw: start..<i)
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count, UnsafeRawBufferPointer(rebasing: bytes[i..<(i + n)]).elementsEqual(UnsafeRawBufferPointer(start: word.utf8Start, count: n)) else {
            throw fail("unexpected character")
        }
        i += n
    }

    /// The JSON number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func number() throws {
        func digits() throws {
            guard i < bytes.count, bytes[i] &- 0x30 < 10 else { throw fail("invalid number") }
            while i < bytes.count, bytes[i] &- 0x30 < 10 { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, bytes[i] &- 0x30 < 10 else { throw fail("unexpected character") }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else { try digits() }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") { i += 1; try digits() }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            try digits()
        }
    }

    /// Moves past a string literal, checking its syntax (escapes included) without decoding it.
    mutating func skipString() throws {
        let n = bytes.count
        var j = i + 1
        defer { i = j }
        while true {
            while j < n {
                let c = bytes[j]
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 { break }
                j += 1
            }
            guard j < n else { i = j; throw fail("unterminated string") }
            let c = bytes[j]
            if c == UInt8(ascii: "\"") { j += 1; return }
            if c < 0x20 { i = j; throw fail("control character in string") }
            j += 1
            guard j < n else { i = j; throw fail("unterminated string") }
            switch bytes[j] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                 UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                j += 1
            case UInt8(ascii: "u"):
                guard j + 5 <= n, hexDigitValue(bytes[j + 1]) != nil, hexDigitValue(bytes[j + 2]) != nil,
                      hexDigitValue(bytes[j + 3]) != nil, hexDigitValue(bytes[j + 4]) != nil else { i = j; throw fail("invalid \\u escape") }
                j += 5
            default:
                i = j
                throw fail("invalid escape")
            }
        }
    }

    /// A string literal, unescaped into `strings`; returns its range there.
    mutating func string() throws -> Range<Int> {
        i += 1
        let start = strings.count
        var run = i
        while true {
            guard i < bytes.count else { throw fail("unterminated string") }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                strings.append(UnsafeRawBufferPointer(rebasing: bytes[run..<i]))
                i += 1
                return start..<strings.count
            }
            if c < 0x20 { throw fail("control character in string") }
            guard c == UInt8(ascii: "\\") else { i += 1; continue }
            strings.append(UnsafeRawBufferPointer(rebasing: bytes[run..<i]))
            i += 1
            guard i < bytes.count else { throw fail("unterminated string") }
            do {
                let scalar = try JSONEscape.decode(bytes, at: &i) { strings.append($0) }
                guard scalar != 0 else { throw fail("\\u0000 cannot be stored in PostgreSQL text") }
            } catch let error as JSONEscapeError {
                throw fail(error.reason)
            }
            run = i
        }
    }

}
