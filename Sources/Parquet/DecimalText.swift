/// Conversions between decimal text and the unscaled two's-complement integers DECIMAL columns store.
public enum DecimalText {
    /// "123.45" from unscaled 12345 and scale 2.
    public static func format(unscaled: Int64, scale: Int) -> String {
        let negative = unscaled < 0
        return place(String(unscaled.magnitude), negative: negative, scale: scale)
    }

    /// Decimal text from a big-endian two's-complement unscaled value of any width.
    public static func format(bigEndian bytes: some Collection<UInt8>, scale: Int) -> String {
        var magnitude = Array(bytes)
        guard !magnitude.isEmpty else { return place("0", negative: false, scale: scale) }
        let negative = magnitude[0] & 0x80 != 0
        if negative {
            // Two's complement negation: invert and add one.
            var carry = 1
            for i in stride(from: magnitude.count - 1, through: 0, by: -1) {
                let v = Int(~magnitude[i]) + carry
                magnitude[i] = UInt8(v & 0xFF)
                carry = v >> 8
            }
        }
        // Repeated division by 10^9 of the big-endian magnitude.
        var chunks: [UInt32] = []
        var digits = magnitude
        while digits.contains(where: { $0 != 0 }) {
            var remainder: UInt64 = 0
            for i in 0..<digits.count {
                let cur = remainder << 8 | UInt64(digits[i])
                digits[i] = UInt8(cur / 1_000_000_000)
                remainder = cur % 1_000_000_000
            }
            chunks.append(UInt32(remainder))
        }
        var text = String(chunks.last ?? 0)
        for chunk in chunks.dropLast().reversed() {
            let part = String(chunk)
            text += String(repeating: "0", count: 9 - part.count) + part
        }
        return place(text, negative: negative, scale: scale)
    }

    private static func place(_ digits: String, negative: Bool, scale: Int) -> String {
        var d = digits
        if scale > 0 {
            if d.count <= scale { d = String(repeating: "0", count: scale - d.count + 1) + d }
            d.insert(".", at: d.index(d.endIndex, offsetBy: -scale))
        }
        return negative && digits != "0" ? "-" + d : d
    }

    /// The unscaled value of decimal text at `scale`, as big-endian two's complement of `width` bytes.
    ///
    /// Returns nil for text that is not a plain decimal number, has more fractional digits
    /// than `scale`, or does not fit in `width` bytes.
    public static func unscaledBigEndian(_ text: some StringProtocol, scale: Int, width: Int) -> [UInt8]? {
        var utf8 = Substring(text).utf8[...]
        var negative = false
        if let first = utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            utf8 = utf8.dropFirst()
        }
        var value = [UInt8](repeating: 0, count: width)
        var fraction = -1
        var sawDigit = false
        func multiplyAdd(_ digit: UInt8) -> Bool {
            var carry = UInt32(digit)
            for i in stride(from: width - 1, through: 0, by: -1) {
                let v = UInt32(value[i]) * 10 + carry
                value[i] = UInt8(v & 0xFF)
                carry = v >> 8
            }
            return carry == 0
        }
        for c in utf8 {
            if c == UInt8(ascii: ".") {
                guard fraction < 0 else { return nil }
                fraction = 0
                continue
            }
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            sawDigit = true
            if fraction >= 0 { fraction += 1 }
            guard fraction <= scale, multiplyAdd(c - UInt8(ascii: "0")) else { return nil }
        }
        guard sawDigit else { return nil }
        for _ in 0..<(scale - max(fraction, 0)) {
            guard multiplyAdd(0) else { return nil }
        }
        // The magnitude must leave the sign bit clear (or be exactly the most negative value).
        if value[0] & 0x80 != 0 {
            guard negative, value[0] == 0x80, value.dropFirst().allSatisfy({ $0 == 0 }) else { return nil }
            return value
        }
        if negative {
            var carry = 1
            for i in stride(from: width - 1, through: 0, by: -1) {
                let v = Int(~value[i]) + carry
                value[i] = UInt8(v & 0xFF)
                carry = v >> 8
            }
        }
        return value
    }
}
