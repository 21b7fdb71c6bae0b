#if canImport(Glibc)
import Glibc
#endif
import RowStream

/// Binary (PostgreSQL wire form) → text, written straight into a `ByteBuffer`.
///
/// `.iso` is PostgreSQL's text output with DateStyle=ISO, TimeZone=UTC, IntervalStyle=postgres and
/// extra_float_digits=1 (COPY's text and CSV forms); `.xsd` differs only for dates and timestamps,
/// which row_to_json writes in ISO 8601 with a `T` and a `+00:00` offset.
public enum TextRender {
    /// The date and time notation.
    public enum Style: Sendable { case iso, xsd }

    /// Appends the text form of one value of `kind` (binary bytes `v`) to `out`.
    @inline(__always)
    public static func append(_ kind: ScalarKind, _ v: UnsafeRawBufferPointer, to out: ByteBuffer, style: Style = .iso) throws {
        switch kind {
        case .text, .varchar, .bpchar, .name, .json, .enumeration:
            out.append(v)
        case .jsonb:
            guard v.count >= 1, v[0] == 1 else { throw ValueError("unsupported jsonb binary version") }
            out.append(UnsafeRawBufferPointer(rebasing: v[1...]))
        case .int2:
            guard v.count == 2 else { throw lengthError(kind, v) }
            out.appendDecimal(Int64(v.int16(0)))
        case .int4:
            guard v.count == 4 else { throw lengthError(kind, v) }
            out.appendDecimal(Int64(v.int32(0)))
        case .int8:
            guard v.count == 8 else { throw lengthError(kind, v) }
            out.appendDecimal(v.int64(0))
        case .bool:
            guard v.count == 1 else { throw lengthError(kind, v) }
            out.append(v[0] != 0 ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        case .float4:
            guard v.count == 4 else { throw lengthError(kind, v) }
            appendFloat(Float(bitPattern: UInt32(bitPattern: v.int32(0))), to: out)
        case .float8:
            guard v.count == 8 else { throw lengthError(kind, v) }
            appendFloat(Double(bitPattern: UInt64(bitPattern: v.int64(0))), to: out)
        case .numeric:
            try appendNumeric(v, to: out)
        case .date:
            guard v.count == 4 else { throw lengthError(kind, v) }
            DateTimeText.appendDate(v.int32(0), to: out)
        case .timestamp, .timestamptz:
            guard v.count == 8 else { throw lengthError(kind, v) }
            DateTimeText.appendTimestamp(v.int64(0), zoned: kind == .timestamptz, style: style, to: out)
        case .time:
            guard v.count == 8 else { throw lengthError(kind, v) }
            DateTimeText.appendTime(v.int64(0), to: out)
        case .timetz:
            guard v.count == 12 else { throw lengthError(kind, v) }
            DateTimeText.appendTime(v.int64(0), to: out)
            DateTimeText.appendOffset(-Int(v.int32(8)), short: true, to: out)
        case .interval:
            guard v.count == 16 else { throw lengthError(kind, v) }
            DateTimeText.appendInterval(micros: v.int64(0), days: v.int32(8), months: v.int32(12), to: out)
        case .bytea:
            out.append("\\x")
            out.reserve(v.count * 2)
            for byte in v { out.appendHex(byte) }
        case .uuid:
            guard v.count == 16 else { throw lengthError(kind, v) }
            for i in 0..<16 {
                if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
                out.appendHex(v[i])
            }
        case .macaddr:
            guard v.count == 6 else { throw lengthError(kind, v) }
            for i in 0..<6 {
                if i > 0 { out.append(UInt8(ascii: ":")) }
                out.appendHex(v[i])
            }
        case .inet, .cidr:
            try NetworkText.append(v, to: out)
        }
    }

    static func lengthError(_ kind: ScalarKind, _ v: UnsafeRawBufferPointer) -> ValueError {
        ValueError("\(kind.rawValue) value of \(v.count) bytes")
    }

    /// PostgreSQL's numeric text: base-10000 digits, weight, sign (NaN, ±Infinity) and display scale.
    static func appendNumeric(_ v: UnsafeRawBufferPointer, to out: ByteBuffer) throws {
        guard v.count >= 8 else { throw lengthError(.numeric, v) }
        let ndigits = Int(UInt16(bitPattern: v.int16(0))), weight = Int(v.int16(2)), sign = UInt16(bitPattern: v.int16(4)), dscale = Int(v.int16(6))
        guard v.count == 8 + 2 * ndigits, dscale >= 0 else { throw ValueError("malformed numeric") }
        switch sign {
        case 0x0000: break
        case 0x4000: out.append(UInt8(ascii: "-"))
        case 0xC000: out.append("NaN"); return
        case 0xD000: out.append("Infinity"); return
        case 0xF000: out.append("-Infinity"); return
        default: throw ValueError("malformed numeric sign")
        }
        @inline(__always) func digit(_ i: Int) -> UInt64 {
            i >= 0 && i < ndigits ? UInt64(UInt16(bitPattern: v.int16(8 + 2 * i))) : 0
        }
        if weight < 0 {
            out.append(UInt8(ascii: "0"))
        } else {
            out.appendDecimal(digit(0))
            if weight > 0 { for i in 1...weight { out.appendDecimal(digit(i), width: 4) } }
        }
        guard dscale > 0 else { return }
        out.append(UInt8(ascii: "."))
        let end = out.count + dscale
        var i = weight + 1
        while out.count < end {
            out.appendDecimal(digit(i), width: 4)
            i += 1
        }
        out.count = end
    }

    /// The shortest text that reads back as the same float, laid out like PostgreSQL's float4out/float8out.
    static func appendFloat<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F, to out: ByteBuffer) {
        if value.isNaN { out.append("NaN"); return }
        if value.isInfinite { out.append(value < 0 ? "-Infinity" : "Infinity"); return }
        if value.sign == .minus { out.append(UInt8(ascii: "-")) }
        if value == 0 { out.append(UInt8(ascii: "0")); return }
        // Swift's description is the shortest round-trip text; take its digits and exponent.
        var text = value.magnitude.description
        let fixedLimit = F.significandBitCount > 23 ? 15 : 6
        // Most values: between 1e-4 and 1e15 (1e6 for float4) both print the shortest digits in
        // fixed notation, Swift with a ".0" on integers; copy them (no parse, no re-layout).
        if value.magnitude >= 0.0001, value.magnitude < (fixedLimit == 15 ? 1e15 : 1e6) {
            let copied = text.withUTF8 { s -> Bool in
                guard !s.contains(UInt8(ascii: "e")) else { return false }
                let integral = s.count >= 2 && s[s.count - 2] == UInt8(ascii: ".") && s[s.count - 1] == UInt8(ascii: "0")
                out.append(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(s)[0..<(integral ? s.count - 2 : s.count)]))
                return true
            }
            if copied { return }
        }
        if value.magnitude >= F(sign: .plus, exponent: F.Exponent(F.significandBitCount + 1), significand: 1) {
            text = FloatBoundary.exclusiveShortest(value.magnitude, shortest: text)
        }
        var mantissa: UInt64 = 0
        var count = 0
        var exponent = 0  // value = 0.d1d2… × 10^exponent
        text.withUTF8 { s in
            var i = 0, pointSeen = false
            while i < s.count, s[i] != UInt8(ascii: "e") {
                let c = s[i]
                i += 1
                if c == UInt8(ascii: ".") { pointSeen = true; continue }
                if !pointSeen { exponent += 1 }
                if count == 0 && c == UInt8(ascii: "0") { exponent -= 1; continue }
                mantissa = mantissa * 10 + UInt64(c &- 0x30)
                count += 1
            }
            if i < s.count {
                i += 1
                var negative = false
                if s[i] == UInt8(ascii: "-") { negative = true; i += 1 } else if s[i] == UInt8(ascii: "+") { i += 1 }
                var e = 0
                while i < s.count { e = e * 10 + Int(s[i] &- 0x30); i += 1 }
                exponent += negative ? -e : e
            }
        }
        while count > 1 && mantissa % 10 == 0 { mantissa /= 10; count -= 1 }
        // Digits of the mantissa, most significant first.
        var buffer: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &buffer) { d in
            var m = mantissa
            for k in stride(from: count - 1, through: 0, by: -1) { d[k] = UInt8(m % 10) + 0x30; m /= 10 }
            let e10 = exponent - 1  // exponent of the first digit
            if e10 >= -4 && e10 < fixedLimit {
                if e10 < 0 {
                    out.append("0.")
                    for _ in 0..<(-e10 - 1) { out.append(UInt8(ascii: "0")) }
                    out.append(UnsafeRawBufferPointer(rebasing: d[0..<count]))
                } else if count <= e10 + 1 {
                    out.append(UnsafeRawBufferPointer(rebasing: d[0..<count]))
                    for _ in 0..<(e10 + 1 - count) { out.append(UInt8(ascii: "0")) }
                } else {
                    out.append(UnsafeRawBufferPointer(rebasing: d[0..<(e10 + 1)]))
                    out.append(UInt8(ascii: "."))
                    out.append(UnsafeRawBufferPointer(rebasing: d[(e10 + 1)..<count]))
                }
            } else {
                out.append(d[0])
                if count > 1 {
                    out.append(UInt8(ascii: "."))
                    out.append(UnsafeRawBufferPointer(rebasing: d[1..<count]))
                }
                out.append(UInt8(ascii: "e"))
                out.append(e10 < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
                out.appendDecimal(UInt64(abs(e10)), width: 2)
            }
        }
    }
}

/// PostgreSQL's shortest float output (Ryu) treats the rounding interval as open: a shortest
/// candidate lying exactly halfway to a neighbouring float is not taken, where Swift (like Python)
/// takes it under round-half-even. That can happen only for integers of 2^(p+1) and more (a
/// halfway point has a binary fraction below that); there the candidate is checked exactly in
/// 128-bit integers and, when on a boundary, the next precision whose correctly rounded text lies
/// strictly inside the interval is used. Magnitudes of 2^120 and more are left to Swift's choice.
enum FloatBoundary {
    static func exclusiveShortest<F: BinaryFloatingPoint & LosslessStringConvertible>(_ v: F, shortest: String) -> String {
        let value = Double(v)
        guard v.isFinite, v < F.greatestFiniteMagnitude, value < 0x1p120 else { return shortest }
        // Twice the bounds, so that half an ulp stays an integer.
        let center = UInt128(value) * 2
        let upper = center + UInt128(Double(v.nextUp) - value)
        let lower = center - UInt128(value - Double(v.nextDown))
        func inside(_ text: String) -> Bool {
            guard let (digits, exponent) = decimal(text) else { return false }
            // Compare digits × 10^exponent × 2 with the doubled bounds, scaled to integers.
            var candidate = UInt128(digits) * 2
            var low = lower, high = upper
            if exponent >= 0 {
                for _ in 0..<exponent { candidate *= 10 }
            } else {
                for _ in 0..<(-exponent) { low *= 10; high *= 10 }
            }
            return candidate > low && candidate < high
        }
        if inside(shortest) { return shortest }
        let mantissa = shortest.split(separator: "e").first ?? Substring(shortest)
        let digits = mantissa.utf8.filter { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
        let limit = F.significandBitCount > 23 ? 17 : 9
        for precision in max(digits, 1)...limit {
            let text = String(cString: formatScientific(value, digits: precision))
            if inside(text) { return text }
        }
        return shortest
    }

    /// The significant digits and power of ten of a positive decimal text (`123.4`, `1.5e+20`).
    static func decimal(_ text: String) -> (UInt64, Int)? {
        let parts = text.split(separator: "e")
        var digits: UInt64 = 0, exponent = 0, seenPoint = false
        for c in parts[0].utf8 {
            if c == UInt8(ascii: ".") { seenPoint = true; continue }
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9"), digits < UInt64.max / 10 - 10 else { return nil }
            digits = digits * 10 + UInt64(c - 48)
            if seenPoint { exponent -= 1 }
        }
        if parts.count == 2 {
            guard let e = Int(parts[1].hasPrefix("+") ? parts[1].dropFirst() : parts[1]) else { return nil }
            exponent += e
        }
        guard exponent > -40, exponent < 40 else { return nil }
        return (digits, exponent)
    }

    /// `%.{digits-1}e` of `value`, correctly rounded by the C library.
    static func formatScientific(_ value: Double, digits: Int) -> [CChar] {
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([Int32(digits - 1), value]) { vsnprintf(&buffer, buffer.count, "%.*e", $0) }
        return buffer
    }
}
