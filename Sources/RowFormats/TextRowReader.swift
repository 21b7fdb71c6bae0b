import RowStream

/// The two text syntaxes rowfmt reads.
public enum TextRowSyntax: Sendable { case jsonl, csv }

/// One CSV field of a record: its text in the reader's buffer, nil when NULL (unquoted and empty).
struct CSVFields {
    /// Splits a record into fields (PostgreSQL's CSV: `,` delimiter, `"` quote doubled inside quotes).
    static func split(_ record: UnsafeRawBufferPointer, into text: ByteBuffer, fields: inout [Range<Int>?]) throws {
        fields.removeAll(keepingCapacity: true)
        text.removeAll()
        var i = 0
        while true {
            let start = text.count
            var quoted = false
            var any = false
            while i < record.count {
                let c = record[i]
                if c == UInt8(ascii: "\"") {
                    quoted = true
                    i += 1
                    var run = i
                    while true {
                        guard i < record.count else { throw ValueError("unterminated quoted field") }
                        if record[i] == UInt8(ascii: "\"") {
                            text.append(UnsafeRawBufferPointer(rebasing: record[run..<i]))
                            if i + 1 < record.count, record[i + 1] == UInt8(ascii: "\"") {
                                text.append(UInt8(ascii: "\""))
                                i += 2
                                run = i
                                continue
                            }
                            i += 1
                            break
                        }
                        i += 1
                    }
                    continue
                }
                if c == UInt8(ascii: ",") { break }
                text.append(c)
                any = true
                i += 1
            }
            fields.append(quoted || any ? start..<text.count : nil)
            if i >= record.count { return }
            i += 1
        }
    }
}

/// Reads JSON Lines or CSV into typed binary rows of a given schema (columns matched by name).
public final class TextRowReader: RowReader {
    public let schema: RowStreamSchema
    private let syntax: TextRowSyntax
    private let input: LineInput
    private let kinds: [ValueKind]
    private let names: [[UInt8]]
    private let index: [String: Int]
    private let elementOIDs: [UInt32]
    private let row = ByteBuffer(capacity: 1 << 16)
    private let text = ByteBuffer(capacity: 1 << 16)
    private var spans: [Range<Int>?]
    private var csvFields: [Range<Int>?] = []
    private var csvColumns: [Int] = []
    private let notNull: [Int]

    init(syntax: TextRowSyntax, input: LineInput, schema: RowStreamSchema) throws {
        self.syntax = syntax
        self.input = input
        self.schema = schema
        kinds = try schema.columns.map { column in
            guard let kind = column.kind else { throw FormatError("schema column \"\(column.name)\" has type \(column.type) (OID \(column.oid)), which rowfmt cannot encode") }
            return kind
        }
        names = schema.columns.map { Array($0.name.utf8) }
        var index: [String: Int] = [:]
        for (i, column) in schema.columns.enumerated() { index[column.name] = i }
        self.index = index
        elementOIDs = schema.columns.map { column in
            if case .array(let element)? = column.kind { return column.elementOID ?? TypeForms.oid(of: element) ?? 0 }
            return 0
        }
        spans = Array(repeating: nil, count: schema.columns.count)
        notNull = schema.columns.indices.filter { !schema.columns[$0].nullable }
        if syntax == .csv { try readHeader() }
    }

    private func readHeader() throws {
        guard let record = try input.next(csv: true) else { throw FormatError(line: 1, "empty input: a CSV header line is required") }
        do {
            try CSVFields.split(record, into: text, fields: &csvFields)
        } catch let error as ValueError {
            throw FormatError(line: input.line, error.reason)
        }
        var seen = Set<Int>()
        csvColumns = try csvFields.map { field in
            let name = field.map { String(decoding: UnsafeRawBufferPointer(rebasing: text.bytes[$0]), as: UTF8.self) } ?? ""
            guard let c = index[name] else { throw FormatError(line: input.line, column: name, "not a column of the schema") }
            guard seen.insert(c).inserted else { throw FormatError(line: input.line, column: name, "named twice in the header") }
            return c
        }
        if let absent = schema.columns.indices.first(where: { !schema.columns[$0].nullable && !seen.contains($0) }) {
            throw FormatError(line: input.line, column: schema.columns[absent].name, "not in the header, and the column is NOT NULL")
        }
    }

    public func next() throws -> Bool {
        row.removeAll()
        for i in 0..<spans.count { spans[i] = nil }
        switch syntax {
        case .csv:
            guard let record = try input.next(csv: true) else { return false }
            do {
                try CSVFields.split(record, into: text, fields: &csvFields)
            } catch let error as ValueError {
                throw FormatError(line: input.line, error.reason)
            }
            guard csvFields.count == csvColumns.count else {
                throw FormatError(line: input.line, "expected \(csvColumns.count) fields, found \(csvFields.count)")
            }
            for (f, c) in csvColumns.enumerated() {
                guard let range = csvFields[f] else { continue }
                try store(c) { try self.appendText(c, UnsafeRawBufferPointer(rebasing: self.text.bytes[range])) }
            }
        case .jsonl:
            var record: UnsafeRawBufferPointer
            repeat {
                guard let r = try input.next(csv: false) else { return false }
                record = r
            } while record.allSatisfy { $0 == 32 || $0 == 9 || $0 == 13 }
            try readObject(record)
        }
        for c in notNull where spans[c] == nil {
            throw FormatError(line: input.line, column: schema.columns[c].name, "NULL or missing in a NOT NULL column")
        }
        return true
    }

    @inline(__always)
    public func field(_ index: Int) -> UnsafeRawBufferPointer? {
        spans[index].map { UnsafeRawBufferPointer(start: row.base + $0.lowerBound, count: $0.count) }
    }

    /// Converts one value into the row buffer, naming line and column on failure.
    private func store(_ c: Int, _ body: () throws -> Void) throws {
        let start = row.count
        do {
            try body()
        } catch let error as ValueError {
            throw FormatError(line: input.line, column: schema.columns[c].name, error.reason)
        }
        spans[c] = start..<row.count
    }

    private func appendText(_ c: Int, _ value: UnsafeRawBufferPointer) throws {
        switch kinds[c] {
        case .scalar(let kind): try TextParse.append(kind, value, labels: schema.columns[c].enumLabels, to: row)
        case .array(let kind):
            try TextValue.appendArray(kind, value, labels: schema.columns[c].enumLabels, elementOID: elementOIDs[c], to: row)
        }
    }

    private func readObject(_ line: UnsafeRawBufferPointer) throws {
        text.removeAll()
        var scan = JSONScan(line, strings: text)
        var expected = 0
        do {
            try scan.object { key, token in
                let name = UnsafeRawBufferPointer(rebasing: text.bytes[key])
                guard let c = column(named: name, expected: expected) else {
                    throw FormatError(line: input.line, column: String(decoding: name, as: UTF8.self), "not a column of the schema")
                }
                guard spans[c] == nil else { throw FormatError(line: input.line, column: schema.columns[c].name, "key appears twice") }
                expected = c + 1
                if token.kind != .null {
                    try store(c) { try self.appendJSON(c, token, line: line) }
                }
            }
        } catch let error as ValueError {
            throw FormatError(line: input.line, error.reason)
        }
    }

    private func column(named key: UnsafeRawBufferPointer, expected: Int) -> Int? {
        if expected < names.count, names[expected].withUnsafeBytes({ $0.elementsEqual(key) }) { return expected }
        return index[String(decoding: key, as: UTF8.self)]
    }

    private func appendJSON(_ c: Int, _ token: JSONToken, line: UnsafeRawBufferPointer) throws {
        if token.kind == .object, JSONLEscape.startsWithOpening(UnsafeRawBufferPointer(rebasing: line[token.raw])) {
            return try appendText(c, try escapedText(token, line: line))
        }
        switch kinds[c] {
        case .scalar(let kind):
            try appendScalarJSON(kind, token, line: line, labels: schema.columns[c].enumLabels)
        case .array(let kind):
            if token.kind == .string {
                return try appendText(c, try token.string(line: line, strings: text))
            }
            guard token.kind == .array else { throw ValueError("expected a JSON array") }
            var builder = ArrayBuilder(row, elementOID: elementOIDs[c])
            var scan = JSONScan(line, from: token.raw.lowerBound + 1, strings: text)
            // Nested JSON arrays are dimensions, except for json and jsonb, whose elements may be arrays.
            let nests = kind != .json && kind != .jsonb
            let labels = schema.columns[c].enumLabels
            try builder.shape.open()
            var expectItem = true, mayClose = true
            while true {
                if mayClose && scan.take(UInt8(ascii: "]")) {
                    if try builder.shape.close() { break }
                    expectItem = false
                    continue
                }
                if !expectItem {
                    try scan.expect(UInt8(ascii: ","), "',' or ']'")
                    expectItem = true
                    mayClose = false
                    continue
                }
                if nests && scan.take(UInt8(ascii: "[")) {
                    try builder.shape.open()
                    mayClose = true
                    continue
                }
                let element = try scan.value()
                if element.kind == .null {
                    try builder.nullElement()
                } else {
                    try builder.element { try self.appendScalarJSON(kind, element, line: line, labels: labels) }
                }
                expectItem = false
                mayClose = true
            }
            try builder.finish()
        }
    }

    /// The PostgreSQL text form an escape form `{"pgarchive.text":"…"}` holds (docs/types.md).
    private func escapedText(_ token: JSONToken, line: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer {
        var scan = JSONScan(line, from: token.raw.lowerBound + 1, strings: text)
        _ = try scan.key()
        try scan.expect(UInt8(ascii: ":"), "':'")
        let value = try scan.value()
        try scan.expect(UInt8(ascii: "}"), "'}' (the escape form has one member)")
        guard value.kind == .string else { throw ValueError("the escape form's value must be a JSON string") }
        return try value.string(line: line, strings: text)
    }

    private func appendScalarJSON(_ kind: ScalarKind, _ token: JSONToken, line: UnsafeRawBufferPointer, labels: [String]?) throws {
        if kind == .json || kind == .jsonb {
            return try TextParse.append(kind, UnsafeRawBufferPointer(rebasing: line[token.raw]), labels: nil, to: row)
        }
        switch token.kind {
        case .string:
            try TextParse.append(kind, try token.string(line: line, strings: text), labels: labels, to: row)
        case .number:
            try TextParse.append(kind, UnsafeRawBufferPointer(rebasing: line[token.raw]), labels: labels, to: row)
        case .bool:
            guard kind == .bool else {
                return try TextParse.append(kind, UnsafeRawBufferPointer(rebasing: line[token.raw]), labels: labels, to: row)
            }
            row.append(token.text.lowerBound == 1 ? 1 : 0)
        case .object, .array:
            throw ValueError("expected a \(kind.rawValue) value, found a JSON \(token.kind == .object ? "object" : "array")")
        case .null:
            throw ValueError("unexpected null")
        }
    }
}
