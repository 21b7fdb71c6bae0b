import ArchiveCache
import ArchiveLayout
import ArchiverConfig
import PGAccess
import PGPlanning
import RunDisplay
import SlicePlan
import ToolSupport

/// What the store's manifests said of the slices the cache did not know (docs/cache.md,
/// "Level 1 from the store").
struct StoreFindings {
    /// The retirements the manifests read record, by data object key.
    var retired: [String: SliceManifest.Retirement] = [:]
    /// Data object keys skipped: the manifest describes the object and PostgreSQL holds as many
    /// rows for the window as the manifest says (recorded in the cache already).
    var skips: [String: Int64] = [:]
    /// Data object keys whose manifest describes the object but PostgreSQL now holds another
    /// number of rows: the object is certainly not the window's rows, so it is replaced without
    /// comparing it first.
    var stale: Set<String> = []
    /// Manifests read.
    var read = 0
}

extension ArchiveRun {
    /// Slices whose manifests one s3get reads, which are then counted and recorded before the
    /// next: memory stays bounded whatever the number of slices.
    static let storeChunk = 1_000

    /// Level 1 from the store alone, for slices whose object and manifest are in the listing
    /// but the cache does not describe the object (a fresh ARCHIVE_HOME, another machine's run):
    /// their manifests are read by s3get (`--keys-from`, one process per 1,000), the windows
    /// whose manifest describes the listed object are counted exactly (a few statements), and a
    /// slice whose count equals the manifest's rows is skipped and recorded in the cache as if
    /// this run had uploaded it. Anything else is left to the run (compared, or archived).
    /// `pending`: positions in `plans` and `keys`.
    func levelOneFromStore(_ pending: [Int], plans: [Slice], keys: [String], listing: SliceListing, schemaHash: String) -> StoreFindings {
        var findings = StoreFindings()
        var counted = 0
        for start in stride(from: 0, to: pending.count, by: Self.storeChunk) {
            let chunk = pending[start..<min(start + Self.storeChunk, pending.count)].map { (plan: plans[$0], key: keys[$0]) }
            let read: [String: Result<SliceManifest, OrchestratorError>]
            do {
                read = try invocation.fetchManifests(keys: chunk.map { manifestKey($0.key) })
            } catch {
                display.log(.warn, "could not read the manifests; their slices are compared instead: \(error)", [("manifests", "\(chunk.count)")])
                continue
            }
            findings.read += read.count
            var candidates: [(plan: Slice, key: String, manifest: SliceManifest)] = []
            for (plan, key) in chunk {
                switch read[manifestKey(key)] {
                case .success(let manifest)?:
                    if let retired = manifest.retired { findings.retired[key] = retired }
                    if let object = listing[key], storeDescribes(plan, key: key, object: object, manifest: manifest, schemaHash: schemaHash) {
                        candidates.append((plan, key, manifest))
                    }
                case .failure(let error)?:
                    display.log(.warn, "unusable manifest; the slice is compared instead: \(error)", [("slice", plan.stem), ("key", manifestKey(key))])
                case nil:
                    break  // removed since the listing
                }
            }
            let counts = exactCounts(candidates.map(\.plan))
            counted += counts.count
            var matched: [String: SliceManifest] = [:]
            for (plan, key, manifest) in candidates {
                guard let rows = counts[plan.stem] else { continue }
                if rows == manifest.rows {
                    matched[key] = manifest
                    findings.skips[key] = rows
                } else {
                    findings.stale.insert(key)
                    display.log(.info, "PostgreSQL's row count differs from the manifest's: archiving the window again",
                                [("slice", plan.stem), ("rows", "\(rows)"), ("manifest_rows", "\(manifest.rows)")])
                }
            }
            record(fromStore: matched)
        }
        if !pending.isEmpty {
            display.log(.info, "level 1 from the store", [("manifests_read", "\(findings.read)"), ("counted", "\(counted)"),
                                                         ("skipped", "\(findings.skips.count)")])
        }
        return findings
    }

    /// Whether `manifest` describes the listed `object` as this run would write it: same key,
    /// size and ETag, the very window (a cut window's object holds fewer rows), a closed window,
    /// the run's format and codec, the table's current schema, and not retired.
    func storeDescribes(_ plan: Slice, key: String, object: ListedObject, manifest: SliceManifest, schemaHash: String) -> Bool {
        !plan.open && !manifest.open && manifest.retired == nil && manifest.key == key && manifest.describes(object)
            && manifest.window == plan.windowText && manifest.format == config.outputFormat.rawValue
            && manifest.codec == config.compression && manifest.schemaHash == schemaHash
    }

    /// Exact row counts of `plans` by stem, on one connection, 200 slices per round; a slice
    /// whose count failed is left out (and compared by the run).
    private func exactCounts(_ plans: [Slice]) -> [String: Int64] {
        guard !plans.isEmpty else { return [:] }
        let connection: PGConnection
        do {
            connection = try connect(config)
        } catch {
            display.log(.warn, "could not count rows to check the store's manifests; the slices are compared instead: \(error)")
            return [:]
        }
        var counts: [String: Int64] = [:]
        for start in stride(from: 0, to: plans.count, by: 200) {
            let chunk = Array(plans[start..<min(start + 200, plans.count)])
            for (plan, result) in zip(chunk, PartitionPlanner.exactRows(connection, slices: chunk.map(\.sources))) {
                switch result {
                case .success(let rows): counts[plan.stem] = rows
                case .failure(let error):
                    display.log(.warn, "counting rows failed; the slice is compared instead: \(error)", [("slice", plan.stem)])
                }
            }
        }
        return counts
    }

    /// Records the slices the store's manifests vouched for, in one transaction: the entry a
    /// run that uploaded the object would have left, from the manifest, and the skip.
    private func record(fromStore matched: [String: SliceManifest]) {
        guard !matched.isEmpty else { return }
        let now = Timestamp.now()
        do {
            let keys = matched.keys.sorted()
            try cache.updateEntries(scope, keys: keys, { key, entry in
                let m = matched[key]!
                entry.s3Key = key
                entry.fileSize = m.size
                let etag = m.etag.trimmingQuotes
                entry.multipartETag = m.partSize > 0 || etag.contains("-") ? etag : ""
                // A single PUT's ETag is its MD5, unless the object is encrypted with KMS or a
                // customer key: then only the size and the digest are known.
                entry.fileMD5 = entry.multipartETag.isEmpty && !config.s3OpaqueETags ? etag : ""
                entry.s3Uploaded = true
                if entry.s3UploadTime.isZero { entry.s3UploadTime = m.created }
                entry.rowCount = m.rows
                entry.countTime = now
                entry.lastSkipTime = now
                entry.lastError = ""
                entry.errorTime = .zero
                entry.describe(by: m)
            }, each: { _ in })
        } catch {
            display.log(.warn, "could not record \(matched.count) skips from the store in the cache: \(error)")
        }
    }
}
