/// The fixed bytes of the rowstream format (docs/rowstream.md): PostgreSQL's COPY BINARY
/// signature, flags, the header extension carrying our schema, and the trailer.
public enum RowStreamFormat {
    /// PostgreSQL's 11-byte COPY BINARY signature: `PGCOPY\n\xff\r\n\0`.
    public static let signature: [UInt8] = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00]
    /// The 4-byte magic that opens our header extension: `PGRS`.
    public static let extensionMagic: [UInt8] = [0x50, 0x47, 0x52, 0x53]
    /// The rowstream version written and the only one read.
    public static let version: UInt16 = 1
    /// The 2-byte trailer: a tuple field count of -1.
    public static let trailer: [UInt8] = [0xFF, 0xFF]
    /// Bytes before the header extension: signature, flags, extension length.
    public static let fixedHeaderSize = 19
    /// The most fields a tuple may have (PostgreSQL's MaxTupleAttributeNumber).
    public static let maximumFields = 1664
    /// The largest schema document accepted (a sanity bound against garbage lengths).
    public static let maximumExtensionSize = 64 << 20

    /// The complete header for `schema`: signature, flags 0, extension length, `PGRS`, version, JSON.
    public static func header(for schema: RowStreamSchema) throws -> [UInt8] {
        let json = try schema.encodedJSON()
        var out = signature
        out.reserveCapacity(fixedHeaderSize + 6 + json.count)
        appendBigEndian(UInt32(0), to: &out)
        appendBigEndian(UInt32(extensionMagic.count + 2 + json.count), to: &out)
        out += extensionMagic
        appendBigEndian(version, to: &out)
        out += json
        return out
    }

    /// Parses a header extension: the schema, or nil when the extension is not ours (or empty).
    public static func schema(fromExtension bytes: UnsafeRawBufferPointer) throws -> RowStreamSchema? {
        guard bytes.count >= 6, Array(bytes[0..<4]) == extensionMagic else { return nil }
        let version = UInt16(bytes[4]) << 8 | UInt16(bytes[5])
        guard version == Self.version else {
            throw RowStreamError("unsupported rowstream version \(version) (this reader knows version \(Self.version))", offset: 19 + 4)
        }
        return try RowStreamSchema.decode(json: UnsafeRawBufferPointer(rebasing: bytes[6...]))
    }

    /// Appends the big-endian bytes of an integer.
    @inline(__always)
    public static func appendBigEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        var v = value.bigEndian
        withUnsafeBytes(of: &v) { out.append(contentsOf: $0) }
    }
}

/// A malformed, truncated or unsupported rowstream, with the byte offset where it was found.
public struct RowStreamError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, lower-case.
    public var message: String
    /// Byte offset in the stream, when known.
    public var offset: UInt64?
    /// The input ended before the stream did (empty, or cut inside the header or a tuple, or no
    /// trailer): in a pipeline, usually because the stage writing it failed.
    public var inputEnded: Bool

    /// An error with a message and an optional stream offset.
    public init(_ message: String, offset: UInt64? = nil, inputEnded: Bool = false) {
        self.message = message
        self.offset = offset
        self.inputEnded = inputEnded
    }

    public var description: String {
        offset.map { "\(message) (at byte \($0))" } ?? message
    }
}

@inline(__always)
func loadBigEndianUInt32(_ p: UnsafeRawPointer) -> UInt32 {
    UInt32(bigEndian: p.loadUnaligned(as: UInt32.self))
}

@inline(__always)
func loadBigEndianInt16(_ p: UnsafeRawPointer) -> Int16 {
    Int16(bigEndian: p.loadUnaligned(as: Int16.self))
}
