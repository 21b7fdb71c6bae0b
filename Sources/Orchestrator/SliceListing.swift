import ArchiveLayout
import FoundationEssentials

/// The one LIST of an archive run, as the run uses it: each planned slice's object (size,
/// ETag), whether its manifest is listed, and the other keys under the table's `_schema/`.
/// Objects no slice plans are dropped as they stream past, and no listed key is kept: the plan's
/// own keys index everything, so 100,000 slices cost a few tens of bytes each here instead of
/// two dictionary entries with their keys and ETags (about 120 MB at 100,000 slices).
struct SliceListing {
    /// By slice (the index in `keys`): its object when listed.
    private var objects: SparseSlots<ListedObject>
    /// By slice: whether its manifest is listed.
    private var manifests: [Bool]
    private let index: [String: Int]
    /// The keys under `_schema/` (sidecars: one per schema the table had).
    private var sidecars: Set<String> = []
    /// Late objects (`<stem>.late-<n>…`, docs/retire.md "Late rows"): no plan names them, and
    /// they are few (only retired windows that gained rows have them), so they are kept by key.
    private var late: [String: ListedObject] = [:]
    /// The file names of the late objects whose manifests are listed.
    private var lateManifests: Set<Substring> = []

    /// Lists `prefix` through s3get for the slices whose object keys are `keys` (`spool`: see
    /// `ChildInvocation.captureLines`).
    /// `index`: each key's position in `keys`.
    init(invocation: ChildInvocation, prefix: String, template: String, table: String, keys: [String], index: [String: Int],
         spool: String?) throws {
        // A manifest is named after its object's file name (docs/manifest.md).
        var byFileName: [Substring: Int] = [:]
        byFileName.reserveCapacity(keys.count)
        for (i, key) in keys.enumerated() {
            byFileName[key.lastIndex(of: "/").map { key[key.index(after: $0)...] } ?? key[...]] = i
        }
        var objects = SparseSlots<ListedObject>(count: keys.count)
        var manifests = [Bool](repeating: false, count: keys.count)
        var sidecars: Set<String> = []
        var late: [String: ListedObject] = [:]
        var lateManifests: Set<Substring> = []
        let manifestPrefix = ArchiveLayout.manifestPrefix(template: template, table: table)
        let schemaPrefix = ArchiveLayout.fixedPrefix(template: template, table: table) + "_schema/"
        try invocation.listObjects(prefix: prefix, spool: spool) { object in
            if let i = index[object.key] {
                // The plan's key string, not the listing's copy.
                objects[i] = ListedObject(key: keys[i], size: object.size, etag: object.etag)
            } else if object.key.hasPrefix(manifestPrefix), object.key.hasSuffix(".json") {
                let name = object.key.utf8.dropFirst(manifestPrefix.utf8.count).dropLast(5)
                if let i = byFileName[Substring(name)] {
                    manifests[i] = true
                } else if object.key.contains(ArchiveLayout.lateMarker) {
                    lateManifests.insert(Substring(name))
                }
            } else if object.key.hasPrefix(schemaPrefix) {
                sidecars.insert(object.key)
            } else if object.key.contains(ArchiveLayout.lateMarker) {
                late[object.key] = ListedObject(key: object.key, size: object.size, etag: object.etag)
            }
        }
        self.index = index
        self.objects = objects
        self.manifests = manifests
        self.sidecars = sidecars
        self.late = late
        self.lateManifests = lateManifests
    }

    /// The listed object of a planned key or of a late object, or nil.
    subscript(key: String) -> ListedObject? {
        if let i = index[key] { return objects[i] }
        return late[key]
    }

    /// Whether the manifest of the planned (or late) object `key` is listed.
    func hasManifest(ofObject key: String) -> Bool {
        if let i = index[key] { return manifests[i] }
        return lateManifests.contains(key.lastIndex(of: "/").map { key[key.index(after: $0)...] } ?? key[...])
    }

    /// The listed keys that may name a late object (docs/retire.md, "Late rows").
    var lateKeys: [String] { Array(late.keys) }

    /// Whether a schema sidecar key is listed.
    func hasSidecar(_ key: String) -> Bool { sidecars.contains(key) }
}
