import ArchiveCache
import ArchiveLayout
import ArchiverConfig
import FoundationEssentials
import PGAccess
import PGPlanning
import PGRetirement
import Pipelines
import RunDisplay
import SlicePlan
import ToolSupport

/// What `retire` did with one window (man/data-archiver.1, RETIRE).
public enum RetireState: String, CaseIterable, Sendable {
    /// Its rows were removed (or, with `--dry-run`, would be).
    case retired
    /// `--dry-run`: its rows would be removed.
    case wouldRetire = "would retire"
    /// Retired by an earlier run (its manifest says so); nothing left to do.
    case done = "already retired"
    /// No rows of the window in PostgreSQL and no object: nothing to do.
    case empty
    /// Not selected: the window ended less than `--older-than` ago.
    case kept
    /// Refused: open, cut by the range, object missing or not verified, source changed, preflight.
    case refused
    /// A lock was not granted in time or the removal failed; the transaction was rolled back.
    case failed

    var isGood: Bool { ![.refused, .failed].contains(self) }
}

/// The end of a retire run.
public struct RetireSummary: RunReport {
    public var counts: [RetireState: Int] = [:]
    public var windows = 0
    public var rows: Int64 = 0
    public var dryRun = false
    public var seconds = 0.0
    public var interrupted = false
    public var authenticationRefused = false
    public var failed: Int { counts.filter { !$0.key.isGood }.values.reduce(0, +) }

    /// The figures of the `summary` log line: one count per state (`would retire` as `would_retire`).
    public var fields: [(String, String)] {
        [("windows", "\(windows)")] + RetireState.allCases.map { ($0.rawValue.replacing(" ", with: "_"), "\(counts[$0] ?? 0)") }
            + [("rows", "\(rows)"), ("dry_run", "\(dryRun)"), ("seconds", TextFormat.fixed(seconds, 3))]
    }

    public var lines: [String] {
        let parts = RetireState.allCases.map { "\(counts[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
        return ["summary: \(windows) windows\(dryRun ? " (dry run: nothing changed)" : ""): \(parts); "
                + "\(rows) rows \(dryRun ? "would be " : "")removed from PostgreSQL in \(formatDuration(seconds))"]
    }
}

/// `data-archiver retire`: removes from PostgreSQL the rows of closed windows whose objects
/// verify (docs/retire.md). Each window: verify's deep check of the object against its manifest,
/// the preflight, then one transaction that locks the rows' relations, recomputes their digest
/// with pg-extract's code path, removes them only when it equals the manifest's, and commits;
/// then the manifest and the cache record the retirement.
public final class RetireRun: VerifyRun, @unchecked Sendable {
    private var retired = RetireSummary()
    private let lines = FileSink.standardOutput()

    override public func perform() throws -> any RunReport { try retire() }

    /// Runs the whole retire (windows one after another: they share the parent's locks).
    public func retire() throws -> RetireSummary {
        guard let mode = RetireMode(config.retireMode) else { throw OrchestratorError("invalid --retire-mode \"\(config.retireMode)\"") }
        let runLock = try begin(name: "table \(config.table!)")
        defer { end(runLock) }
        retired.dryRun = config.dryRun
        let items = try collect()
        retired.windows = items.count
        display.setTotals(slices: items.count, rows: 0)
        display.log(.info, "retiring", [("windows", "\(items.count)"), ("mode", "\(mode)"), ("dry_run", "\(config.dryRun)")])
        let sidecars = SchemaSidecars(invocation: invocation, home: home)
        defer { sidecars.removeAll() }
        var conn: PGConnection?
        for (index, item) in items.enumerated() {
            if isStopping { break }
            task { $0.currentTask = "retiring \(item.name)" }
            var (state, detail, rows) = retireOne(item, mode: mode, sidecars: sidecars, conn: &conn)
            // The window's newest object is retired already: rows PostgreSQL holds for it now
            // arrived since and are in no object yet (archive makes them a late object).
            let newest = index + 1 == items.count || items[index + 1].stem != item.stem
            if state == .done, newest, let plan = item.plan, let late = unarchivedRows(plan, conn: &conn), late > 0 {
                detail += "; \(late) rows of the window arrived in PostgreSQL since and are in no object yet: "
                    + "archive (they become a late object, docs/retire.md), then retire again"
                display.log(.warn, "late rows not archived yet", [("slice", item.stem), ("rows", "\(late)")])
            }
            report(item, state, detail, rows: rows)
        }
        lock.lock()
        defer { lock.unlock() }
        retired.seconds = Date().timeIntervalSince(startClock)
        retired.interrupted = summary.interrupted
        return retired
    }

    /// Whether the window ended at least `--older-than` ago (always, without the flag).
    func oldEnough(_ label: String) -> Bool {
        guard let age = config.olderThanSeconds else { return true }
        guard let window = WindowLabel(label) else { return false }
        return window.window.end.microseconds / 1_000_000 <= Timestamp.now().seconds - age
    }

    /// One window: its state, the line's detail and the rows removed.
    func retireOne(_ item: VerifyItem, mode: RetireMode, sidecars: SchemaSidecars, conn: inout PGConnection?) -> (RetireState, String, Int64) {
        let label = String(item.stem.dropFirst(config.table!.count + 1))
        guard oldEnough(label) else { return (.kept, "ended less than --older-than \(config.text("retire.older_than") ?? "") ago", 0) }
        if let plan = item.plan {
            if plan.open { return (.refused, "the window is open (it may still gain rows)", 0) }
            if plan.partial { return (.refused, "the window is cut by --start-date/--end-date: retire only whole windows", 0) }
        }
        if let key = item.manifestKey, let manifest = try? invocation.fetchManifest(key: key), let done = manifest.retired {
            return (.done, "\(done.rows) rows, digest \(done.digest), \(done.mode) at \(done.time.rfc3339)", 0)
        }
        // Before the deep check, which could not read such an object anyway.
        if item.object != nil, let key = item.key, let problem = storageClassProblem(key) { return (.refused, "unverifiable: \(problem)", 0) }
        let (state, detail, manifest) = check(item, sidecars: sidecars)
        if state == .empty {
            guard let plan = item.plan else { return (.empty, detail, 0) }
            return emptySource(plan, conn: &conn)
        }
        guard state == .ok, let manifest else { return (.refused, "the object is \(state.rawValue): \(detail)", 0) }
        if manifest.open { return (.refused, "the object was archived while the window was open: archive it again once it has closed", 0) }
        guard let plan = item.plan else {
            // Nothing of the window left in PostgreSQL and a verified object: a retirement whose
            // record a killed run did not write, or rows removed by other means. Record it.
            return record(item, manifest: manifest, outcome: nil, mode: mode)
        }
        do {
            if conn == nil { conn = try PGConnection(connectionParameters(config)) }
        } catch {
            return (.failed, "\(error)", 0)
        }
        let db = conn!
        do {
            let (forcible, fatal) = try Retirer.preflight(db, slice: plan, mode: mode)
            if !fatal.isEmpty { return (.refused, fatal.joined(separator: "; "), 0) }
            if !forcible.isEmpty {
                if !config.forceRetire { return (.refused, forcible.joined(separator: "; ") + " (--force-retire removes them anyway)", 0) }
                display.log(.warn, "retiring despite the preflight (--force-retire)", [("slice", item.name), ("found", forcible.joined(separator: "; "))])
            }
            if !config.dryRun {
                for finished in try Retirer.finishPendingDetaches(db, slice: plan, lockTimeoutMilliseconds: config.lockTimeoutMilliseconds) {
                    display.log(.info, "finished a detach left pending (DETACH … FINALIZE)", [("relation", finished)])
                }
            }
        } catch {
            return (.failed, "preflight: \(error)", 0)
        }
        let columns = (try? sidecars.path(for: manifest.key, table: config.table!, template: config.pathTemplate!)).flatMap { $0 }.flatMap(archivedColumns)
        let request = RetireRequest(slice: plan, columns: columns, expectedRows: manifest.rows, expectedDigest: manifest.digest, mode: mode,
                                    lockTimeoutMilliseconds: config.lockTimeoutMilliseconds, lockRetries: config.lockRetries, dryRun: config.dryRun)
        let outcome: RetireOutcome
        do {
            outcome = try Retirer.retire(db, request) { [display] attempt, why in
                display.log(.warn, "waiting for a lock", [("slice", item.name), ("attempt", "\(attempt)"), ("detail", why)])
            }
        } catch let refusal {
            switch refusal.kind {
            case .sourceChanged: return (.refused, "source changed: \(refusal.message)", 0)
            case .preflight, .notAllowed: return (.refused, refusal.message, 0)
            case .locked, .failed: return (.failed, refusal.message, 0)
            }
        }
        if config.dryRun {
            return (.wouldRetire, Self.removal(outcome), outcome.rows)
        }
        return record(item, manifest: manifest, outcome: outcome, mode: mode)
    }

    /// The exact number of rows PostgreSQL holds for a planned window, or nil when it cannot be
    /// counted (a warning: the line is about the retired object, which stays what it is).
    func unarchivedRows(_ plan: Slice, conn: inout PGConnection?) -> Int64? {
        do {
            if conn == nil { conn = try PGConnection(connectionParameters(config)) }
            return try PartitionPlanner.exactRows(conn!, sources: plan.sources)
        } catch {
            display.log(.warn, "could not count the window's rows in PostgreSQL", [("slice", plan.stem), ("error", "\(error)")])
            return nil
        }
    }

    /// A planned window without an object: `empty` when PostgreSQL holds no row of it (read-only
    /// check, nothing removed), refused when it does (archive it first).
    func emptySource(_ plan: Slice, conn: inout PGConnection?) -> (RetireState, String, Int64) {
        let request = RetireRequest(slice: plan, columns: nil, expectedRows: 0, expectedDigest: Retirer.emptyDigest, mode: .detach,
                                    lockTimeoutMilliseconds: config.lockTimeoutMilliseconds, lockRetries: config.lockRetries, dryRun: true)
        do {
            if conn == nil { conn = try PGConnection(connectionParameters(config)) }
            _ = try Retirer.retire(conn!, request)
            return (.empty, "no rows in PostgreSQL and no object", 0)
        } catch let refusal as RetireRefusal where refusal.kind == .sourceChanged {
            return (.refused, "PostgreSQL holds \(refusal.rows.map(String.init) ?? "some") rows of this window and there is no archived object: archive it first", 0)
        } catch {
            return (.failed, "\(error)", 0)
        }
    }

    /// Writes the retirement into the manifest (the store's record) and the cache.
    func record(_ item: VerifyItem, manifest: SliceManifest, outcome: RetireOutcome?, mode: RetireMode) -> (RetireState, String, Int64) {
        let deleted = item.plan?.sources.contains { $0.column != nil } ?? false
        let retirement = SliceManifest.Retirement(
            time: .now(), rows: manifest.rows, digest: manifest.digest, mode: outcome == nil ? "found removed" : deleted ? "delete" : "\(mode)",
            actions: outcome?.actions ?? ["none: no rows of the window were left in \(config.dbSchema).\(config.table!)"])
        // The line reads on from its state: `<stem> retired 150 rows, digest …: drop public.flights_20240101 (150 rows)`.
        let found = "\(manifest.rows) rows, digest \(manifest.digest): none were left in \(config.dbSchema).\(config.table!) "
            + "(no partition or filter plans the window) and the verified object holds them"
        let what = outcome.map(Self.removal) ?? found + ": recorded"
        if config.dryRun { return (.wouldRetire, found + ": the retirement would be recorded", 0) }
        var updated = manifest
        updated.retired = retirement
        do {
            try invocation.storeManifest(updated, key: item.manifestKey!)
        } catch {
            return (.failed, "\(what), but the retirement could not be recorded in the manifest (the next run records it): \(error)", outcome?.rows ?? 0)
        }
        do {
            try cache.updateEntry(scope, key: manifest.key) { entry in
                entry.retiredTime = retirement.time
                entry.retiredRows = retirement.rows
                entry.retiredDigest = retirement.digest
                entry.retireMode = retirement.mode
            }
        } catch {
            display.log(.warn, "could not record the retirement in the cache", [("slice", item.name), ("error", "\(error)")])
        }
        return (.retired, what, outcome?.rows ?? 0)
    }

    /// What a removal did (or, in a dry run, would do), as the detail after `retired` or
    /// `would retire`: `150 rows, digest …: drop public.flights_20240101 (150 rows)`.
    static func removal(_ outcome: RetireOutcome) -> String {
        "\(outcome.rows) rows, digest \(outcome.digest): \(outcome.actions.joined(separator: "; "))"
    }

    struct HeadClass: Decodable { var storage_class: String? }

    /// Why an object cannot be read at once (GLACIER, DEEP_ARCHIVE), or nil.
    func storageClassProblem(_ key: String) -> String? {
        guard let head = try? invocation.capture("s3get", invocation.storeArguments + ["--head", "--key", key]), head.termination.succeeded,
              let line = head.lines.last, let info = try? JSONDecoder().decode(HeadClass.self, from: Data(line.utf8)),
              let cls = info.storage_class, ["GLACIER", "DEEP_ARCHIVE"].contains(cls) else { return nil }
        return "\(key) is in storage class \(cls), which cannot be read at once: restore it to a readable class first"
    }

    /// Prints one window's line and counts it.
    func report(_ item: VerifyItem, _ state: RetireState, _ detail: String, rows: Int64) {
        let text = invocation.mask(detail)
        let line = config.logFormat == .json
            ? "{\"slice\":\(JSON.quote(item.name)),\"state\":\(JSON.quote(state.rawValue)),\"rows\":\(rows),\"detail\":\(JSON.quote(text))}\n"
            : "\(item.name) \(state.rawValue) \(text)\n"
        lock.lock()
        retired.counts[state, default: 0] += 1
        if state == .retired || state == .wouldRetire { retired.rows += rows }
        lock.unlock()
        try? lines.write(line)
        try? lines.flush()
        if !state.isGood { display.log(.warn, "window \(state.rawValue)", [("slice", item.name), ("detail", text)]) }
        display.completed(state.rawValue + String(repeating: " ", count: max(1, 16 - state.rawValue.count)) + item.name, bytes: 0, rows: rows)
    }
}
