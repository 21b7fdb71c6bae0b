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
    /// Rows of relations the plan reads that no slice holds (NULL or ±infinity in the date
    /// column, rows outside the window a name or bound places their relation in).
    public var unwindowed: [UnwindowedRows] = []
    /// Relations that could not be planned, with the slices that carry their error.
    public var unplanned: [UnplannedRelation] = []
    /// Relations every slice reading them will scan whole (no index starts with the date
    /// column): warnings, never problems.
    public var unindexed: [UnindexedScan] = []
}

/// Discovery of the relations holding a table's rows, and planning of its slices.
public enum PartitionPlanner {
    /// Finds every relation under the table, places it in time, plans and counts the slices.
    public static func plan(_ conn: PGConnection, _ options: PlanOptions) throws -> PlanResult {
        Batches.disableJIT(conn)
        var discovery = try Discovery(conn, options)
        try discovery.placeAll()
        let request = PlanRequest(schema: options.schema, table: options.table, leaves: discovery.leaves, duration: options.duration,
                                  rangeStart: options.startDate, rangeEnd: discovery.range.end, dateColumn: discovery.dateColumn,
                                  now: options.now)
        var planned = Planner.plan(request)
        var problems = discovery.problems
        var unplanned: [UnplannedRelation] = []
        for (source, error, window) in discovery.unplanned {
            let stems = attach(error, to: &planned) { !$0.window.intersection(window).isEmpty }
            unplanned.append(UnplannedRelation(schema: options.schema, table: options.table, source: source, error: error, slices: stems))
        }
        let unwindowed = try Completeness(conn: conn, discovery: discovery, options: options)
            .check(&planned, problems: &problems, unplanned: &unplanned)
        if !options.only.isEmpty {
            let wanted = Set(options.only)
            planned = planned.filter { wanted.contains($0.slice.stem) }
        }
        for i in planned.indices { estimateDiskBytes(&planned[i], leaves: discovery.leaves) }
        let unindexed = IndexCheck(conn: conn, discovery: discovery, options: options).unindexed(planned)
        count(conn, &planned, leaves: discovery.leaves, counting: options.counting)
        return PlanResult(slices: planned.map(\.slice), problems: problems, unwindowed: unwindowed, unplanned: unplanned,
                          unindexed: unindexed)
    }

    /// Adds `error` to every slice `matches` selects; returns their stems.
    static func attach(_ error: String, to planned: inout [PlannedSlice], where matches: (PlannedSlice) -> Bool) -> [String] {
        var stems: [String] = []
        for i in planned.indices where matches(planned[i]) {
            let existing = planned[i].slice.error.map { $0.split(separator: "; ").map(String.init) } ?? []
            if !existing.contains(error) { planned[i].slice.error = (existing + [error]).joined(separator: "; ") }
            stems.append(planned[i].slice.stem)
        }
        return stems
    }

    /// The exact row count of a slice already planned: `count(*)` of each of its sources within
    /// the source's own filter (what pg-extract will read), without discovering anything again.
    public static func exactRows(_ conn: PGConnection, sources: [Slice.Source]) throws -> Int64 {
        try sources.reduce(0) { total, source in
            let window = source.column.map { _ in
                Window(start: source.from.flatMap(Instant.parse) ?? .distantPast, end: source.to.flatMap(Instant.parse) ?? .distantFuture)
            }
            return total + (try Catalog.count(conn, schema: source.schema, relation: source.relation, only: source.only ?? false,
                                              column: source.column, window: window))
        }
    }

    /// The exact row counts of many slices already planned (each as `exactRows` counts one), in
    /// a few statements (`Batches.counts`); a slice's first failing source fails it.
    public static func exactRows(_ conn: PGConnection, slices: [[Slice.Source]]) -> [Result<Int64, PGError>] {
        var requests: [Batches.CountRequest] = []
        var owners: [Int] = []
        for (i, sources) in slices.enumerated() {
            for source in sources {
                let window = source.column.map { _ in
                    Window(start: source.from.flatMap(Instant.parse) ?? .distantPast, end: source.to.flatMap(Instant.parse) ?? .distantFuture)
                }
                requests.append(Batches.CountRequest(schema: source.schema, relation: source.relation, only: source.only ?? false,
                                                     column: source.column, window: window))
                owners.append(i)
            }
        }
        var results = [Result<Int64, PGError>](repeating: .success(0), count: slices.count)
        for (result, i) in zip(Batches.counts(conn, requests), owners) {
            switch (results[i], result) {
            case (.success(let total), .success(let n)): results[i] = .success(total + n)
            case (.success, .failure(let error)): results[i] = .failure(error)
            default: break
            }
        }
        return results
    }

    /// The share of a leaf's rows a slice reads when it filters the leaf: the part of the leaf's
    /// window the slice's window covers (1 when unfiltered or when the leaf has no window).
    private static func share(of leaf: Leaf, filtered: Bool, in planned: PlannedSlice) -> Double {
        guard filtered, let lw = leaf.window else { return 1 }
        let overlap = lw.intersection(planned.window)
        let whole = Double(lw.end.microseconds - lw.start.microseconds)
        return whole > 0 ? Double(max(overlap.end.microseconds - overlap.start.microseconds, 0)) / whole : 1
    }

    private static func estimateDiskBytes(_ planned: inout PlannedSlice, leaves: [Leaf]) {
        guard planned.slice.error == nil else { return }
        var total = 0.0
        for (source, index) in zip(planned.slice.sources, planned.leafIndices) {
            guard let bytes = leaves[index].tableBytes else { return }
            total += Double(bytes) * share(of: leaves[index], filtered: source.column != nil, in: planned)
        }
        planned.slice.diskBytes = Int64(total.rounded())
    }

    /// Counts every slice: estimates from the catalog where allowed, the other sources'
    /// `count(*)` in batches (`Batches.counts`: a few statements for thousands of sources).
    private static func count(_ conn: PGConnection, _ planned: inout [PlannedSlice], leaves: [Leaf], counting: PlanOptions.Counting) {
        guard counting != .none else { return }
        var totals = [Int64](repeating: 0, count: planned.count)
        var exact = [Bool](repeating: true, count: planned.count)
        var requests: [Batches.CountRequest] = []
        var owners: [Int] = []
        for (i, p) in planned.enumerated() where p.slice.error == nil {
            for (source, index) in zip(p.slice.sources, p.leafIndices) {
                let leaf = leaves[index]
                let window = source.column != nil ? p.window : nil
                // A heap without a single block holds no rows: nothing to count (new, empty partitions).
                if leaf.tableBytes == 0 { continue }
                if counting == .estimate, let tuples = leaf.estimatedRows, tuples >= 0, leaf.window != nil {
                    totals[i] += Int64((tuples * share(of: leaf, filtered: window != nil, in: p)).rounded())
                    exact[i] = false
                    continue
                }
                requests.append(Batches.CountRequest(schema: source.schema, relation: source.relation, only: source.only ?? false,
                                                     column: source.column, window: window))
                owners.append(i)
            }
        }
        var failed = Set<Int>()
        for ((result, i), request) in zip(zip(Batches.counts(conn, requests), owners), requests) where !failed.contains(i) {
            switch result {
            case .success(let n): totals[i] += n
            case .failure(let error):
                planned[i].slice.error = "counting \(request.schema).\(request.relation): \(error.message)"
                failed.insert(i)
            }
        }
        for i in planned.indices where planned[i].slice.error == nil {
            planned[i].slice.rows = totals[i]
            planned[i].slice.rowsExact = exact[i]
        }
    }
}

