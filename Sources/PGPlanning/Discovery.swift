import PGAccess
import SlicePlan

/// What pg-partitions was asked: table, range, duration, counting.
public struct PlanOptions: Sendable {
    /// How rows are counted per slice.
    public enum Counting: String, CaseIterable, Sendable {
        /// `count(*)` per source.
        case exact
        /// pg_class.reltuples, scaled to the share of a partition's window a slice covers.
        case estimate
        /// No `rows` field.
        case none
    }

    /// Schema of the base table.
    public var schema = "public"
    /// The base table.
    public var table: String
    /// First day wanted (`--start-date`).
    public var startDate: Instant?
    /// Last day wanted (`--end-date`); nil means today.
    public var endDate: Instant?
    /// Output duration.
    public var duration: OutputDuration = .daily
    /// The column filters use (default: the partition key when it is one date/timestamp column).
    public var dateColumn: String?
    /// Also take standalone tables named `<table>_<date>`.
    public var includeNonPartitionTables = false
    /// Counting mode.
    public var counting: Counting = .estimate
    /// Only these stems (empty: all).
    public var only: [String] = []
    /// The current time.
    public var now: Instant

    /// Options for a table at a time.
    public init(table: String, now: Instant) {
        self.table = table
        self.now = now
    }
}

/// The slices of a table and the problems met while planning them.
public struct PlanResult: Sendable {
    /// The plan lines, ordered by window.
    public var slices: [Slice]
    /// Problems to report on stderr; any of them makes the run fail.
    public var problems: [String]
}

/// Discovery of the relations holding a table's rows, and planning of its slices.
public enum PartitionPlanner {
    /// Finds every relation under the table, places it in time, plans and counts the slices.
    public static func plan(_ conn: PGConnection, _ options: PlanOptions) throws -> PlanResult {
        let name = "\(options.schema).\(options.table)"
        guard let base = try Catalog.table(conn, schema: options.schema, name: options.table) else {
            throw PlanError("table \"\(name)\" not found")
        }
        let tree = try Catalog.tree(conn, root: base.oid)
        let root = tree[0]
        let dateColumn = options.dateColumn ?? root.rangeKeyColumn
        if let dateColumn {
            guard let type = try Catalog.columnType(conn, relation: base.oid, column: dateColumn) else {
                throw PlanError("table \"\(name)\" has no column \"\(dateColumn)\" (--date-column)")
            }
            guard Catalog.dateTypes.contains(type) else {
                throw PlanError("column \"\(dateColumn)\" of \"\(name)\" is not a date, timestamp or timestamptz (--date-column)")
            }
        }
        let rangeEnd = (options.endDate ?? Instant(microseconds: options.now.microseconds).dayStart).adding(days: 1)
        let range = Window(start: options.startDate ?? .distantPast, end: rangeEnd)
        var problems: [String] = []
        var leaves: [Leaf] = []

        let isPlain = tree.count == 1 && root.relkind != "p"
        var standalone: [TreeNode] = []
        if options.includeNonPartitionTables {
            standalone = try Catalog.standaloneTables(conn, namespace: base.namespace, base: options.table)
                .filter { NamePatterns.window(relation: $0.name, base: options.table) != nil }
        }
        if isPlain && standalone.isEmpty && (dateColumn == nil || options.startDate == nil || options.endDate == nil) {
            throw PlanError("table \"\(name)\" has no partitions: synthetic windows need --date-column, --start-date and --end-date")
        }

        var windows: [String: (window: Window, filter: Bool)] = [:]
        windows[root.oid] = (Window(start: .distantPast, end: .distantFuture), false)
        var keyColumns: [String: String] = [:]
        for node in tree {
            if let key = node.rangeKeyColumn { keyColumns[node.oid] = key }
        }
        for node in tree.dropFirst() {
            guard let parent = node.parent, let inherited = windows[parent] else { continue }
            var window = inherited.window
            var filter = inherited.filter
            if let bound = node.bound {
                if bound == "DEFAULT" {
                    filter = true
                } else if keyColumns[parent] != nil, keyColumns[parent] == dateColumn, let w = rangeBound(bound) {
                    window = window.intersection(w)
                }
            } else if let named = NamePatterns.window(relation: node.name, base: options.table) {
                window = window.intersection(named)
            }
            windows[node.oid] = (window, filter)
        }

        func place(_ node: TreeNode, only: Bool) throws {
            let standaloneWindow = NamePatterns.window(relation: node.name, base: options.table).map { ($0, false) }
            var (window, filter) = windows[node.oid] ?? standaloneWindow ?? (Window(start: .distantPast, end: .distantFuture), true)
            let bounded = window.start > .distantPast && window.end < .distantFuture
            if node.oid == root.oid || only { filter = true }
            var leaf = Leaf(schema: node.schema, relation: node.name, window: nil, alwaysFilter: filter || !bounded, only: only,
                            estimatedRows: node.reltuples)
            if !node.readable {
                let error = "permission denied for table \(node.schema).\(node.name)"
                leaf.error = error
                leaf.window = bounded ? window : nil
                if !bounded || !window.intersection(range).isEmpty { problems.append(error) }
                leaves.append(leaf)
                return
            }
            if bounded && !leaf.alwaysFilter {
                leaf.window = window
            } else if let dateColumn {
                let within = window.intersection(range)
                if within.isEmpty { return }
                do {
                    leaf.window = try Catalog.extent(conn, schema: node.schema, relation: node.name, only: only, column: dateColumn, within: within)
                        .map { $0.intersection(window) }
                } catch let error as PlanError {
                    leaf.error = error.message
                    problems.append(error.message)
                    leaf.window = within.start > .distantPast && within.end < .distantFuture ? within : nil
                } catch let error as PGError {
                    leaf.error = "\(node.schema).\(node.name): \(error.message)"
                    problems.append(leaf.error!)
                }
                leaf.alwaysFilter = true
            } else {
                problems.append("cannot place \(node.schema).\(node.name): no range bound on a date column and no date in its name (use --date-column)")
                return
            }
            leaves.append(leaf)
        }

        for node in tree {
            let isLeaf = node.children == 0 && node.relkind != "p"
            if node.oid == root.oid {
                if isPlain {
                    if dateColumn != nil && options.startDate != nil && options.endDate != nil { try place(node, only: false) }
                } else if node.relkind == "r", node.readable, try Catalog.hasOwnRows(conn, schema: node.schema, relation: node.name) {
                    try place(node, only: true)
                }
                continue
            }
            if isLeaf {
                try place(node, only: false)
            } else if node.relkind == "r", node.readable, try Catalog.hasOwnRows(conn, schema: node.schema, relation: node.name) {
                try place(node, only: true)
            }
        }
        for node in standalone { try place(node, only: false) }

        let request = PlanRequest(schema: options.schema, table: options.table, leaves: leaves, duration: options.duration,
                                  rangeStart: options.startDate, rangeEnd: rangeEnd, dateColumn: dateColumn, now: options.now)
        var planned = Planner.plan(request)
        if !options.only.isEmpty {
            let wanted = Set(options.only)
            planned = planned.filter { wanted.contains($0.slice.stem) }
        }
        for i in planned.indices {
            try count(conn, &planned[i], leaves: leaves, counting: options.counting)
        }
        return PlanResult(slices: planned.map(\.slice), problems: problems)
    }

    private static func count(_ conn: PGConnection, _ planned: inout PlannedSlice, leaves: [Leaf], counting: PlanOptions.Counting) throws {
        guard counting != .none, planned.slice.error == nil else { return }
        var total: Int64 = 0
        var exact = true
        for (source, index) in zip(planned.slice.sources, planned.leafIndices) {
            let leaf = leaves[index]
            let window = source.column != nil ? planned.window : nil
            if counting == .estimate, let tuples = leaf.estimatedRows, tuples >= 0, let lw = leaf.window {
                var share = 1.0
                if window != nil {
                    let overlap = lw.intersection(planned.window)
                    let whole = Double(lw.end.microseconds - lw.start.microseconds)
                    share = whole > 0 ? Double(max(overlap.end.microseconds - overlap.start.microseconds, 0)) / whole : 1
                }
                total += Int64((tuples * share).rounded())
                exact = false
                continue
            }
            do {
                total += try Catalog.count(conn, schema: source.schema, relation: source.relation, only: source.only ?? false,
                                           column: source.column, window: window)
            } catch let error as PGError {
                planned.slice.error = "counting \(source.schema).\(source.relation): \(error.message)"
                return
            }
        }
        planned.slice.rows = total
        planned.slice.rowsExact = exact
    }
}

extension Instant {
    /// Midnight UTC of this instant's day.
    var dayStart: Instant { Instant(microseconds: Int64(day) * 86_400_000_000) }
}
