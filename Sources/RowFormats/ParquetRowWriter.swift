import Parquet
import RowStream

/// How rowfmt writes Parquet: codec, level and row-group bounds, and what to do with special values.
public struct ParquetOutputOptions: Sendable {
    /// Page compression inside the file.
    public var codec: CompressionCodec = .zstd
    /// The codec's level (zstd 1–22, gzip 1–9).
    public var level = 3
    /// A row group closes at about this many uncompressed bytes.
    public var rowGroupBytes = 32 << 20
    /// A row group closes at this many rows.
    public var rowGroupRows = 1 << 20
    /// Write numeric(p,s), date, timestamp, timestamptz and array columns as STRING in PostgreSQL's text form.
    public var specialValuesAsText = false

    /// ZSTD level 3, 32 MiB and 1 Mi-row row groups, special values refused.
    public init() {}
}

/// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
let unixToPostgresMicros: Int64 = 946_684_800_000_000
/// Days between 1970-01-01 and 2000-01-01.
let unixToPostgresDays: Int32 = 10_957

/// Writes rows as a Parquet file with the mapping of `ParquetTypes`; the schema JSON goes in the footer.
public final class ParquetRowWriter: RowWriter {
    private let writer: ParquetWriter
    private let plans: [ParquetTypes.WritePlan]
    /// The per-value facts of each column, trivially copyable (no reference counting on the hot path).
    private struct Slot {
        let kind: ValueKind
        let storage: ParquetStorage
        let arrayAsText: Bool
        /// The companion dimensions column of an array column written as a LIST, else −1.
        let dims: Int
    }
    private let slots: UnsafeMutableBufferPointer<Slot>
    private let text = ByteBuffer(capacity: 1024)
    private let scratch = ByteBuffer(capacity: 256)

    /// A writer for rows of `schema` that hands the file's bytes to `output`.
    public init(schema: RowStreamSchema, options: ParquetOutputOptions, output: @escaping ByteOutput) throws {
        let layout = try ParquetTypes.writeLayout(schema, specialsAsText: options.specialValuesAsText)
        plans = layout.plans
        guard !plans.isEmpty else { throw FormatError("a Parquet file needs at least one column; the input has none") }
        slots = .allocate(capacity: plans.count)
        _ = slots.initialize(from: plans.map { Slot(kind: $0.kind, storage: $0.storage, arrayAsText: $0.arrayAsText, dims: $0.dimsColumn ?? -1) })
        var settings = ParquetWriterOptions()
        settings.codec = options.codec
        settings.level = options.level
        settings.rowGroupBytes = options.rowGroupBytes
        settings.rowGroupRows = options.rowGroupRows
        settings.keyValueMetadata = [KeyValue(key: ParquetTypes.schemaKey, value: String(decoding: try schema.encodedJSON(), as: UTF8.self))]
            + (layout.footer.map { [$0] } ?? [])
        do {
            writer = try ParquetWriter(columns: plans.map(\.spec) + layout.extra, options: settings, output: output)
        } catch let error as ParquetError {
            throw FormatError(error.message)
        }
    }

    deinit { slots.deallocate() }

    public func write(_ reader: any RowReader) throws {
        if let table = reader.fieldTable {
            try writeFields { table[$0] }
        } else {
            try writeFields { reader.field($0) }
        }
        do {
            try writer.endRow()
        } catch let error as ParquetError {
            throw FormatError(error.message)
        }
    }

    /// Appends every field of the current row (`field(i)` gives column i's bytes, nil for NULL).
    @inline(__always)
    private func writeFields(_ field: (Int) -> UnsafeRawBufferPointer?) throws {
        for i in 0..<slots.count {
            let plan = slots[i]
            guard let value = field(i) else {
                writer.appendNull(i)
                if plan.dims >= 0 { writer.appendNull(plan.dims) }
                continue
            }
            do {
                switch plan.kind {
                case .scalar(let kind):
                    try append(i, kind, plan.storage, value)
                case .array(let kind) where plan.arrayAsText:
                    text.removeAll()
                    try ArrayRender.appendText(kind, value, to: text, scratch: scratch)
                    writer.append(i, bytes: text.bytes)
                case .array(let kind):
                    // The elements in storage (row-major) order as one flat LIST; the shape of a value
                    // that is not one-dimensional from 1 goes to the companion column (docs/types.md).
                    var elements = try ArrayRender.Elements(value)
                    if elements.count > 0 && (elements.dimensions > 1 || elements.lowerBound(0) != 1) {
                        text.removeAll()
                        ArrayRender.appendDims(elements, to: text)
                        writer.append(plan.dims, bytes: text.bytes)
                    } else {
                        writer.appendNull(plan.dims)
                    }
                    writer.beginList(i)
                    for _ in 0..<elements.count {
                        if let element = try elements.next() { try append(i, kind, plan.storage, element) } else { writer.appendNull(i) }
                    }
                    writer.endList(i)
                }
            } catch let error as ValueError {
                throw FormatError("column \"\(plans[i].spec.name)\", row \(writer.rowCount + 1): \(error.reason)")
            } catch let special as UnrepresentableValue {
                throw FormatError("column \"\(plans[i].spec.name)\", row \(writer.rowCount + 1): \(special.reason); "
                    + "use --special-values-as-text to write numeric(p,s), date, timestamp and array columns as text")
            }
        }
    }

    @inline(__always)
    private func append(_ i: Int, _ kind: ScalarKind, _ storage: ParquetStorage, _ v: UnsafeRawBufferPointer) throws {
        switch storage {
        case .verbatim:
            writer.append(i, bytes: v)
        case .int64:
            guard v.count == 8 else { throw TextRender.lengthError(kind, v) }
            writer.append(i, v.int64(0))
        case .int32:
            guard v.count == 4 else { throw TextRender.lengthError(kind, v) }
            writer.append(i, v.int32(0))
        case .int16:
            guard v.count == 2 else { throw TextRender.lengthError(kind, v) }
            writer.append(i, Int32(v.int16(0)))
        case .boolean:
            guard v.count == 1 else { throw TextRender.lengthError(kind, v) }
            writer.append(i, v[0] != 0)
        case .float:
            guard v.count == 4 else { throw TextRender.lengthError(kind, v) }
            writer.append(i, Float(bitPattern: UInt32(bitPattern: v.int32(0))))
        case .double:
            guard v.count == 8 else { throw TextRender.lengthError(kind, v) }
            writer.append(i, Double(bitPattern: UInt64(bitPattern: v.int64(0))))
        case .timestamp:
            guard v.count == 8 else { throw TextRender.lengthError(kind, v) }
            let micros = v.int64(0)
            // ±infinity as DuckDB writes them: ±(2^63 − 1).
            if micros == .max { return writer.append(i, Int64.max) }
            if micros == .min { return writer.append(i, -Int64.max) }
            let (unix, overflow) = micros.addingReportingOverflow(unixToPostgresMicros)
            guard !overflow, unix != .max else { throw UnrepresentableValue("\(kind.rawValue) beyond year 294247 cannot be stored in a Parquet TIMESTAMP (µs since 1970 in 64 bits)") }
            writer.append(i, unix)
        case .date:
            guard v.count == 4 else { throw TextRender.lengthError(kind, v) }
            let days = v.int32(0)
            // ±infinity as DuckDB writes them: ±(2^31 − 1).
            if days == .max { return writer.append(i, Int32.max) }
            if days == .min { return writer.append(i, -Int32.max) }
            let (unix, overflow) = days.addingReportingOverflow(unixToPostgresDays)
            guard !overflow, unix != .max, unix != -.max else { throw UnrepresentableValue("the date cannot be stored in a Parquet DATE") }
            writer.append(i, unix)
        case .time:
            guard v.count == 8 else { throw TextRender.lengthError(kind, v) }
            writer.append(i, v.int64(0))
        case .uuid:
            guard v.count == 16 else { throw TextRender.lengthError(kind, v) }
            writer.append(i, bytes: v)
        case .jsonb:
            guard v.count >= 1, v[0] == 1 else { throw ValueError("unsupported jsonb binary version") }
            writer.append(i, bytes: UnsafeRawBufferPointer(rebasing: v[1...]))
        case .text:
            text.removeAll()
            try TextRender.append(kind, v, to: text)
            writer.append(i, bytes: text.bytes)
        case .decimal(let precision, let scale):
            let unscaled = try NumericDecimal.unscaled(v, precision: precision, scale: scale)
            if precision <= 9 {
                writer.append(i, Int32(truncatingIfNeeded: unscaled))
            } else if precision <= 18 {
                writer.append(i, Int64(truncatingIfNeeded: unscaled))
            } else {
                let width = ColumnType.decimalByteWidth(precision: precision)
                withUnsafeTemporaryAllocation(byteCount: width, alignment: 16) { buffer in
                    for k in 0..<width { buffer[k] = UInt8(truncatingIfNeeded: unscaled >> (8 * (width - 1 - k))) }
                    writer.append(i, bytes: UnsafeRawBufferPointer(buffer))
                }
            }
        }
    }

    public func finish() throws {
        do {
            try writer.finish()
        } catch let error as ParquetError {
            throw FormatError(error.message)
        }
    }

    /// A Parquet file without its footer is rejected by every reader; nothing more to do.
    public func abandon() {}

    public var uncompressedBytes: UInt64? { UInt64(max(writer.uncompressedBytes, 0)) }
}

/// A value PostgreSQL allows but the column's Parquet type cannot hold (the caller names column, row and the option).
struct UnrepresentableValue: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// PostgreSQL's binary numeric → the unscaled integer of a DECIMAL(p,s).
enum NumericDecimal {
    private static let powersOfTen: [Int128] = (0...38).map { n in (0..<n).reduce(Int128(1)) { r, _ in r * 10 } }

    /// The value × 10^scale; NaN and ±Infinity are special values, more digits than `precision` an error.
    static func unscaled(_ v: UnsafeRawBufferPointer, precision: Int, scale: Int) throws -> Int128 {
        guard v.count >= 8 else { throw TextRender.lengthError(.numeric, v) }
        let ndigits = Int(UInt16(bitPattern: v.int16(0))), weight = Int(v.int16(2)), sign = UInt16(bitPattern: v.int16(4))
        guard v.count == 8 + 2 * ndigits else { throw ValueError("malformed numeric") }
        switch sign {
        case 0x0000, 0x4000: break
        case 0xC000: throw UnrepresentableValue("numeric NaN cannot be stored in a Parquet DECIMAL(\(precision),\(scale))")
        case 0xD000, 0xF000:
            throw UnrepresentableValue("numeric \(sign == 0xF000 ? "-" : "")Infinity cannot be stored in a Parquet DECIMAL(\(precision),\(scale))")
        default: throw ValueError("malformed numeric sign")
        }
        if precision <= 18, let small = unscaled64(v, ndigits: ndigits, weight: weight, scale: scale, precision: precision) {
            return Int128(sign == 0x4000 ? -small : small)
        }
        // Built only on failure: the interpolation would cost more than the conversion.
        func tooLarge() -> ValueError { ValueError("numeric value does not fit DECIMAL(\(precision),\(scale))") }
        // The last base-10000 digit stands for 10^(4·(weight − ndigits + 1)); scale it to 10^-scale.
        var exponent = ndigits == 0 ? 0 : 4 * (weight - ndigits + 1) + scale
        // When the scale ends inside the last digit (scale not a multiple of 4), drop that digit's
        // padding zeros first: 38 significant digits plus up to 3 zeros would not fit 128 bits.
        var lastDigitShift = 4
        if exponent < 0 && exponent > -4 {
            lastDigitShift += exponent
            exponent = 0
        }
        var value: Int128 = 0
        for k in 0..<ndigits {
            var digit = Int128(UInt16(bitPattern: v.int16(8 + 2 * k)))
            var shift = 4
            if k == ndigits - 1 && lastDigitShift < 4 {
                shift = lastDigitShift
                guard digit % powersOfTen[4 - shift] == 0 else {
                    throw ValueError("numeric value has more fraction digits than DECIMAL(\(precision),\(scale)) holds")
                }
                digit /= powersOfTen[4 - shift]
            }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: powersOfTen[shift])
            guard !overflow, shifted <= powersOfTen[38] else { throw tooLarge() }
            value = shifted + digit
        }
        if exponent > 0 {
            guard exponent <= 38 else { throw tooLarge() }
            let (scaled, overflow) = value.multipliedReportingOverflow(by: powersOfTen[exponent])
            guard !overflow else { throw tooLarge() }
            value = scaled
        } else if exponent < 0 {
            guard -exponent <= 38, value % powersOfTen[-exponent] == 0 else {
                throw ValueError("numeric value has more fraction digits than DECIMAL(\(precision),\(scale)) holds")
            }
            value /= powersOfTen[-exponent]
        }
        guard value < powersOfTen[precision] else { throw tooLarge() }
        return sign == 0x4000 ? -value : value
    }

    /// The magnitude × 10^scale in 64-bit arithmetic for DECIMAL(p ≤ 18) — the common case, without
    /// 128-bit division; nil whenever that is not exact (overflow, lost fraction digits, too many
    /// digits), leaving the general path to compute it or to name the error.
    @inline(__always)
    private static func unscaled64(_ v: UnsafeRawBufferPointer, ndigits: Int, weight: Int, scale: Int, precision: Int) -> Int64? {
        // At most 4 base-10000 digits: below 10^16, no overflow while accumulating.
        guard ndigits <= 4 else { return nil }
        var value: Int64 = 0
        for k in 0..<ndigits { value = value * 10_000 + Int64(UInt16(bitPattern: v.int16(8 + 2 * k))) }
        let exponent = ndigits == 0 ? 0 : 4 * (weight - ndigits + 1) + scale
        if exponent > 0 {
            guard exponent <= 18 else { return nil }
            let (scaled, overflow) = value.multipliedReportingOverflow(by: powerOfTen(exponent))
            guard !overflow else { return nil }
            value = scaled
        } else if exponent < 0 {
            guard exponent >= -18 else { return nil }
            let divisor = powerOfTen(-exponent)
            let (quotient, remainder) = value.quotientAndRemainder(dividingBy: divisor)
            guard remainder == 0 else { return nil }
            value = quotient
        }
        guard value < powerOfTen(precision) else { return nil }
        return value
    }

    /// 10^n for 0 ≤ n ≤ 18.
    @inline(__always)
    private static func powerOfTen(_ n: Int) -> Int64 {
        var p: Int64 = 1
        for _ in 0..<n { p &*= 10 }
        return p
    }
}
