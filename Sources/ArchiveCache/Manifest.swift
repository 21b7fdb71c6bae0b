import ToolSupport

/// The manifest object written beside each data object (docs/manifest.md): what the object
/// holds (rows, row digest) and what it is (ETag, size, part size, schema hash, window, format,
/// codec), known only once the stream has ended, so it cannot be the object's own metadata.
public struct SliceManifest: Sendable, Equatable {
    /// The manifest format's version (docs/manifest.md); readers refuse a higher one.
    public static let currentVersion: Int64 = 1

    /// The manifest format's version.
    public var version: Int64 = SliceManifest.currentVersion
    /// The data object's key.
    public var key: String = ""
    /// The source table, `schema.table`.
    public var table: String = ""
    /// The window the rows cover, `start/end` (RFC 3339 UTC, end exclusive).
    public var window: String = ""
    /// `jsonl`, `csv` or `parquet`.
    public var format: String = ""
    /// The outer codec: `zstd`, `lz4`, `gzip` or `none` (Parquet: its inner codec).
    public var codec: String = ""
    /// Rows in the object.
    public var rows: Int64 = 0
    /// The row digest (docs/rowstream.md, "Row digest"): 32 lower-case hex digits.
    public var digest: String = ""
    /// The data object's ETag, unquoted.
    public var etag: String = ""
    /// The data object's size in bytes.
    public var size: Int64 = 0
    /// The part size of a multipart upload (0: one PUT).
    public var partSize: Int64 = 0
    /// The schema sidecar's hash (`_schema/<table>-<hash>.json`).
    public var schemaHash: String = ""
    /// When the manifest was written.
    public var created: Timestamp = .zero
    /// Whether the window was still open (it gains rows: the digest is that of the rows then).
    public var open: Bool = false

    /// Set once `data-archiver retire` removed the window's rows from PostgreSQL (docs/manifest.md, "Retirement").
    public var retired: Retirement?

    /// What `retire` removed, and how: the rows and digest it recomputed under lock, equal to the manifest's.
    public struct Retirement: Sendable, Equatable {
        /// When the transaction that removed the rows committed.
        public var time: Timestamp = .zero
        public var rows: Int64 = 0
        public var digest: String = ""
        /// `drop`, `detach`, `move:SCHEMA` (whole partitions) or `delete` (rows cut from a relation).
        public var mode: String = ""
        /// What was done, one entry per relation (`drop public.flights_20240105 (150 rows)`).
        public var actions: [String] = []

        public init(time: Timestamp, rows: Int64, digest: String, mode: String, actions: [String]) {
            self.time = time
            self.rows = rows
            self.digest = digest
            self.mode = mode
            self.actions = actions
        }

        var json: JSONValue {
            .object([("time", .time(time)), ("rows", .int(rows)), ("digest", .string(digest)), ("mode", .string(mode)),
                     ("actions", .array(actions.map { .string($0) }))])
        }

        init(json: JSONValue) throws(JSONShapeError) {
            guard case .object = json else { throw JSONShapeError("retired: expected an object") }
            time = try json.member("time", "retired.").timestamp("retired.time")
            rows = try json.member("rows", "retired.").integer("retired.rows")
            digest = try json.member("digest", "retired.").text("retired.digest")
            mode = try json.member("mode", "retired.").text("retired.mode")
            if case .array(let items)? = json["actions"] {
                actions = try items.map { item throws(JSONShapeError) in try item.text("retired.actions") }
            }
        }
    }

    /// An empty manifest.
    public init() {}

    /// The manifest's JSON, compact, keys in a fixed order.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("version", .int(version)), ("key", .string(key)), ("table", .string(table)), ("window", .string(window)),
            ("format", .string(format)), ("codec", .string(codec)), ("rows", .int(rows)), ("digest", .string(digest)),
            ("etag", .string(etag)), ("size", .int(size)), ("part_size", .int(partSize)),
            ("schema_hash", .string(schemaHash)), ("created", .time(created)), ("open", .bool(open)),
        ]
        if let retired { members.append(("retired", retired.json)) }
        return .object(members)
    }

    /// Reads a manifest; `source` names it in errors. Every field is required but `open`.
    public init(bytes: [UInt8], source: String) throws {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw ToolError("manifest \(source): \(error)")
        }
        do throws(JSONShapeError) {
            guard case .object = value else { throw JSONShapeError("expected a JSON object") }
            version = try value.member("version", "").integer("version")
            guard version >= 1, version <= Self.currentVersion else {
                throw JSONShapeError("version \(version) is not one this data-archiver reads (up to \(Self.currentVersion))")
            }
            key = try value.member("key", "").text("key")
            table = try value.member("table", "").text("table")
            window = try value.member("window", "").text("window")
            format = try value.member("format", "").text("format")
            codec = try value.member("codec", "").text("codec")
            rows = try value.member("rows", "").integer("rows")
            digest = try value.member("digest", "").text("digest")
            etag = try value.member("etag", "").text("etag")
            size = try value.member("size", "").integer("size")
            partSize = try value.member("part_size", "").integer("part_size")
            schemaHash = try value.member("schema_hash", "").text("schema_hash")
            created = try value.member("created", "").timestamp("created")
            open = try value["open"]?.flag("open") ?? false
            if let r = value["retired"], r != .null { retired = try Retirement(json: r) }
            guard digest.utf8.count == 32, digest.allSatisfy(\.isHexDigit) else { throw JSONShapeError("digest: expected 32 hex digits") }
            guard rows >= 0, size >= 0 else { throw JSONShapeError("rows and size must not be negative") }
        } catch {
            throw ToolError("manifest \(source): \(error)")
        }
    }
}

extension CacheEntry {
    /// Takes what `manifest` says of the object's content (window, digest, schema, part size,
    /// format, codec): the one place that copies a manifest into the cache, for an upload and
    /// for level 1 from the store alike.
    public mutating func describe(by manifest: SliceManifest) {
        window = manifest.window
        digest = manifest.digest
        schemaHash = manifest.schemaHash
        partSize = manifest.partSize
        format = manifest.format
        codec = manifest.codec
    }
}
