import Digest
import ToolSupport

/// The user-metadata names pgarchive writes on its objects, in one place.
public enum ObjectMetadata {
    /// The part size of a multipart upload, in bytes (s3put writes it when it starts one): what
    /// recomputing the multipart ETag from the content needs.
    public static let partSize = "pgarchive-part-size"
    /// The hash naming the table's schema sidecar (`_schema/<table>-<hash>.json`).
    public static let schema = "pgarchive-schema"
}

/// Checks an object's content against its ETag while the content streams past: a single-part
/// ETag is the content's MD5; a multipart ETag is recomputed from the part size the object's
/// metadata records (`pgarchive-part-size`).
public final class ContentCheck {
    /// How the content can be checked.
    public enum Plan: Equatable, Sendable {
        /// MD5 of the whole content against the ETag.
        case md5
        /// Per-part MD5s in parts of this size, combined as S3 does.
        case multipart(partSize: UInt64, parts: Int)
        /// Not against the ETag; the reason says why (the caller warns).
        case unchecked(String)

        /// `md5`, `multipart` or `none`, as `s3get --verify` reports it.
        public var name: String {
            switch self {
            case .md5: "md5"
            case .multipart: "multipart"
            case .unchecked: "none"
            }
        }
    }

    /// The plan for an object.
    public let plan: Plan
    private let whole: Digest?
    private var part: Digest?
    private var inPart: UInt64 = 0
    private var partDigests: [[UInt8]] = []

    /// A check for an object whose metadata is `info`.
    public init(info: ObjectInfo) {
        plan = Self.plan(for: info)
        switch plan {
        case .md5: whole = Digest(.md5)
        case .multipart: whole = nil; part = Digest(.md5)
        case .unchecked: whole = nil
        }
    }

    /// How an object with metadata `info` can be checked.
    public static func plan(for info: ObjectInfo) -> Plan {
        guard info.etagIsContentDigest else {
            return .unchecked("its ETag is not a digest of its content (server-side encryption with KMS or a customer key)")
        }
        guard let parts = info.multipartCount else {
            return info.etag.utf8.count == 32 ? .md5 : .unchecked("its ETag \(info.etag) is not an MD5")
        }
        guard let text = info.metadata[ObjectMetadata.partSize], let partSize = UInt64(text), partSize > 0 else {
            return .unchecked("it is a multipart object without \(ObjectMetadata.partSize) metadata (written before pgarchive recorded it, or by another tool)")
        }
        return .multipart(partSize: partSize, parts: parts)
    }

    /// Feeds the next bytes of the content.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        if let whole { whole.update(bytes); return }
        guard case .multipart(let partSize, _) = plan, var current = part else { return }
        var rest = bytes
        while !rest.isEmpty {
            let take = Int(min(UInt64(rest.count), partSize - inPart))
            current.update(UnsafeRawBufferPointer(rebasing: rest[0..<take]))
            inPart += UInt64(take)
            rest = UnsafeRawBufferPointer(rebasing: rest[take...])
            if inPart == partSize {
                partDigests.append(current.finalize())
                current = Digest(.md5)
                inPart = 0
            }
        }
        part = current
    }

    /// The mismatch after the last byte, as one line naming the object (`name`), or nil when the content matches (or is unchecked).
    public func mismatch(name: String, etag: String) -> String? {
        switch plan {
        case .md5:
            let actual = hex(whole!.finalize())
            return actual == etag ? nil : "\(name): the content's MD5 \(actual) does not match the ETag \(etag)"
        case .multipart(let partSize, _):
            var digests = partDigests
            if inPart > 0, let part { digests.append(part.finalize()) }
            let actual = ETag.multipart(partDigests: digests)
            return actual == etag ? nil
                : "\(name): the content does not match the ETag \(etag): recomputed in \(partSize)-byte parts it is \(actual)"
        case .unchecked:
            return nil
        }
    }
}

/// The content that arrived is not the object's: wrong length, ETag mismatch, or replaced while
/// being read. One line naming the object.
public struct ContentMismatch: Error, CustomStringConvertible, Sendable {
    /// What did not match.
    public var message: String
    /// A mismatch with its message.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
