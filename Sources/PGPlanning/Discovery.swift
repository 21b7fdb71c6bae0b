import PGAccess
import SlicePlan

/// One discovery run: the tree under the base table, each relation placed in time as a `Leaf`.
struct Discovery {
    let conn: PGConnection
    let options: PlanOptions
    let tree: [TreeNode]
    let standalone: [TreeNode]
    let dateColumn: String?
    /// `[--start-date, --end-date + 1 day)`.
    let range: Window
    private(set) var leaves: [Leaf] = []
    /// For each leaf, what the completeness check needs (parallel to `leaves`).
    private(set) var checks: [LeafCheck] = []
    private(set) var problems: [String] = []
    /// Relations that could not be planned, with the window their rows may lie in.
    private(set) var unplanned: [(source: Slice.Source, error: String, window: Window)] = []
    /// Per relation: the window its ancestors' and its own bounds (or its name) confine it to,
    /// whether a DEFAULT partition on the way means its rows must be filtered anyway, and
    /// whether a name (not a partition bound) placed it on the way.
    private var confinement: [String: (window: Window, filter: Bool, byName: Bool)] = [:]

    private static let everything = Window(start: .distantPast, end: .distantFuture)

    /// Reads the catalog: the base table, its tree, the date column, standalone tables.
    init(_ conn: PGConnection, _ options: PlanOptions) throws {
        self.conn = conn
        self.options = options
        let name = "\(options.schema).\(options.table)"
        guard let base = try Catalog.table(conn, schema: options.schema, name: options.table) else {
            throw PlanError("table \"\(name)\" not found")
        }
        tree = try Batches.withTableSizes(conn, Catalog.tree(conn, root: base.oid))
        if let column = options.dateColumn {
            guard let type = try Catalog.columnType(conn, relation: base.oid, column: column) else {
                throw PlanError("table \"\(name)\" has no column \"\(column)\" (--date-column)")
            }
            guard Catalog.dateTypes.contains(type) else {
                throw PlanError("column \"\(column)\" of \"\(name)\" is not a date, timestamp or timestamptz (--date-column)")
            }
            dateColumn = column
        } else if let key = tree[0].rangeKeyColumn, let type = try Catalog.columnType(conn, relation: base.oid, column: key),
                  Catalog.dateTypes.contains(type) {
            dateColumn = key
        } else {
            dateColumn = nil
        }
        let today = Instant(microseconds: Int64(options.now.day) * 86_400_000_000)
        range = Window(start: options.startDate ?? .distantPast, end: (options.endDate ?? today).adding(days: 1))
        standalone = options.includeNonPartitionTables
            ? try Batches.withTableSizes(conn, Catalog.standaloneTables(conn, namespace: base.namespace, base: options.table)
                .filter { NamePatterns.window(relation: $0.name, base: options.table) != nil })
            : []
        if isPlain && standalone.isEmpty && !canSynthesize {
            throw PlanError("table \"\(name)\" has no partitions: synthetic windows need --date-column, --start-date and --end-date")
        }
        confine()
    }

    private var root: TreeNode { tree[0] }
    private var isPlain: Bool { tree.count == 1 && root.relkind != "p" }
    private var canSynthesize: Bool { dateColumn != nil && options.startDate != nil && options.endDate != nil }

    /// Walks the tree top-down, intersecting RANGE bounds on the date column (or name windows of inheritance children).
    private mutating func confine() {
        confinement[root.oid] = (Self.everything, false, false)
        let keys = Dictionary(tree.compactMap { node in node.rangeKeyColumn.map { (node.oid, $0) } }) { a, _ in a }
        for node in tree.dropFirst() {
            guard let parent = node.parent, var (window, filter, byName) = confinement[parent] else { continue }
            let named = NamePatterns.window(relation: node.name, base: options.table)
            if node.bound == "DEFAULT" {
                filter = true
            } else if let bound = node.bound, let key = keys[parent], key == dateColumn, let w = rangeBound(bound) {
                window = window.intersection(w)
            } else if let named {
                // Inheritance children, and partitions whose bounds are not on the date column: placed by name.
                window = window.intersection(named)
                byName = true
            }
            confinement[node.oid] = (window, filter, byName)
        }
    }

    /// Places every relation that can hold rows: leaves, inheritance parents' own rows, a plain table, standalone tables.
    mutating func placeAll() throws {
        for node in tree {
            if node.oid == root.oid && isPlain {
                if canSynthesize { try place(node, only: false) }
            } else if node.children == 0 && node.relkind != "p" {
                try place(node, only: false)
            } else if try isInheritanceParentWithRows(node) {
                try place(node, only: true)
            }
        }
        for node in standalone { try place(node, only: false) }
    }

    /// An inheritance parent may hold rows of its own; one we cannot read is reported, not skipped.
    private func isInheritanceParentWithRows(_ node: TreeNode) throws -> Bool {
        guard node.relkind == "r" else { return false }
        guard node.readable else { return true }
        return try Catalog.hasOwnRows(conn, schema: node.schema, relation: node.name)
    }

    /// Gives one relation its window: from its confinement when bounded, else from its data's extent.
    private mutating func place(_ node: TreeNode, only: Bool) throws {
        let named = NamePatterns.window(relation: node.name, base: options.table).map { ($0, false, true) }
        var (window, filter, byName) = confinement[node.oid] ?? named ?? (Self.everything, true, false)
        if node.oid == root.oid || only { filter = true }
        let bounded = window.start > .distantPast && window.end < .distantFuture
        var leaf = Leaf(schema: node.schema, relation: node.name, window: nil, alwaysFilter: filter || !bounded, only: only,
                        estimatedRows: node.reltuples, tableBytes: node.tableBytes)
        let source = Slice.Source(schema: node.schema, relation: node.name, only: only ? true : nil)
        // Rows confined by partition bounds on the date column cannot lie outside the window, be NULL or infinite there.
        let check = LeafCheck(window: window, guaranteed: bounded && !filter && !byName, readable: node.readable, oid: node.oid)
        let label = "\(node.schema).\(node.name)"
        if !node.readable {
            leaf.error = "permission denied for table \(label)"
            leaf.window = bounded ? window : nil
            if !bounded || !window.intersection(range).isEmpty {
                problems.append(leaf.error!)
                if !bounded { unplanned.append((source, leaf.error!, window)) }
            }
            append(leaf, check)
            return
        }
        if !leaf.alwaysFilter {
            leaf.window = window
            append(leaf, check)
            return
        }
        guard let dateColumn else {
            let message = "cannot place \(label): no range bound on a date column and no date in its name (use --date-column)"
            problems.append(message)
            unplanned.append((source, message, window))
            return
        }
        let within = window.intersection(range)
        do {
            leaf.window = within.isEmpty ? nil
                : try Catalog.extent(conn, schema: node.schema, relation: node.name, only: only, column: dateColumn, within: within)
        } catch let error as PGError {
            leaf.error = "\(label): \(error.message)"
            problems.append(leaf.error!)
            unplanned.append((source, leaf.error!, window))
        }
        append(leaf, check)
    }

    private mutating func append(_ leaf: Leaf, _ check: LeafCheck) {
        leaves.append(leaf)
        checks.append(check)
    }
}

/// What discovery knows of a leaf beyond its placement: the window its name or bounds confine it
/// to, and whether partition bounds guarantee its rows lie there (no NULL, no infinity).
struct LeafCheck {
    var window: Window
    var guaranteed: Bool
    var readable: Bool
    /// The relation's oid (for catalog questions about all leaves at once).
    var oid: String
}
