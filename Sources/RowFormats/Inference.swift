#if canImport(Glibc)
import Glibc
#endif
import RowStream
import ToolSupport

/// Schema-less reading: pass 1 spools the input to an unlinked temp file while inferring each
/// column's type; pass 2 reads the spool with the inferred schema (rules in docs/types.md).
public enum Inference {
    /// What the values of a column have looked like so far.
    public enum Guess: Equatable, Sendable {
        case allNull, integer, decimal, boolean, timestamptz, timestamp, date, json, text

        /// The guess for a column holding values of both guesses: integers widen to decimals, any other mix is text.
        public func merged(with other: Guess) -> Guess {
            if self == other || other == .allNull { return self }
            if self == .allNull { return other }
            if (self == .integer && other == .decimal) || (self == .decimal && other == .integer) { return .decimal }
            return .text
        }

        /// The kind a column of this guess gets; all-NULL columns are text.
        public var kind: ScalarKind {
            switch self {
            case .integer: return .int8
            case .decimal: return .numeric
            case .boolean: return .bool
            case .timestamptz: return .timestamptz
            case .timestamp: return .timestamp
            case .date: return .date
            case .json: return .jsonb
            case .allNull, .text: return .text
            }
        }
    }

    /// Spools `source`, infers the schema and returns a reader over the spooled copy.
    public static func reader(syntax: TextRowSyntax, source: FileSource, tableName: String) throws -> any RowReader {
        let fd = try spoolFile()
        let spool = FileSink(fd: fd, name: "the spool file", bufferSize: 1 << 20)
        let reading = FileSource(fd: fd, name: "the spool file", ownsDescriptor: true)
        let input = LineInput(source)
        input.tee = { try spool.write($0) }
        let schema = try infer(syntax: syntax, input: input, tableName: tableName)
        try spool.flush()
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw ToolError("could not rewind the spool file: \(systemErrorText(errno))") }
        return try TextRowReader(syntax: syntax, input: LineInput(reading), schema: schema)
    }

    /// A new unlinked temporary file in `$TMPDIR` (else `/tmp`), open for reading and writing.
    static func spoolFile() throws -> Int32 {
        var template = Array("\(temporaryDirectory())/rowfmt-spool-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw ToolError("could not create a spool file in \(temporaryDirectory()): \(systemErrorText(errno))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return fd
    }

    static func temporaryDirectory() -> String {
        var dir = "/tmp"
        if let value = getenv("TMPDIR") { dir = String(cString: value) }
        return dir.isEmpty ? "/tmp" : dir
    }

    /// Reads every record and returns the inferred schema (columns in order of first appearance).
    static func infer(syntax: TextRowSyntax, input: LineInput, tableName: String) throws -> RowStreamSchema {
        var names: [String] = []
        var guesses: [Guess] = []
        var index: [String: Int] = [:]
        let text = ByteBuffer(capacity: 1 << 16)
        switch syntax {
        case .csv:
            guard let header = try input.next(csv: true) else { throw FormatError(line: 1, "empty input: a CSV header line is required") }
            var fields: [Range<Int>?] = []
            do { try CSVFields.split(header, into: text, fields: &fields) } catch let error as ValueError {
                throw FormatError(line: input.line, error.reason)
            }
            for field in fields {
                let name = field.map { String(decoding: UnsafeRawBufferPointer(rebasing: text.bytes[$0]), as: UTF8.self) } ?? ""
                guard index[name] == nil else { throw FormatError(line: input.line, column: name, "named twice in the header") }
                index[name] = names.count
                names.append(name)
            }
            guesses = Array(repeating: .allNull, count: names.count)
            while let record = try input.next(csv: true) {
                do { try CSVFields.split(record, into: text, fields: &fields) } catch let error as ValueError {
                    throw FormatError(line: input.line, error.reason)
                }
                guard fields.count == names.count else { throw FormatError(line: input.line, "expected \(names.count) fields, found \(fields.count)") }
                for (c, field) in fields.enumerated() {
                    guard let field else { continue }
                    guesses[c] = guesses[c].merged(with: classify(text: UnsafeRawBufferPointer(rebasing: text.bytes[field])))
                }
            }
        case .jsonl:
            while let line = try input.next(csv: false) {
                if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
                text.removeAll()
                var scan = JSONScan(line, strings: text)
                var seen = Set<Int>()
                do {
                    try scan.object { key, token in
                        let name = String(decoding: UnsafeRawBufferPointer(rebasing: text.bytes[key]), as: UTF8.self)
                        let c: Int
                        if let found = index[name] {
                            c = found
                        } else {
                            c = names.count
                            index[name] = c
                            names.append(name)
                            guesses.append(.allNull)
                        }
                        guard seen.insert(c).inserted else { throw FormatError(line: input.line, column: name, "key appears twice") }
                        guesses[c] = guesses[c].merged(with: classify(token, line: line, strings: text))
                    }
                } catch let error as ValueError {
                    throw FormatError(line: input.line, error.reason)
                }
            }
        }
        let columns = zip(names, guesses).map { name, guess in
            RowStreamSchema.Column(name: name, type: TypeForms.typeName(of: guess.kind), oid: TypeForms.oid(of: guess.kind)!)
        }
        return RowStreamSchema(table: .init(schema: "public", name: tableName), columns: columns)
    }

    /// The guess for one JSON value: numbers by their digits, strings by their text, objects and arrays as JSON.
    static func classify(_ token: JSONToken, line: UnsafeRawBufferPointer, strings: ByteBuffer) -> Guess {
        switch token.kind {
        case .null: return .allNull
        case .bool: return .boolean
        // The escape form (docs/types.md) holds some type's text form: it says nothing of the type, and
        // pass 2 parses it as the column's type (a column of escapes alone is text, exactly).
        case .object where JSONLEscape.startsWithOpening(UnsafeRawBufferPointer(rebasing: line[token.raw])): return .allNull
        case .object, .array: return .json
        case .number: return classifyNumber(UnsafeRawBufferPointer(rebasing: line[token.raw])) ?? .text
        case .string:
            // A string PostgreSQL text cannot hold (`\u0000`) is text too; reading it names the problem.
            guard let text = try? token.string(line: line, strings: strings) else { return .text }
            return classifyTime(text) ?? .text
        }
    }

    /// The guess for one CSV field (not NULL).
    public static func classify(text: UnsafeRawBufferPointer) -> Guess {
        if let number = classifyNumber(text) { return number }
        switch String(decoding: text.prefix(6), as: UTF8.self) {
        case "t", "f", "true", "false": return .boolean
        default: break
        }
        if let time = classifyTime(text) { return time }
        if let first = text.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
            var scan = JSONScan(text, strings: ByteBuffer(capacity: 256))
            if (try? scan.value()) != nil {
                scan.skipSpace()
                if scan.i == text.count { return .json }
            }
        }
        return .text
    }

    /// `-?(0|[1-9][0-9]*)` fitting int8 → integer; with a fraction or exponent → decimal; else nil.
    static func classifyNumber(_ text: UnsafeRawBufferPointer) -> Guess? {
        var scan = JSONScan(text, strings: ByteBuffer(capacity: 16))
        guard (try? scan.number()) != nil, scan.i == text.count, !text.isEmpty else { return nil }
        if text.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            return .decimal
        }
        return (try? TextParse.parseInteger(text, kind: .int8, min: .min, max: .max)) != nil ? .integer : .decimal
    }

    /// RFC 3339 date-times (offset → timestamptz, none → timestamp) and dates; at most 6 fraction digits.
    static func classifyTime(_ text: UnsafeRawBufferPointer) -> Guess? {
        guard text.count >= 10, text[4] == UInt8(ascii: "-"), text[7] == UInt8(ascii: "-") else { return nil }
        var s = Scanner(text)
        guard let date = try? s.calendarDate("date"), date.year >= 1, (try? s.days(date, "date")) != nil else { return nil }
        if s.atEnd { return .date }
        guard s.eat("T") || s.eat("t") || s.eat(" ") else { return nil }
        let clockStart = s.i
        guard (try? s.clock(kind: "time")) != nil, s.i - clockStart >= 8 else { return nil }
        if let dot = text[clockStart..<s.i].firstIndex(of: UInt8(ascii: ".")), s.i - dot - 1 > 6 { return nil }
        let offset: Int?
        do { offset = try s.offset() } catch { return nil }
        guard s.atEnd else { return nil }
        return offset == nil ? .timestamp : .timestamptz
    }
}
