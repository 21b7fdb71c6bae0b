import PGAccess
import SlicePlan

/// Finds the relations whose slices will each scan them whole (docs/plan.md, "Slices without
/// an index"): a relation read through a filter on the date column by more than
/// `UnindexedScan.windowThreshold` slices, none of whose valid indexes starts with that column.
/// Every slice's `WHERE column >= A AND column < B` is then a sequential scan, so reading N
/// windows costs N whole-relation scans: quadratic in the windows of a plain table.
struct IndexCheck {
    let conn: PGConnection
    let discovery: Discovery
    let options: PlanOptions

    /// A relation of at most this many bytes is one page: scanning it costs what an index probe
    /// would, and no warning is worth it.
    static let smallestWorthAnIndex: Int64 = 8_192

    /// The warnings for `planned` (the slices printed), in leaf order. One catalog query for all
    /// relations concerned, none when no relation has enough windows; a failed query gives no
    /// warning and never fails the plan.
    func unindexed(_ planned: [PlannedSlice]) -> [UnindexedScan] {
        guard let column = discovery.dateColumn else { return [] }
        var windows = [Int](repeating: 0, count: discovery.leaves.count)
        for p in planned where p.slice.error == nil {
            for (source, index) in zip(p.slice.sources, p.leafIndices) where source.column != nil { windows[index] += 1 }
        }
        let candidates = windows.indices.filter { i in
            let leaf = discovery.leaves[i]
            return windows[i] > UnindexedScan.windowThreshold && leaf.error == nil && discovery.checks[i].readable
                && (leaf.tableBytes ?? Int64.max) > Self.smallestWorthAnIndex
        }
        guard !candidates.isEmpty else { return [] }
        let oids = candidates.map { discovery.checks[$0].oid }
        // An index serves a range of the column when the column is its first key (indkey[0]; 0 for
        // an expression) and its access method can search a range (btree, BRIN, GiST…; not hash).
        guard let rows = try? conn.query("""
            SELECT DISTINCT i.indrelid FROM pg_index i
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
              JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
            WHERE i.indrelid = ANY($1::oid[]) AND i.indisvalid AND a.attname = $2 AND am.amname <> 'hash'
            """, ["{" + oids.joined(separator: ",") + "}", column]) else { return [] }
        let indexed = Set(rows.compactMap { $0[0] })
        return candidates.filter { !indexed.contains(discovery.checks[$0].oid) }.map { i in
            let leaf = discovery.leaves[i]
            return UnindexedScan(
                schema: options.schema, table: options.table,
                source: Slice.Source(schema: leaf.schema, relation: leaf.relation, only: leaf.only ? true : nil), column: column,
                windows: windows[i], estimatedRows: leaf.estimatedRows.flatMap { $0 >= 0 ? Int64($0.rounded()) : nil },
                diskBytes: leaf.tableBytes)
        }
    }
}
