import PGAccess
import SlicePlan

/// Accounts for the rows the plan does not read (docs/plan.md, "Rows in no window"): every
/// relation read through a date filter is asked for rows no slice's filter can take.
struct Completeness {
    let conn: PGConnection
    let discovery: Discovery
    let options: PlanOptions

    /// Counts, per relation and reason, the rows no slice holds. A relation whose check fails is
    /// reported as a problem and as unplanned, and the slices reading it carry the error.
    func check(_ planned: inout [PlannedSlice], problems: inout [String], unplanned: inout [UnplannedRelation]) throws -> [UnwindowedRows] {
        guard let column = discovery.dateColumn else { return [] }
        var readFiltered = Set<Int>()
        for p in planned {
            for (source, index) in zip(p.slice.sources, p.leafIndices) where source.column != nil { readFiltered.insert(index) }
        }
        var found: [UnwindowedRows] = []
        for (index, (leaf, check)) in zip(discovery.leaves, discovery.checks).enumerated() {
            guard check.readable, !check.guaranteed, leaf.error == nil else { continue }
            // A relation always filtered is read wherever the range meets its window; one placed by its
            // name only loses rows when a slice filters it (split or cut by the range).
            let relevant = leaf.alwaysFilter ? !check.window.intersection(discovery.range).isEmpty : readFiltered.contains(index)
            guard relevant else { continue }
            let source = Slice.Source(schema: leaf.schema, relation: leaf.relation, only: leaf.only ? true : nil)
            let counts: [UnwindowedRows.Reason: Int64]
            do {
                counts = try Catalog.unwindowed(conn, schema: leaf.schema, relation: leaf.relation, only: leaf.only, column: column,
                                                outside: check.window)
            } catch let error as PGError {
                let message = "\(leaf.schema).\(leaf.relation): counting rows outside every window: \(error.message)"
                problems.append(message)
                let stems = PartitionPlanner.attach(message, to: &planned) { $0.leafIndices.contains(index) }
                unplanned.append(UnplannedRelation(schema: options.schema, table: options.table, source: source, error: message,
                                                   slices: stems))
                continue
            }
            for reason in UnwindowedRows.Reason.allCases {
                guard let rows = counts[reason], rows > 0 else { continue }
                let outside = reason == .outsideWindow
                found.append(UnwindowedRows(
                    schema: options.schema, table: options.table, source: source, column: column, rows: rows, reason: reason,
                    start: outside && check.window.start > .distantPast ? check.window.start.description : nil,
                    end: outside && check.window.end < .distantFuture ? check.window.end.description : nil))
            }
        }
        return found
    }
}
