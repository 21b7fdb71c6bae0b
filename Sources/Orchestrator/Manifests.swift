import ArchiveCache
import ArchiveLayout
import FoundationEssentials
import Pipelines
import ToolSupport

/// Manifest objects (docs/manifest.md): written by archive beside each data object, read by
/// restore (pg-load's gate) and verify.
extension ChildInvocation {
    /// Stores `manifest` at `key` (one small PUT through s3put); s3put's stderr lines (its
    /// retries among them) go to `onErrorLine`. A refusal of the credentials keeps its status.
    func storeManifest(_ manifest: SliceManifest, key: String, onErrorLine: (@Sendable (String) -> Void)? = nil) throws {
        let pipeline = Pipeline(stages: [
            Stage(name: "s3put", command: command("s3put", putArguments + ["--key", key, "--content-type", "application/json"]),
                  reportsProgress: false),
        ])
        if let onErrorLine { pipeline.onErrorLine = { _, line in onErrorLine(line) } }
        let result = try pipeline.run(input: manifest.json.bytes(pretty: false) + [10])
        guard result.succeeded else {
            throw OrchestratorError("could not store the manifest \(key): \(result.failure ?? "failed")",
                                    status: result.refusedCredentials ? .authentication : .failure)
        }
    }

    /// The manifest at `key`, or nil when there is none.
    func fetchManifest(key: String) throws -> SliceManifest? {
        let out = try capture("s3get", storeArguments + ["--key", key])
        if out.termination == .exited(3) { return nil }
        guard out.termination.succeeded else { throw OrchestratorError("could not fetch the manifest \(key): \(out.failure("s3get"))") }
        return try SliceManifest(bytes: Array(out.lines.joined(separator: "\n").utf8), source: key)
    }

    /// The manifests at `keys`, read by one s3get over one connection (`--keys-from`): key →
    /// manifest, or the reason it could not be used (a manifest that does not parse). Keys
    /// without an object are left out. Throws when s3get fails.
    func fetchManifests(keys: [String]) throws -> [String: Result<SliceManifest, OrchestratorError>] {
        guard !keys.isEmpty else { return [:] }
        let pipeline = Pipeline(stages: [
            Stage(name: "s3get", command: command("s3get", storeArguments + ["--keys-from", "-"]), reportsProgress: false),
        ])
        let result = try pipeline.run(input: Array(keys.map { $0 + "\n" }.joined().utf8))
        guard result.succeeded else { throw OrchestratorError("could not read \(keys.count) manifests: \(result.failure ?? "s3get failed")") }
        var found: [String: Result<SliceManifest, OrchestratorError>] = [:]
        for line in result.output.split(separator: 10) {
            guard let read = try? JSONDecoder().decode(SmallObjectLine.self, from: Data(line)) else {
                throw OrchestratorError("s3get --keys-from printed a line that does not parse: \(String(decoding: line.prefix(200), as: UTF8.self))")
            }
            guard let text = read.text else { continue }
            do {
                found[read.key] = .success(try SliceManifest(bytes: Array(text.utf8), source: read.key))
            } catch {
                found[read.key] = .failure(OrchestratorError("\(error)"))
            }
        }
        return found
    }
}

/// One line of `s3get --keys-from`.
private struct SmallObjectLine: Decodable {
    var key: String
    var missing: Bool?
    var text: String?
}

extension SliceManifest {
    /// Whether two manifests say the same of the same object (all but the time they were written).
    func sameContent(as other: SliceManifest) -> Bool {
        var a = self, b = other
        a.created = .zero
        b.created = .zero
        return a == b
    }

    /// Whether this manifest describes `object` as listed (same size and ETag): a data object
    /// replaced by another writer after its manifest was written is not described by it.
    func describes(_ object: ListedObject) -> Bool {
        size == object.size && etag.trimmingQuotes == object.etag.trimmingQuotes
    }
}

extension String {
    /// The text without surrounding double quotes (ETags come both ways).
    var trimmingQuotes: String {
        var s = Substring(self)
        if s.hasPrefix("\"") { s = s.dropFirst() }
        if s.hasSuffix("\"") { s = s.dropLast() }
        return String(s)
    }
}
