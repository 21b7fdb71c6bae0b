import ArchiveCache
import ArchiveLayout
import ArchiverConfig
import RunDisplay

extension RestoreRun {
    /// pg-load's gate for one file: `--expect-rows N --expect-digest HEX` from the object's
    /// manifest (docs/manifest.md), so that rows which are not exactly the archived ones are
    /// never committed. An object without a manifest (archived before digests existed, or by
    /// another tool), or whose manifest describes another object, is restored without the
    /// check, with a warning naming it.
    func expectations(for file: RestoreFile) throws -> [String] {
        let key = ArchiveLayout.manifestKey(template: config.pathTemplate!, table: config.table!, objectKey: file.key)
        guard let manifest = try invocation.fetchManifest(key: key) else {
            display.log(.warn, "no manifest: restoring without the row digest check (re-archive the window with --force to add one)",
                        [("file", file.key)])
            return []
        }
        // A manifest of another object (the data object was replaced since, by another writer)
        // says nothing about this one: restore it like an object without a manifest.
        guard manifest.key == file.key, manifest.describes(ListedObject(key: file.key, size: file.size, etag: file.etag)) else {
            display.log(.warn, "the manifest describes another object (size \(manifest.size), ETag \(manifest.etag); stored: size "
                        + "\(file.size), ETag \(file.etag.trimmingQuotes)): restoring without the row digest check (run data-archiver verify)",
                        [("file", file.key)])
            return []
        }
        return ["--expect-rows", String(manifest.rows), "--expect-digest", manifest.digest]
    }
}
