import RowStream

/// The canonical encoding of rowstream values (docs/rowstream.md, "Row digest").
///
/// A value's canonical bytes are its PostgreSQL binary form, except for the few types whose
/// binary form admits several spellings of one value: `bool` (0 or 1), `float4`/`float8` (one
/// NaN), `numeric` (no leading or trailing zero digit groups; one zero; specials without digits
/// or scale) and arrays (has-nulls flag recomputed, element OID 0, elements canonical).
/// Input that does not parse as its type is left as it is (the digest still covers it).
public enum Canonical {
    /// What a column's values need before hashing.
    public enum Check: Equatable, Sendable {
        /// Nothing: the binary form is canonical.
        case none
        case bool, float4, float8, numeric
        /// A one-dimensional (or empty) array whose elements need `element`.
        indirect case array(Check)
    }

    /// The check for a column of the schema (text-cast and unknown columns need none).
    public static func check(for column: RowStreamSchema.Column) -> Check {
        switch TypeTable.kind(of: column) {
        case .scalar(let kind)?: return check(kind)
        case .array(let kind)?: return .array(check(kind))
        case nil: return .none
        }
    }

    static func check(_ kind: ScalarKind) -> Check {
        switch kind {
        case .bool: .bool
        case .float4: .float4
        case .float8: .float8
        case .numeric: .numeric
        default: .none
        }
    }

    static let nan4: UInt32 = 0x7FC0_0000
    static let nan8: UInt64 = 0x7FF8_0000_0000_0000

    /// Whether `value` is already canonical for `check` (arrays never are: their element OID is 0 here).
    @inline(__always)
    static func isCanonical(_ value: UnsafeRawBufferPointer, _ check: Check) -> Bool {
        switch check {
        case .none: return true
        case .bool: return value.count != 1 || value[0] <= 1
        case .float4:
            guard value.count == 4 else { return true }
            let bits = loadBigEndianUInt32(value.baseAddress!)
            return !Float(bitPattern: bits).isNaN || bits == nan4
        case .float8:
            guard value.count == 8 else { return true }
            let bits = UInt64(loadBigEndianUInt32(value.baseAddress!)) << 32 | UInt64(loadBigEndianUInt32(value.baseAddress! + 4))
            return !Double(bitPattern: bits).isNaN || bits == nan8
        case .numeric:
            guard let n = Numeric(value) else { return true }
            return n.isCanonical
        case .array: return false
        }
    }

    /// Appends the canonical form of a non-NULL value (without its length word).
    static func append(_ value: UnsafeRawBufferPointer, _ check: Check, to out: inout [UInt8]) {
        switch check {
        case .none:
            out.append(contentsOf: value)
        case .bool:
            if value.count == 1 { out.append(value[0] == 0 ? 0 : 1) } else { out.append(contentsOf: value) }
        case .float4, .float8:
            if isCanonical(value, check) { out.append(contentsOf: value) }
            else if check == .float4 { appendBigEndian(nan4, to: &out) }
            else { appendBigEndian(UInt32(nan8 >> 32), to: &out); appendBigEndian(UInt32(0), to: &out) }
        case .numeric:
            guard let n = Numeric(value) else { return out.append(contentsOf: value) }
            n.appendCanonical(to: &out)
        case .array(let element):
            if !appendArray(value, element, to: &out) { out.append(contentsOf: value) }
        }
    }

    /// PostgreSQL's binary array: int32 ndim, int32 flags, uint32 element OID, ndim × (int32 length,
    /// int32 lower bound), then each element as int32 length (−1 NULL) and bytes. False when `value`
    /// does not parse (nothing appended).
    static func appendArray(_ value: UnsafeRawBufferPointer, _ element: Check, to out: inout [UInt8]) -> Bool {
        guard value.count >= 12, let base = value.baseAddress else { return false }
        let ndim = Int(Int32(bitPattern: loadBigEndianUInt32(base)))
        guard ndim >= 0, ndim <= 6, value.count >= 12 + 8 * ndim else { return false }
        var offset = 12 + 8 * ndim
        var elements = ndim == 0 ? 0 : 1
        for d in 0..<ndim {
            let length = Int(Int32(bitPattern: loadBigEndianUInt32(base + 12 + 8 * d)))
            guard length >= 0 else { return false }
            elements = elements.multipliedReportingOverflow(by: length).overflow ? Int.max : elements * length
        }
        var body: [UInt8] = []
        body.reserveCapacity(value.count)
        var hasNull = false
        var count = 0
        while count < elements {
            guard offset + 4 <= value.count else { return false }
            let length = Int(Int32(bitPattern: loadBigEndianUInt32(base + offset)))
            offset += 4
            if length == -1 {
                hasNull = true
                appendBigEndian(UInt32(bitPattern: -1), to: &body)
            } else {
                guard length >= 0, offset + length <= value.count else { return false }
                let item = UnsafeRawBufferPointer(start: base + offset, count: length)
                let mark = body.count
                appendBigEndian(UInt32(0), to: &body)
                append(item, element, to: &body)
                let written = UInt32(body.count - mark - 4).bigEndian
                withUnsafeBytes(of: written) { body.replaceSubrange(mark..<(mark + 4), with: $0) }
                offset += length
            }
            count += 1
        }
        guard offset == value.count else { return false }
        appendBigEndian(UInt32(ndim), to: &out)
        appendBigEndian(hasNull ? 1 : 0, to: &out)
        appendBigEndian(0, to: &out)
        out.append(contentsOf: UnsafeRawBufferPointer(start: base + 12, count: 8 * ndim))
        out += body
        return true
    }

    @inline(__always)
    static func appendBigEndian(_ value: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(value >> 24)); out.append(UInt8(truncatingIfNeeded: value >> 16))
        out.append(UInt8(truncatingIfNeeded: value >> 8)); out.append(UInt8(truncatingIfNeeded: value))
    }

    @inline(__always)
    static func loadBigEndianUInt32(_ p: UnsafeRawPointer) -> UInt32 {
        p.loadUnaligned(as: UInt32.self).bigEndian
    }

    /// A `numeric` in binary form: int16 ndigits, int16 weight, uint16 sign, int16 dscale, digits.
    struct Numeric {
        let weight: Int16
        let sign: UInt16
        let dscale: UInt16
        let digits: UnsafeRawBufferPointer

        init?(_ value: UnsafeRawBufferPointer) {
            guard value.count >= 8, let base = value.baseAddress else { return nil }
            let word = { (i: Int) in UInt16(base.load(fromByteOffset: i, as: UInt8.self)) << 8 | UInt16(base.load(fromByteOffset: i + 1, as: UInt8.self)) }
            let ndigits = Int(Int16(bitPattern: word(0)))
            guard ndigits >= 0, value.count == 8 + 2 * ndigits else { return nil }
            weight = Int16(bitPattern: word(2))
            sign = word(4)
            dscale = word(6)
            digits = UnsafeRawBufferPointer(start: base + 8, count: 2 * ndigits)
        }

        var isSpecial: Bool { sign == 0xC000 || sign == 0xD000 || sign == 0xF000 }

        func digit(_ i: Int) -> UInt16 { UInt16(digits[2 * i]) << 8 | UInt16(digits[2 * i + 1]) }

        var isCanonical: Bool {
            let n = digits.count / 2
            if isSpecial { return n == 0 && weight == 0 && dscale == 0 }
            if n == 0 { return weight == 0 && sign == 0 }
            return digit(0) != 0 && digit(n - 1) != 0
        }

        func appendCanonical(to out: inout [UInt8]) {
            var first = 0
            var last = digits.count / 2
            while first < last && digit(first) == 0 { first += 1 }
            while last > first && digit(last - 1) == 0 { last -= 1 }
            let count = isSpecial ? 0 : last - first
            let weight: Int16 = count == 0 ? 0 : self.weight &- Int16(truncatingIfNeeded: first)
            let sign: UInt16 = isSpecial ? self.sign : (count == 0 ? 0 : self.sign)
            let dscale: UInt16 = isSpecial ? 0 : self.dscale
            for word in [UInt16(count), UInt16(bitPattern: weight), sign, dscale] {
                out.append(UInt8(word >> 8)); out.append(UInt8(word & 0xFF))
            }
            if count > 0 { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: digits[(2 * first)..<(2 * last)])) }
        }
    }
}
