import FoundationEssentials

/// Rows of a relation that no slice of the plan reads (docs/plan.md, "Rows in no window"):
/// a plan line of kind `unwindowed`, printed after the slices.
public struct UnwindowedRows: Codable, Equatable, Sendable {
    /// Why no window holds the rows.
    public enum Reason: String, Codable, Sendable, CaseIterable {
        /// The window column is NULL.
        case null
        /// The window column is `-infinity`.
        case minusInfinity = "-infinity"
        /// The window column is `infinity`.
        case infinity
        /// The relation's name or bounds place it in a window its rows lie outside of; the slices
        /// read it through that window's filter and miss them.
        case outsideWindow = "outside-window"
    }

    /// Always `unwindowed`.
    public var kind = "unwindowed"
    /// Schema of the base table.
    public var schema: String
    /// The base table.
    public var table: String
    /// The relation holding the rows (`only`: its own rows, not its children's).
    public var source: Slice.Source
    /// The window column.
    public var column: String
    /// How many rows (an exact count).
    public var rows: Int64
    /// Why no window holds them.
    public var reason: Reason
    /// For `outside-window`: the window the relation is placed in, RFC 3339 UTC, end exclusive.
    public var start: String?
    /// See `start`.
    public var end: String?

    /// Rows from their parts.
    public init(schema: String, table: String, source: Slice.Source, column: String, rows: Int64, reason: Reason,
                start: String? = nil, end: String? = nil) {
        self.schema = schema
        self.table = table
        self.source = source
        self.column = column
        self.rows = rows
        self.reason = reason
        self.start = start
        self.end = end
    }

    /// One line for people: `2 rows of public.t_default have departure = -infinity, which no window can hold`.
    public var message: String {
        let what = "\(rows) row\(rows == 1 ? "" : "s") of \(source.schema).\(source.relation)\(source.only == true ? " (own rows)" : "")"
        let verb = rows == 1 ? "has" : "have"
        switch reason {
        case .null: return "\(what) \(verb) \(column) = NULL, which no window can hold"
        case .minusInfinity, .infinity: return "\(what) \(verb) \(column) = \(reason.rawValue), which no window can hold"
        case .outsideWindow:
            return "\(what) \(verb) \(column) outside [\(start ?? "-infinity"), \(end ?? "infinity")), the window its name or bounds place it in"
        }
    }

    enum CodingKeys: String, CodingKey {
        case kind, schema, table, source, column, rows, reason, start, end
    }
}

/// A relation that could not be planned (no SELECT privilege, no date column to place it by, a
/// failed catalog query): a plan line of kind `unplanned`. Every slice whose window may hold its
/// rows also carries the error.
public struct UnplannedRelation: Codable, Equatable, Sendable {
    /// Always `unplanned`.
    public var kind = "unplanned"
    /// Schema of the base table.
    public var schema: String
    /// The base table.
    public var table: String
    /// The relation.
    public var source: Slice.Source
    /// Why it could not be planned.
    public var error: String
    /// Stems of the slices that carry the error (they may miss its rows).
    public var slices: [String]

    /// A relation from its parts.
    public init(schema: String, table: String, source: Slice.Source, error: String, slices: [String] = []) {
        self.schema = schema
        self.table = table
        self.source = source
        self.error = error
        self.slices = slices
    }

    enum CodingKeys: String, CodingKey {
        case kind, schema, table, source, error, slices
    }
}

/// A relation that many slices read through a filter on the date column while none of its
/// indexes starts with that column (docs/plan.md, "Slices without an index"): each slice's read
/// is a scan of the whole relation. A plan line of kind `unindexed`, a warning, never an error.
public struct UnindexedScan: Codable, Equatable, Sendable {
    /// More windows of one relation than this, without an index, make the warning.
    public static let windowThreshold = 24

    /// Always `unindexed`.
    public var kind = "unindexed"
    /// Schema of the base table.
    public var schema: String
    /// The base table.
    public var table: String
    /// The relation read (`only`: its own rows).
    public var source: Slice.Source
    /// The date column the slices filter it on.
    public var column: String
    /// How many slices read it through a filter (one scan each).
    public var windows: Int
    /// `pg_class.reltuples`: the rows each of those scans reads; absent when never analysed.
    public var estimatedRows: Int64?
    /// `pg_table_size`: the bytes each scan reads, when known.
    public var diskBytes: Int64?

    /// A warning from its parts.
    public init(schema: String, table: String, source: Slice.Source, column: String, windows: Int, estimatedRows: Int64? = nil,
                diskBytes: Int64? = nil) {
        self.schema = schema
        self.table = table
        self.source = source
        self.column = column
        self.windows = windows
        self.estimatedRows = estimatedRows
        self.diskBytes = diskBytes
    }

    /// One line for people, with the statement that fixes it.
    public var message: String {
        let name = "\(source.schema).\(source.relation)"
        let size = estimatedRows.map { "about \($0) row\($0 == 1 ? "" : "s")" } ?? diskBytes.map { "\($0) bytes on disk, never analysed" }
        let create = "CREATE INDEX ON \(sqlName(source.schema)).\(sqlName(source.relation)) (\(sqlName(column)))"
        return "\(name) has no index on \(column): each of the \(windows) slices reading it scans all of it"
            + (size.map { " (\($0))" } ?? "") + "; \(create) (or USING brin) lets each read only its window"
    }

    enum CodingKeys: String, CodingKey {
        case kind, schema, table, source, column, windows
        case estimatedRows = "estimated_rows"
        case diskBytes = "disk_bytes"
    }
}

/// A name as SQL needs it in a statement for people to copy: bare when it is a lower-case
/// identifier that is no reserved word, else double-quoted.
func sqlName(_ name: String) -> String {
    let bytes = Array(name.utf8)
    let plain = !bytes.isEmpty && !(48...57).contains(bytes[0])
        && bytes.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 } && !reservedWords.contains(name)
    return plain ? name : "\"" + name.replacing("\"", with: "\"\"") + "\""
}

/// PostgreSQL's reserved key words (also those allowed only as function or type names): never bare.
private let reservedWords: Set<String> = [
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization", "binary", "both", "case",
    "cast", "check", "collate", "collation", "column", "concurrently", "constraint", "create", "cross", "current_catalog",
    "current_date", "current_role", "current_schema", "current_time", "current_timestamp", "current_user", "default",
    "deferrable", "desc", "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign", "freeze", "from",
    "full", "grant", "group", "having", "ilike", "in", "initially", "inner", "intersect", "into", "is", "isnull", "join",
    "lateral", "leading", "left", "like", "limit", "localtime", "localtimestamp", "natural", "not", "notnull", "null",
    "offset", "on", "only", "or", "order", "outer", "overlaps", "placing", "primary", "references", "returning", "right",
    "select", "session_user", "similar", "some", "symmetric", "system_user", "table", "tablesample", "then", "to",
    "trailing", "true", "union", "unique", "user", "using", "variadic", "verbose", "when", "where", "window", "with",
]

/// One line of pg-partitions' output: a slice, rows no window holds, a relation not planned, or
/// a relation every slice scans whole.
public enum PlanLine: Equatable, Sendable {
    case slice(Slice)
    case unwindowed(UnwindowedRows)
    case unplanned(UnplannedRelation)
    case unindexed(UnindexedScan)

    /// Parses a line of any kind (a line without `kind` is a slice).
    public static func parse(_ line: String) throws -> PlanLine {
        switch planLineKind(line) {
        case "unwindowed":
            do { return .unwindowed(try JSONDecoder().decode(UnwindowedRows.self, from: Data(line.utf8))) } catch {
                throw PlanError("an unwindowed plan line does not parse: \(error)")
            }
        case "unplanned":
            do { return .unplanned(try JSONDecoder().decode(UnplannedRelation.self, from: Data(line.utf8))) } catch {
                throw PlanError("an unplanned plan line does not parse: \(error)")
            }
        case "unindexed":
            do { return .unindexed(try JSONDecoder().decode(UnindexedScan.self, from: Data(line.utf8))) } catch {
                throw PlanError("an unindexed plan line does not parse: \(error)")
            }
        default:
            return .slice(try Slice.parse(line))
        }
    }

    /// The line as JSON (without the newline), keys sorted.
    public func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        switch self {
        case .slice(let slice): return try slice.jsonLine()
        case .unwindowed(let rows): return String(decoding: try encoder.encode(rows), as: UTF8.self)
        case .unplanned(let relation): return String(decoding: try encoder.encode(relation), as: UTF8.self)
        case .unindexed(let scan): return String(decoding: try encoder.encode(scan), as: UTF8.self)
        }
    }
}

/// The `kind` of a plan line, or nil for a slice (or text that is not a JSON object).
func planLineKind(_ line: String) -> String? {
    struct Kind: Decodable { var kind: String? }
    return (try? JSONDecoder().decode(Kind.self, from: Data(line.utf8)))?.kind
}
