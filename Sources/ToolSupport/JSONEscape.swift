/// JSON string escapes (RFC 8259 §7): the one decoder both JSON parsers use.
public enum JSONEscape {
    /// Decodes the escape whose letter is at `bytes[at]` (just after its backslash), moves `at`
    /// past it (and past the low half of a surrogate pair), and gives its UTF-8 bytes to `emit`.
    /// Returns the Unicode scalar it stands for; throws a short reason for a malformed one.
    @inlinable
    public static func decode<Bytes: RandomAccessCollection>(_ bytes: Bytes, at: inout Int,
                                                             emit: (UInt8) -> Void) throws(JSONEscapeError) -> UInt32
        where Bytes.Element == UInt8, Bytes.Index == Int {
        guard at < bytes.endIndex else { throw JSONEscapeError("unterminated string") }
        let letter = bytes[at]
        at += 1
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): emit(letter); return UInt32(letter)
        case UInt8(ascii: "b"): emit(8); return 8
        case UInt8(ascii: "f"): emit(12); return 12
        case UInt8(ascii: "n"): emit(10); return 10
        case UInt8(ascii: "r"): emit(13); return 13
        case UInt8(ascii: "t"): emit(9); return 9
        case UInt8(ascii: "u"):
            var scalar = try hex4(bytes, at: &at)
            if (0xD800..<0xDC00).contains(scalar) {
                guard at + 1 < bytes.endIndex, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else {
                    throw JSONEscapeError("unpaired surrogate")
                }
                at += 2
                let low = try hex4(bytes, at: &at)
                guard (0xDC00..<0xE000).contains(low) else { throw JSONEscapeError("unpaired surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw JSONEscapeError("unpaired surrogate")
            }
            for unit in String(Character(Unicode.Scalar(scalar)!)).utf8 { emit(unit) }
            return scalar
        default:
            throw JSONEscapeError("invalid escape")
        }
    }

    @inlinable
    static func hex4<Bytes: RandomAccessCollection>(_ bytes: Bytes, at: inout Int) throws(JSONEscapeError) -> UInt32
        where Bytes.Element == UInt8, Bytes.Index == Int {
        guard at + 4 <= bytes.endIndex else { throw JSONEscapeError("invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = hexDigitValue(bytes[at]) else { throw JSONEscapeError("invalid \\u escape") }
            value = value << 4 | UInt32(digit)
            at += 1
        }
        return value
    }
}

/// Why a JSON escape is malformed.
public struct JSONEscapeError: Error {
    public let reason: String
    @inlinable public init(_ reason: String) { self.reason = reason }
}

/// The value of one hexadecimal digit (either case), or nil.
@inlinable
public func hexDigitValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - 0x30
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - 0x57
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - 0x37
    default: return nil
    }
}
