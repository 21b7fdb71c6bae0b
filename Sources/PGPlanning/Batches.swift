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
