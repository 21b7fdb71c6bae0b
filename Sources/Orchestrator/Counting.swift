import ArchiveCache
import ArchiverConfig
import Dispatch
import FoundationEssentials
import SlicePlan
import ToolSupport
#if canImport(Glibc)
import Glibc
#endif
import PGAccess
import PGPlanning
import RunDisplay

/// Exact row counts being taken on a thread of their own.
final class BackgroundCount: @unchecked Sendable {
    private let lock = Lock()
    private var connection: PGConnection?
    private var cancelled = false
    private let done = DispatchSemaphore(value: 0)

    /// Starts `body` on a thread; it hands its connection to `track` so `finish` can cancel its query.
    init(_ body: @escaping @Sendable (BackgroundCount) -> Void) {
        let started = spawnThread { [self] in
            body(self)
            done.signal()
        }
        if !started { done.signal() }  // no count: the progress bars keep the estimates
    }

    /// Records the connection counting (its query cancelled at once when `finish` came first).
    func track(_ connection: PGConnection) {
        lock.lock()
        self.connection = connection
        let cancel = cancelled
        lock.unlock()
        if cancel { connection.cancel() }
    }

    /// Whether `finish` stopped the count before it ended.
    var wasCancelled: Bool { lock.lock(); defer { lock.unlock() }; return cancelled }

    /// Stops the count if it is still running (the slices are done; the counts only fed the
    /// progress bars) and waits for its thread.
    func finish() {
        lock.lock()
        cancelled = true
        let running = connection
        lock.unlock()
        running?.cancel()
        done.wait()
    }
}

extension ArchiveRun {
    /// Row counts for the progress bars: the cache's trusted ones at once (never for open
    /// windows), the others counted exactly on a background thread while the
    /// slices are archived, so counting never delays the first row. Returns the plans with the
    /// cached counts (estimates elsewhere; changed in place: no copy of 100,000 slices) and the
    /// background count, if one was needed. `keys` are the plans' object keys, `known` what the
    /// cache knows of them.
    func startCounting(_ plans: inout [Slice], keys: [String], known entries: KnownSlices) -> BackgroundCount? {
        let now = Timestamp.now()
        var missing: [String] = []
        for i in plans.indices where plans[i].error == nil {
            if let end = Timestamp(rfc3339: plans[i].end), let rows = entries[keys[i]]?.trustedRowCount(windowEnd: end, now: now) {
                plans[i].rows = rows
                plans[i].rowsExact = true
            } else {
                missing.append(plans[i].stem)
            }
        }
        display.setCounting(done: plans.count - missing.count, total: plans.count)
        guard !missing.isEmpty else { return nil }
        let (initial, stems) = (plans, missing)
        return BackgroundCount { [self] count in
            countExactly(stems, plans: initial, count: count)
        }
    }

    /// Counts the `missing` slices exactly from their plan lines' sources (on a connection of
    /// data-archiver's own, so no extra process joins the pipelines), records the counts of
    /// closed windows in the cache and raises the progress totals to the exact figures.
    private func countExactly(_ missing: [String], plans: [Slice], count: BackgroundCount) {
        // The counts beside the plans, not a changed copy of them (100,000 slices).
        var counted = plans.map { $0.rows ?? 0 }
        var done = plans.count - missing.count
        let connection: PGConnection
        do {
            connection = try connect(config)
        } catch {
            display.log(.warn, "counting rows failed: \(error)")
            return
        }
        count.track(connection)
        let wanted = Set(missing)
        var failure: String?
        // Counts go to the cache in batches (one transaction each), not one write per slice.
        var pending: [String: Int64] = [:]
        var lastFlush = monotonicNanosecondsNow()
        defer { recordCounts(pending) }
        let indices = plans.indices.filter { wanted.contains(plans[$0].stem) }
        let rounds = Self.countingRounds(indices, plans: plans)
        for chunk in rounds {
            guard !count.wasCancelled else { return }
            let results = PartitionPlanner.exactRows(connection, slices: chunk.map { plans[$0].sources })
            for (i, result) in zip(chunk, results) {
                let rows: Int64
                switch result {
                case .success(let n): rows = n
                case .failure(let error) where error.isCancelled: return
                case .failure(let error):
                    failure = failure ?? "\(plans[i].stem): \(error)"
                    continue
                }
                counted[i] = rows
                done += 1
                display.setCounting(done: done, total: plans.count)
                if !plans[i].open {
                    pending[objectKey(plans[i], template: config.pathTemplate!)] = rows
                    if pending.count >= 500 || monotonicNanosecondsNow() - lastFlush > 1_000_000_000 {
                        recordCounts(pending)
                        pending = [:]
                        lastFlush = monotonicNanosecondsNow()
                    }
                }
            }
        }
        display.setTotals(slices: plans.count, rows: counted.reduce(0, +))
        task { $0.partitionsCounted = Int64(done) }
        display.log(.debug, "rows counted", [("counted", "\(done - (plans.count - missing.count))"), ("rounds", "\(rounds.count)")])
        if let failure { display.log(.warn, "counting rows failed for some slices: \(failure)") }
    }

    /// Most slices in one round of the background count, and most relations their sources name.
    static let roundSlices = 5_000, roundRelations = 200

    /// The slices `indices` in rounds, each counted by one `PartitionPlanner.exactRows` call and
    /// followed by a progress update. Windows of one relation are counted by one scan per call
    /// (`Batches.windowCounts`), so a plain table's round holds up to `roundSlices` of them: 100,000
    /// hourly windows are 20 scans, not 500 (each a whole-table scan without an index on the
    /// column). A round ends sooner once its sources name `roundRelations` relations: a
    /// partitioned table's slices then go about one statement of `count(*)`s per round.
    static func countingRounds(_ indices: [Int], plans: [Slice]) -> [[Int]] {
        var rounds: [[Int]] = []
        var round: [Int] = []
        var relations = Set<String>()
        for i in indices {
            let names = Set(plans[i].sources.map { "\($0.only == true ? "only " : "")\(SQL.qualified($0.schema, $0.relation))" })
            if !round.isEmpty && (round.count >= roundSlices || relations.union(names).count > roundRelations) {
                rounds.append(round)
                round = []
                relations = []
            }
            round.append(i)
            relations.formUnion(names)
        }
        if !round.isEmpty { rounds.append(round) }
        return rounds
    }

    /// Stores exact row counts of closed windows (key → rows) in one transaction.
    private func recordCounts(_ counts: [String: Int64]) {
        guard !counts.isEmpty else { return }
        let now = Timestamp.now()
        _ = try? cache.updateEntries(scope, keys: counts.keys.sorted()) { key, entry in
            entry.rowCount = counts[key] ?? 0
            entry.countTime = now
            entry.s3Key = key
        }
    }
}
