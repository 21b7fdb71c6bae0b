import RowStream

/// The per-column rendering facts a writer looks up once: kind, and for CSV whether to check quoting.
struct ColumnPlan {
    let name: String
    let kind: ValueKind
    let mayNeedQuotes: Bool

    static func plans(_ schema: RowStreamSchema) throws -> [ColumnPlan] {
        try schema.columns.map { column in
            guard let kind = column.kind else {
                throw FormatError("column \"\(column.name)\" has type \(column.type) (OID \(column.oid)), which has no binary decoding")
            }
            let quotes: Bool
            switch kind {
            case .scalar(let scalar): quotes = TypeForms.mayNeedCSVQuotes(scalar)
            case .array: quotes = true
            }
            return ColumnPlan(name: column.name, kind: kind, mayNeedQuotes: quotes)
        }
    }
}

/// Gathers a text writer's output and hands it on in large pieces.
public class BufferedWriter {
    let out = ByteBuffer(capacity: 1 << 18)
    let scratch = ByteBuffer(capacity: 1024)
    let output: ByteOutput
    let flushSize = 1 << 18

    init(output: @escaping ByteOutput) { self.output = output }

    @inline(__always)
    func flushIfFull() throws {
        if out.count >= flushSize { try flush() }
    }

    func flush() throws {
        guard out.count > 0 else { return }
        try output(out.bytes)
        out.removeAll()
    }

    /// Flushes the complete lines written so far (a failed text output simply ends early).
    public func abandon() { try? flush() }

    /// Hands the complete lines written so far to the output.
    public func flushRows() throws { try flush() }
}

/// JSON Lines equal to PostgreSQL's `row_to_json(row)` (TimeZone=UTC), keys in column order.
public final class JSONLWriter: BufferedWriter, RowWriter {
    private let plans: [ColumnPlan]
    /// Every column's `{"name":` or `,"name":`, one after another; column i's is `keys[keyRanges[i]]`.
    private let keys: [UInt8]
    private let keyRanges: [Range<Int>]

    /// A writer for rows of `schema`.
    public init(schema: RowStreamSchema, output: @escaping ByteOutput) throws {
        plans = try ColumnPlan.plans(schema)
        let keyBuffer = ByteBuffer()
        var ranges: [Range<Int>] = []
        for (i, column) in schema.columns.enumerated() {
            let start = keyBuffer.count
            keyBuffer.append(i == 0 ? UInt8(ascii: "{") : UInt8(ascii: ","))
            var name = column.name
            name.withUTF8 { JSONRender.appendString(UnsafeRawBufferPointer($0), to: keyBuffer) }
            keyBuffer.append(UInt8(ascii: ":"))
            ranges.append(start..<keyBuffer.count)
        }
        keys = Array(keyBuffer.bytes)
        keyRanges = ranges
        super.init(output: output)
    }

    public func write(_ reader: any RowReader) throws {
        let out = self.out, scratch = self.scratch
        if plans.isEmpty { out.append(UInt8(ascii: "{")) }
        // Straight from the reader's field table when it keeps one (no call per field), and over
        // unsafe buffers, so the loop retains nothing per field.
        let table = reader.fieldTable
        try plans.withUnsafeBufferPointer { plans in
            try keys.withUnsafeBytes { keys in
                try keyRanges.withUnsafeBufferPointer { keyRanges in
                    for i in 0..<plans.count {
                        out.append(UnsafeRawBufferPointer(rebasing: keys[keyRanges[i]]))
                        guard let value = table.map({ $0[i] }) ?? reader.field(i) else { out.append("null"); continue }
                        do {
                            try JSONRender.append(plans[i].kind, value, to: out, scratch: scratch)
                        } catch let error as ValueError {
                            throw FormatError("column \"\(plans[i].name)\": cannot decode the binary value: \(error.reason)")
                        }
                    }
                }
            }
        }
        out.append("}\n")
        try flushIfFull()
    }

    public func finish() throws { try flush() }
}

/// CSV equal to `COPY … TO STDOUT (FORMAT csv, HEADER)` with DateStyle=ISO and TimeZone=UTC.
public final class CSVWriter: BufferedWriter, RowWriter {
    private let plans: [ColumnPlan]
    private let field = ByteBuffer(capacity: 1024)

    /// A writer for rows of `schema`; writes the header line at once.
    public init(schema: RowStreamSchema, output: @escaping ByteOutput) throws {
        plans = try ColumnPlan.plans(schema)
        super.init(output: output)
        for (i, column) in schema.columns.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            var name = column.name
            name.withUTF8 { appendQuotedIfNeeded(UnsafeRawBufferPointer($0)) }
        }
        out.append(UInt8(ascii: "\n"))
    }

    public func write(_ reader: any RowReader) throws {
        let out = self.out
        let table = reader.fieldTable  // as in JSONLWriter: no call and no retain per field
        try plans.withUnsafeBufferPointer { plans in
            for i in 0..<plans.count {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                guard let value = table.map({ $0[i] }) ?? reader.field(i) else { continue }
                do {
                    switch plans[i].kind {
                    case .scalar(let kind) where !plans[i].mayNeedQuotes:
                        try TextRender.append(kind, value, to: out)
                    case .scalar(.jsonb):
                        // The text form is the binary value after its version byte.
                        guard value.count >= 1, value[0] == 1 else { throw ValueError("unsupported jsonb binary version") }
                        appendQuotedIfNeeded(UnsafeRawBufferPointer(rebasing: value[1...]))
                    case .scalar:
                        // text, varchar, char(n), name, json, enums: the binary value is the text form.
                        appendQuotedIfNeeded(value)
                    case .array(let kind):
                        field.removeAll()
                        try ArrayRender.appendText(kind, value, to: field, scratch: scratch)
                        appendQuotedIfNeeded(field.bytes)
                    }
                } catch let error as ValueError {
                    throw FormatError("column \"\(plans[i].name)\": cannot decode the binary value: \(error.reason)")
                }
            }
        }
        out.append(UInt8(ascii: "\n"))
        try flushIfFull()
    }

    /// Appends a field's text, quoted when COPY would quote it: empty, or holding `,` `"` CR or LF
    /// (quotes doubled), or `\.` alone in a one-column row.
    @inline(__always)
    private func appendQuotedIfNeeded(_ text: UnsafeRawBufferPointer) {
        let n = text.count
        var needed = n == 0 || (plans.count == 1 && n == 2 && text[0] == UInt8(ascii: "\\") && text[1] == UInt8(ascii: "."))
        var quotes = 0
        for k in 0..<n {
            let byte = text[k]
            guard byte <= UInt8(ascii: ",") else { continue }
            if byte == UInt8(ascii: "\"") {
                quotes += 1
            } else if byte == UInt8(ascii: ",") || byte == 10 || byte == 13 {
                needed = true
            }
        }
        guard needed || quotes > 0 else {
            out.append(text)
            return
        }
        out.reserve(n + quotes + 2)
        let start = out.count
        var to = out.base + start
        to.pointee = UInt8(ascii: "\"")
        to += 1
        if quotes == 0 {
            if n > 0 { UnsafeMutableRawPointer(to).copyMemory(from: text.baseAddress!, byteCount: n) }
            to += n
        } else {
            for k in 0..<n {
                let byte = text[k]
                to.pointee = byte
                to += 1
                if byte == UInt8(ascii: "\"") {
                    to.pointee = byte
                    to += 1
                }
            }
        }
        to.pointee = UInt8(ascii: "\"")
        out.count = start + n + quotes + 2
    }

    public func finish() throws { try flush() }
}
