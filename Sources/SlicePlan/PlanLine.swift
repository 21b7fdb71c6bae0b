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

/// One line of pg-partitions' output: a slice, rows no window holds, or a relation not planned.
public enum PlanLine: Equatable, Sendable {
    case slice(Slice)
    case unwindowed(UnwindowedRows)
    case unplanned(UnplannedRelation)

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
        }
    }
}

/// The `kind` of a plan line, or nil for a slice (or text that is not a JSON object).
func planLineKind(_ line: String) -> String? {
    struct Kind: Decodable { var kind: String? }
    return (try? JSONDecoder().decode(Kind.self, from: Data(line.utf8)))?.kind
}
