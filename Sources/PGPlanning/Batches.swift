import PGAccess
import SlicePlan

/// Catalog work over many relations in a few statements: sizes and counts for tables with
/// thousands of partitions.
///
/// Each statement runs in its own transaction (the connection is in autocommit) and touches at
/// most `chunk` relations, so no transaction takes more locks than a default lock table holds
/// (`max_locks_per_transaction` 64 × `max_connections` 100 = 6,400 slots shared by the whole
/// server), and 10,000 partitions cost tens of round trips instead of 10,000.
enum Batches {
    /// Relations per statement for `pg_table_size` (one AccessShareLock each).
    static let sizeChunk = 1_000
    /// Relations per statement for counts (the relation's and its indexes' locks each).
    static let countChunk = 200

    /// Turns JIT compilation off for the session: the catalog query over a big partition tree
    /// is estimated expensive enough to be JIT-compiled, which took 2.8 s of a 3 s plan (10,000
    /// slices) and never pays for catalog work. Servers without JIT (before 11) ignore it.
    static func disableJIT(_ conn: PGConnection) {
        _ = try? conn.query("SET jit = off")
    }

    /// `pg_table_size` of each relation by oid (absent for a relation dropped meanwhile).
    static func tableSizes(_ conn: PGConnection, oids: [String]) throws -> [String: Int64] {
        var sizes: [String: Int64] = [:]
        for start in stride(from: 0, to: oids.count, by: sizeChunk) {
            let chunk = oids[start..<min(start + sizeChunk, oids.count)]
            let rows = try conn.query("SELECT o, pg_table_size(o) FROM unnest($1::oid[]) AS o",
                                      ["{" + chunk.joined(separator: ",") + "}"])
            for row in rows {
                if let oid = row[0], let size = row[1].flatMap({ Int64($0) }) { sizes[oid] = size }
            }
        }
        return sizes
    }

    /// `nodes` with their `tableBytes` filled in.
    static func withTableSizes(_ conn: PGConnection, _ nodes: [TreeNode]) throws -> [TreeNode] {
        let sizes = try tableSizes(conn, oids: nodes.map(\.oid))
        return nodes.map { node in
            var n = node
            n.tableBytes = sizes[node.oid]
            return n
        }
    }

    /// One `count(*)` wanted: a relation, optionally within a window of a column.
    struct CountRequest {
        var schema: String
        var relation: String
        var only: Bool
        var column: String?
        var window: Window?

        var sql: String {
            var sql = "SELECT count(*) FROM \(only ? "ONLY " : "")\(SQL.qualified(schema, relation))"
            if let column, let window { sql += " WHERE " + Catalog.filterSQL(column: column, window: window) }
            return sql
        }
    }

    /// The count of each request, in order: `countChunk` counts per statement (`UNION ALL`). A
    /// statement that fails is retried one count at a time, so an error (a relation we may not
    /// read) is told apart from its neighbours' results.
    static func counts(_ conn: PGConnection, _ requests: [CountRequest]) -> [Result<Int64, PGError>] {
        // Many windows of one relation (a plain table cut into hours): one scan for all of them,
        // not one per window, which on a table without an index on the column is a scan each.
        var grouped = [Result<Int64, PGError>?](repeating: nil, count: requests.count)
        var groups: [String: [Int]] = [:]
        for (i, r) in requests.enumerated() {
            guard let column = r.column, let w = r.window, w.start > .distantPast, w.end < .distantFuture, w.start < w.end else { continue }
            groups["\(r.only) \(SQL.qualified(r.schema, r.relation)) \(SQL.identifier(column))", default: []].append(i)
        }
        for members in groups.values.sorted(by: { $0[0] < $1[0] }) where members.count >= bucketThreshold {
            do {
                for (i, n) in zip(members, try windowCounts(conn, members.map { requests[$0] })) { grouped[i] = .success(n) }
            } catch let error as PGError where error.isCancelled {
                return grouped.map { $0 ?? .failure(error) }
            } catch {
                continue  // counted one window at a time below, which tells an error's relation apart
            }
        }
        let rest = requests.indices.filter { grouped[$0] == nil }
        if rest.count == requests.count { return chunkedCounts(conn, requests) }
        for (i, result) in zip(rest, chunkedCounts(conn, rest.map { requests[$0] })) { grouped[i] = result }
        return grouped.map { $0! }
    }

    /// Windows of one relation from which one statement counts them all.
    static let bucketThreshold = 16

    /// The counts of `requests` (one relation and column, finite windows) in one scan: each row
    /// falls in a bucket between two sorted window bounds (`width_bucket` over the bounds, a
    /// binary search), and a window's count is the sum of the buckets it spans.
    static func windowCounts(_ conn: PGConnection, _ requests: [CountRequest]) throws -> [Int64] {
        let first = requests[0]
        let bounds = Array(Set(requests.flatMap { [$0.window!.start, $0.window!.end] })).sorted()
        let position = Dictionary(uniqueKeysWithValues: bounds.enumerated().map { ($1, $0) })
        let column = SQL.identifier(first.column!)
        let sql = "SELECT width_bucket(\(column)::timestamptz, $1::timestamptz[]), count(*) FROM \(first.only ? "ONLY " : "")"
            + "\(SQL.qualified(first.schema, first.relation)) WHERE \(column) >= $2::timestamptz AND \(column) < $3::timestamptz GROUP BY 1"
        let array = "{" + bounds.map { "\"\($0.postgresText)\"" }.joined(separator: ",") + "}"
        // Bucket b (1-based) holds the rows in [bounds[b-1], bounds[b]).
        var buckets = [Int64](repeating: 0, count: bounds.count + 1)
        for row in try conn.query(sql, [array, bounds.first!.postgresText, bounds.last!.postgresText]) {
            if let b = row[0].flatMap({ Int($0) }), b >= 0, b < buckets.count { buckets[b] = row[1].flatMap { Int64($0) } ?? 0 }
        }
        return requests.map { r in
            (position[r.window!.start]! + 1...position[r.window!.end]!).reduce(0) { $0 + buckets[$1] }
        }
    }

    /// The counts of `requests` a chunk of windows per statement.
    static func chunkedCounts(_ conn: PGConnection, _ requests: [CountRequest]) -> [Result<Int64, PGError>] {
        var results: [Result<Int64, PGError>] = []
        results.reserveCapacity(requests.count)
        for start in stride(from: 0, to: requests.count, by: countChunk) {
            let chunk = Array(requests[start..<min(start + countChunk, requests.count)])
            let sql = chunk.enumerated().map { "SELECT \($0.offset) AS i, (\($0.element.sql)) AS n" }.joined(separator: " UNION ALL ")
            do {
                var counts = [Int64](repeating: 0, count: chunk.count)
                for row in try conn.query(sql) {
                    if let i = row[0].flatMap({ Int($0) }), i < counts.count { counts[i] = row[1].flatMap { Int64($0) } ?? 0 }
                }
                results += counts.map { .success($0) }
            } catch let error as PGError where error.isCancelled {
                // Cancelled (the run ended, or a statement timeout): no retry one by one.
                results += Array(repeating: .failure(error), count: requests.count - results.count)
                return results
            } catch {
                for request in chunk {
                    do {
                        results.append(.success(Int64(try conn.query(request.sql)[0][0] ?? "0") ?? 0))
                    } catch let error as PGError {
                        results.append(.failure(error))
                    } catch {
                        results.append(.failure(PGError(.query, "\(error)")))
                    }
                }
            }
        }
        return results
    }
}
