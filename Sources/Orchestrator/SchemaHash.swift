import Digest

/// The hash that names a schema sidecar (`_schema/<table>-<hash>.json`) and that each data
/// object's `pgarchive-schema` metadata carries: the first 16 hex digits of the SHA-256 of the
/// sidecar's bytes. Archive names the sidecar with it; restore refuses a sidecar whose bytes no
/// longer give it.
enum SchemaHash {
    /// The hash of a sidecar's content.
    static func of(_ bytes: [UInt8]) -> String {
        String(hex(Digest.hash(.sha256, bytes)).prefix(16))
    }
}
