import ArchiveCache
import ArchiverConfig
import Foundation
import Pipelines
import RunDisplay

/// Exact row counts being taken by pg-partitions on a thread of their own.
final class BackgroundCount: @unchecked Sendable {
    private let lock = NSLock()
    private var pipeline: Pipeline?
    private var cancelled = false
    private let done = DispatchSemaphore(value: 0)

    /// Starts `body` on a thread; it hands its pipeline to `track` so `finish` can cancel it.
    init(_ body: @escaping @Sendable (BackgroundCount) -> Void) {
        let thread = Thread { [self] in
            body(self)
            done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Records the running pipeline (cancelled at once when `finish` came first).
    func track(_ pipeline: Pipeline) {
        lock.lock()
        self.pipeline = pipeline
        let cancel = cancelled
        lock.unlock()
        if cancel { pipeline.cancel() }
    }

    /// Whether `finish` stopped the count before it ended.
    var wasCancelled: Bool { lock.lock(); defer { lock.unlock() }; return cancelled }

    /// Stops the count if it is still running (the slices are done; the counts only fed the
    /// progress bars) and waits for its thread.
    func finish() {
        lock.lock()
        cancelled = true
        let running = pipeline
        lock.unlock()
        running?.cancel()
        done.wait()
    }
}

extension ArchiveRun {
    /// Row counts for the progress bars: the cache's trusted ones at once (never for open
    /// windows), the others counted exactly by pg-partitions on a background thread while the
    /// slices are archived, so counting never delays the first row. Returns the plans with the
    /// cached counts (estimates elsewhere) and the background count, if one was needed.
    func startCounting(_ plans: [PlanLine]) throws -> ([PlanLine], BackgroundCount?) {
        let now = Timestamp.now()
        let entries = try cache.load(scope).entries
        var counted = plans
        var missing: [String] = []
        for (i, plan) in plans.enumerated() where plan.error == nil {
            let key = objectKey(plan, template: config.pathTemplate!)
            if let end = Timestamp(rfc3339: plan.end), let rows = entries[key]?.trustedRowCount(windowEnd: end, now: now) {
                counted[i].rows = rows
                counted[i].rowsExact = true
            } else {
                missing.append(plan.stem)
            }
        }
        display.setCounting(done: plans.count - missing.count, total: plans.count)
        guard !missing.isEmpty else { return (counted, nil) }
        let (initial, stems) = (counted, missing)
        let count = BackgroundCount { [self] count in
            countExactly(stems, plans: initial, now: now, count: count)
        }
        return (counted, count)
    }

    /// Counts the `missing` slices with pg-partitions, records the counts of closed windows in
    /// the cache and raises the progress totals to the exact figures.
    private func countExactly(_ missing: [String], plans: [PlanLine], now: Timestamp, count: BackgroundCount) {
        var counted = plans
        var done = plans.count - missing.count
        let args = invocation.planArguments(count: "exact") + ["--only"] + missing
        let out: Captured
        do {
            out = try invocation.capture("pg-partitions", args, started: count.track)
        } catch {
            display.log(.warn, "counting rows failed: \(error)")
            return
        }
        for line in out.lines {
            guard let plan = try? PlanLine.parse(line), let rows = plan.rows, let i = counted.firstIndex(where: { $0.stem == plan.stem }) else { continue }
            counted[i].rows = rows
            counted[i].rowsExact = true
            done += 1
            display.setCounting(done: done, total: plans.count)
            if !plan.open {
                let key = objectKey(plan, template: config.pathTemplate!)
                _ = try? cache.updateEntry(scope, key: key) { entry in
                    entry.rowCount = rows
                    entry.countTime = now
                    entry.s3Key = key
                }
            }
        }
        display.setTotals(slices: counted.count, rows: counted.reduce(0) { $0 + ($1.rows ?? 0) })
        task { $0.partitionsCounted = Int64(done) }
        if !out.termination.succeeded && !count.wasCancelled {
            display.log(.warn, "counting rows failed for some slices: \(out.failure("pg-partitions"))")
        }
    }
}
