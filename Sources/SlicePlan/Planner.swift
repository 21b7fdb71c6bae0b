/// A relation found under the base table, placed in time (the planner's input, from discovery).
public struct Leaf: Sendable {
    /// Schema of the relation.
    public var schema: String
    /// The relation.
    public var relation: String
    /// Where its rows lie: bounds from the catalog or the name, else the data's extent; nil when empty or unplaced.
    public var window: Window?
    /// Its rows are not confined to `window` by a partition bound (DEFAULT partition, an unplaced or
    /// plain table placed by its data, an open-ended bound): every slice must filter it.
    public var alwaysFilter: Bool
    /// Read with `ONLY` (an inheritance parent's own rows).
    public var only: Bool
    /// Why it cannot be read or placed; reported, and marks every slice that needs it.
    public var error: String?
    /// pg_class.reltuples (negative or nil when never analyzed).
    public var estimatedRows: Double?
    /// pg_table_size (heap and TOAST on disk), when known.
    public var tableBytes: Int64?

    /// A leaf from its parts.
    public init(schema: String, relation: String, window: Window?, alwaysFilter: Bool = false, only: Bool = false,
                error: String? = nil, estimatedRows: Double? = nil, tableBytes: Int64? = nil) {
        self.schema = schema
        self.relation = relation
        self.window = window
        self.alwaysFilter = alwaysFilter
        self.only = only
        self.error = error
        self.estimatedRows = estimatedRows
        self.tableBytes = tableBytes
    }
}

/// What to plan: the base table, the leaves, the range and the output duration.
public struct PlanRequest: Sendable {
    /// Schema of the base table.
    public var schema: String
    /// The base table.
    public var table: String
    /// The relations holding its rows.
    public var leaves: [Leaf]
    /// Output duration.
    public var duration: OutputDuration
    /// First instant wanted (`--start-date`), nil for no lower bound.
    public var rangeStart: Instant?
    /// First instant not wanted (the day after `--end-date`).
    public var rangeEnd: Instant
    /// The column filters use.
    public var dateColumn: String?
    /// The current time (for `open`).
    public var now: Instant

    /// A request from its parts.
    public init(schema: String, table: String, leaves: [Leaf], duration: OutputDuration, rangeStart: Instant?, rangeEnd: Instant,
                dateColumn: String?, now: Instant) {
        self.schema = schema
        self.table = table
        self.leaves = leaves
        self.duration = duration
        self.rangeStart = rangeStart
        self.rangeEnd = rangeEnd
        self.dateColumn = dateColumn
        self.now = now
    }
}

/// A planned slice with the leaves (by index into the request) behind each source, for counting.
public struct PlannedSlice: Sendable {
    /// The plan line.
    public var slice: Slice
    /// The window of the slice (clamped).
    public var window: Window
    /// For each source, the index of its leaf in the request.
    public var leafIndices: [Int]
}

/// Turns placed leaves into calendar-aligned slices: grouping, splitting, clamping, unique stems.
public enum Planner {
    /// The slices of a request, ordered by window start.
    public static func plan(_ request: PlanRequest) -> [PlannedSlice] {
        let range = Window(start: request.rangeStart ?? .distantPast, end: request.rangeEnd)
        var byStart: [Instant: (calendar: Window, members: [(Int, Bool)], errors: [String])] = [:]
        for (index, leaf) in request.leaves.enumerated() {
            guard let window = leaf.window else { continue }
            let span = window.intersection(range)
            for calendar in request.duration.windows(overlapping: span) {
                let sliceWindow = calendar.intersection(range)
                let filtered = leaf.alwaysFilter || !sliceWindow.contains(window)
                var entry = byStart[calendar.start] ?? (calendar, [], [])
                entry.members.append((index, filtered))
                if let error = leaf.error { entry.errors.append(error) }
                if filtered && request.dateColumn == nil && leaf.error == nil {
                    entry.errors.append("\(leaf.relation) does not fit one \(request.duration.rawValue) window: splitting it needs --date-column")
                }
                byStart[calendar.start] = entry
            }
        }
        var out: [PlannedSlice] = []
        for start in byStart.keys.sorted() {
            let entry = byStart[start]!
            let sliceWindow = entry.calendar.intersection(range)
            let members = entry.members.sorted {
                let a = request.leaves[$0.0], b = request.leaves[$1.0]
                let aw = a.window?.start ?? start, bw = b.window?.start ?? start
                return aw != bw ? aw < bw : (a.schema, a.relation) < (b.schema, b.relation)
            }
            let sources = members.map { index, filtered -> Slice.Source in
                let leaf = request.leaves[index]
                var source = Slice.Source(schema: leaf.schema, relation: leaf.relation, only: leaf.only ? true : nil)
                if filtered, let column = request.dateColumn {
                    source.column = column
                    source.from = sliceWindow.start.description
                    source.to = sliceWindow.end.description
                }
                return source
            }
            let label = request.duration.label(windowStart: entry.calendar.start)
            var errors: [String] = []
            for e in entry.errors where !errors.contains(e) { errors.append(e) }
            let slice = Slice(
                schema: request.schema, table: request.table, duration: request.duration, label: label,
                stem: "\(request.table)-\(label)", start: sliceWindow.start.description, end: sliceWindow.end.description,
                parts: OutputDuration.templateParts(windowStart: entry.calendar.start), dateColumn: request.dateColumn,
                sources: sources, rows: nil, rowsExact: nil, open: sliceWindow.contains(request.now),
                partial: sliceWindow != entry.calendar, error: errors.isEmpty ? nil : errors.joined(separator: "; "))
            out.append(PlannedSlice(slice: slice, window: sliceWindow, leafIndices: members.map(\.0)))
        }
        return out
    }
}
