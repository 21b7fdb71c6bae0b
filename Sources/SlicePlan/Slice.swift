import FoundationEssentials

/// One plan line (docs/plan.md): everything needed to extract one output file.
public struct Slice: Codable, Equatable, Sendable {
    /// Schema of the base table.
    public var schema: String
    /// The base table.
    public var table: String
    /// The output duration the window follows.
    public var duration: OutputDuration
    /// The window label: `2024-01-05`, `2024-W05`, `2024-01`, …
    public var label: String
    /// The file stem: `<table>-<label>`; unique within a plan.
    public var stem: String
    /// Window start, RFC 3339 UTC (clamped to `--start-date`).
    public var start: String
    /// Window end (exclusive), RFC 3339 UTC (clamped to the day after `--end-date`).
    public var end: String
    /// Path-template parts from the calendar window's start (never the clamped start).
    public var parts: TemplateParts
    /// The date column filters use, when known.
    public var dateColumn: String?
    /// The relations to read, in order, each with its filter.
    public var sources: [Source]
    /// Row count (exact or estimated, see `rowsExact`), absent with `--count none`.
    public var rows: Int64?
    /// Whether `rows` is an exact count.
    public var rowsExact: Bool?
    /// Estimated bytes on disk (heap and TOAST) of the rows the slice reads: each source's
    /// pg_table_size, scaled to the share of its window the slice covers. A size hint (an
    /// uploader sizes its parts from it), never a promise.
    public var diskBytes: Int64?
    /// The window contains the current time: data may still arrive.
    public var open: Bool
    /// The window was cut by `--start-date` or `--end-date`.
    public var partial: Bool
    /// Why this slice could not be fully planned; such a slice must not be archived as complete.
    public var error: String?

    /// A slice from its parts.
    public init(schema: String, table: String, duration: OutputDuration, label: String, stem: String, start: String, end: String,
                parts: TemplateParts, dateColumn: String?, sources: [Source], rows: Int64? = nil, rowsExact: Bool? = nil,
                open: Bool = false, partial: Bool = false, error: String? = nil) {
        self.schema = schema
        self.table = table
        self.duration = duration
        self.label = label
        self.stem = stem
        self.start = start
        self.end = end
        self.parts = parts
        self.dateColumn = dateColumn
        self.sources = sources
        self.rows = rows
        self.rowsExact = rowsExact
        self.open = open
        self.partial = partial
        self.error = error
    }

    /// A one-source slice reading a whole relation (or a filtered part), for `pg-extract --relation`.
    public static func relation(_ source: Source) -> Slice {
        Slice(schema: source.schema, table: source.relation, duration: .daily, label: "", stem: source.relation, start: source.from ?? "",
              end: source.to ?? "", parts: TemplateParts(YYYY: "", MM: "", DD: "", HH: ""), dateColumn: source.column, sources: [source])
    }

    enum CodingKeys: String, CodingKey {
        case schema, table, duration, label, stem, start, end, parts, sources, rows, open, partial, error
        case dateColumn = "date_column"
        case rowsExact = "rows_exact"
        case diskBytes = "disk_bytes"
    }

    /// One relation to read, with an optional half-open filter on a date column (structured, never SQL).
    public struct Source: Codable, Equatable, Sendable {
        /// Schema of the relation.
        public var schema: String
        /// The relation (a leaf partition, a standalone table or the base table).
        public var relation: String
        /// The filtered column, when the rows must be filtered.
        public var column: String?
        /// Inclusive lower bound, RFC 3339 UTC.
        public var from: String?
        /// Exclusive upper bound, RFC 3339 UTC.
        public var to: String?
        /// Read only this relation's own rows, not its inheritance children's.
        public var only: Bool?

        /// A source from its parts.
        public init(schema: String, relation: String, column: String? = nil, from: String? = nil, to: String? = nil, only: Bool? = nil) {
            self.schema = schema
            self.relation = relation
            self.column = column
            self.from = from
            self.to = to
            self.only = only
        }
    }

    /// The slice as one JSON line (without the newline), keys sorted.
    public func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Parses one plan line.
    public static func parse(_ line: String) throws -> Slice {
        if let kind = planLineKind(line) {
            let reports = ["unwindowed": "rows that belong to no window", "unplanned": "a relation that could not be planned",
                           "unindexed": "a relation its slices scan whole (a warning)"]
            throw PlanError(reports[kind].map { "the plan line reports \($0), not a slice" } ?? "plan line has an unknown kind \"\(kind)\"")
        }
        do {
            return try JSONDecoder().decode(Slice.self, from: Data(line.utf8))
        } catch let DecodingError.keyNotFound(key, _) {
            throw PlanError("plan line lacks the field \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw PlanError("plan line field \"\(path)\" has the wrong type")
        } catch let DecodingError.dataCorrupted(context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw PlanError(path.isEmpty ? "plan line is not valid JSON" : "plan line field \"\(path)\" is invalid")
        }
    }
}

/// A planning failure with a one-line message.
public struct PlanError: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public var message: String
    /// An error with a message.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
