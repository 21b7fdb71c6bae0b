import ArchiveCache
import ArchiveLayout
import ArchiverConfig
import PGAccess
import PGPlanning
import RunDisplay
import SlicePlan
import ToolSupport

/// Rows that arrive in a window after its rows were retired (docs/retire.md, "Late rows").
///
/// The window's object is never overwritten: it is the only copy of the retired rows. The rows
/// PostgreSQL holds for the window now go to a late object beside it, generation 1, 2, …
/// (`ArchiveLayout.lateKey`). A generation is rewritten (compared first, replaced when it
/// differs) while its rows are still in PostgreSQL, and is never touched again once `retire`
/// removed them and recorded it; the next late rows start the next generation. So every row of
/// the window is in exactly one object, and restore loads the object and every late object.

/// A planned window whose object is retired; `when`: `at <time> (<mode>)`.
struct RetiredWindow {
    var plan: Slice
    var key: String
    var when: String
}

extension ArchiveRun {
    /// The work that archives the late rows of retired windows; a window with none is skipped, one
    /// that cannot be archived is a failed slice (both reported here).
    func lateWork(_ windows: [RetiredWindow], listing: SliceListing, entries: KnownSlices) -> [SliceWork] {
        guard !windows.isEmpty else { return [] }
        // Neither an estimate nor the cache's count (taken before the retirement) tells "no rows"
        // from "a few late rows": count now, exactly, in a few statements for all of them.
        let counts: [Result<Int64, any Error>]
        do {
            let conn = try PGConnection(connectionParameters(config))
            counts = PartitionPlanner.exactRows(conn, slices: windows.map(\.plan.sources)).map { $0.mapError { $0 as any Error } }
        } catch {
            counts = windows.map { _ in .failure(error) }
        }
        let lateKeys = listing.lateKeys
        return zip(windows, counts).compactMap { window, rows in
            lateWork(window.plan, key: window.key, when: window.when, rows: rows, listing: listing, lateKeys: lateKeys, entries: entries)
        }
    }

    /// The work that archives one retired window's late rows (`rows`: their exact count), or nil.
    /// `lateKeys`: the listing's keys that may name a late object (`lateCandidates`).
    func lateWork(_ plan: Slice, key: String, when: String, rows counted: Result<Int64, any Error>, listing: SliceListing,
                  lateKeys: [String], entries: KnownSlices) -> SliceWork? {
        let rows: Int64
        switch counted {
        case .success(let n): rows = n
        case .failure(let error):
            fail(plan.stem, key: nil, stage: "retired", message: "the window was retired \(when); its rows in PostgreSQL could not be counted: \(error)")
            return nil
        }
        if rows == 0 {
            skip(plan, key: key, reason: "window retired \(when)")
            return nil
        }
        let arrived = "the window was retired \(when) and PostgreSQL holds \(rows) rows of it that arrived since"
        if plan.partial {
            fail(plan.stem, key: nil, stage: "retired", message: "\(arrived); late rows are archived only for whole windows: "
                 + "widen --start-date/--end-date to the whole window")
            return nil
        }
        let newest = lateObjects(of: key, stem: plan.stem, among: lateKeys).last
        var generation = 1
        if let newest {
            switch retirement(of: newest.key, entries: entries, listing: listing) {
            case .failure(let error):
                fail(plan.stem, key: nil, stage: "retired", message: "\(arrived), but whether its late object \(newest.key) is retired is unknown: \(error)")
                return nil
            case .success(let retired): generation = retired ? newest.generation + 1 : newest.generation
            }
        }
        let lateKey = ArchiveLayout.lateKey(objectKey: key, stem: plan.stem, generation: generation)
        if let newest, newest.generation == generation, newest.key != lateKey {
            fail(plan.stem, key: nil, stage: "retired", message: "\(arrived); its late object \(newest.key) is not retired and has another "
                 + "format or codec than this run's \(lateKey): archive with that object's format and codec, or retire it first")
            return nil
        }
        display.log(.warn, "late rows in a retired window: archived as a late object", [("slice", plan.stem), ("rows", "\(rows)"),
                                                                                       ("retired", when), ("key", lateKey)])
        return SliceWork(plan: plan, key: lateKey, ifDifferent: listing[lateKey] != nil, expectedRows: rows, lateAfter: when)
    }

    /// The late objects of the window whose object is `key`, among `keys`, oldest first.
    func lateObjects(of key: String, stem: String, among keys: [String]) -> [(generation: Int, key: String)] {
        let directory = key.lastIndex(of: "/").map { String(key[...$0]) } ?? ""
        return keys.compactMap { candidate -> (Int, String)? in
            guard candidate.hasPrefix(directory), !candidate.dropFirst(directory.count).contains("/"),
                  let parsed = ArchivedFileName(String(candidate.dropFirst(directory.count)), table: config.table!),
                  parsed.stem == stem, parsed.generation > 0 else { return nil }
            return (parsed.generation, candidate)
        }.sorted { $0.0 < $1.0 }
    }

    /// Whether the object at `key` is retired: the cache's record first, else its manifest's.
    func retirement(of key: String, entries: KnownSlices, listing: SliceListing) -> Result<Bool, OrchestratorError> {
        if let entry = entries[key], !entry.retiredTime.isZero { return .success(true) }
        guard listing.hasManifest(ofObject: key) else { return .success(false) }
        do {
            return .success(try invocation.fetchManifest(key: manifestKey(key))?.retired != nil)
        } catch {
            return .failure(OrchestratorError("\(error)"))
        }
    }

    /// Adds a late object's line to the summary (`late rows: …`) once its slice has finished.
    func reportLate(_ work: SliceWork, rows: Int64, outcome: SliceOutcome) {
        guard let after = work.lateAfter else { return }
        let verb = switch outcome {
        case .dryRun: "would be archived as"
        case .skipped: "already archived, unchanged, as"
        default: "archived as"
        }
        lock.lock()
        summary.late.append("\(work.plan.stem): \(rows) rows arrived after the window was retired \(after): \(verb) \(work.key)")
        summary.lateRows += rows
        lock.unlock()
    }
}
