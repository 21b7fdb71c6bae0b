import RowStream
import ToolSupport

/// A load failure: one line, and whether it means "not found" (exit 3) rather than a failure.
public struct LoadError: Error, CustomStringConvertible, Sendable {
    /// The message.
    public var message: String
    /// The target table (or a type it needs) does not exist and was not to be created.
    public var notFound: Bool
    /// Not a cause: an earlier stage failed (the commit gate closed without `commit`), so the
    /// orchestrator names that stage (exit status 4).
    public var consequence: Bool

    /// An error with a message.
    public init(_ message: String, notFound: Bool = false, consequence: Bool = false) {
        self.message = message
        self.notFound = notFound
        self.consequence = consequence
    }

    public var description: String { message }
}

/// What to do when a row conflicts with a unique constraint of the target.
public enum ConflictPolicy: String, CaseIterable, Sendable {
    /// Skip it (`ON CONFLICT DO NOTHING`) and count it.
    case nothing
    /// Fail the input (nothing of it is inserted).
    case error
}

/// What pg-load is asked to do with one input.
public struct LoadRequest: Sendable {
    /// Schema of the target table.
    public var schema = "public"
    /// The target table; nil means the stream's own table name.
    public var table: String?
    /// Create the table (and enum types it needs) when missing.
    public var create = false
    /// Create missing partitions of this range.
    public var partitionRange: PartitionRange?
    /// Partition name template (default: the range's).
    public var partitionTemplate: String?
    /// The partition column (default: the stream's partition key).
    public var dateColumn: String?
    /// Conflicts: skip or fail.
    public var onConflict: ConflictPolicy = .nothing
    /// Validate everything, change nothing.
    public var dryRun = false
    /// `--commit-fd`: after the input ended, the rows move into the target only once `commit`
    /// arrives here (every earlier stage of the pipeline exited 0).
    public var commitGate: CommitGate?
    /// Refuse the input unless it holds exactly this many rows (`--expect-rows`).
    public var expectRows: UInt64?
    /// Refuse the input unless its row digest is this one (`--expect-digest`, 32 hex digits).
    public var expectDigest: String?
    /// The definition to create the table from (the joined archived versions), instead of the
    /// stream's own schema.
    public var definition: RowStreamSchema?
    /// Convert into an existing column even when values could change (docs/types.md).
    public var allowLossyCast = false
    /// The archived object the input is, for the load ledger (docs/restore-ledger.md) and messages.
    public var objectKey: String?
    /// Its ETag (recorded; a changed ETag is skipped unless `reload`).
    public var objectETag: String?
    /// Its content digest, when known (recorded).
    public var objectDigest: String?
    /// Load an object the ledger records as loaded again.
    public var reload = false
    /// Create archived generated columns as plain columns holding the archived values.
    public var generatedAsData = false

    /// A request with the defaults.
    public init() {}
}

/// What one load did: the tool's JSON result line.
public struct LoadResult: Sendable {
    /// The target, schema-qualified.
    public var table: String
    /// Rows in the input.
    public var rowsRead: Int64 = 0
    /// Rows inserted.
    public var inserted: Int64 = 0
    /// Rows skipped because they conflicted with existing (or earlier) rows.
    public var conflicts: Int64 = 0
    /// Whether the table was created (or, in a dry run, would be).
    public var tableCreated = false
    /// Partitions created (or, in a dry run, that would be).
    public var partitionsCreated: [String] = []
    /// Whether this was a dry run.
    public var dryRun = false
    /// The row digest of the input (docs/rowstream.md, "Row digest"), 32 hex digits.
    public var digest = ""
    /// What the load ledger said (only with an object key).
    public var ledger: Ledger.Outcome?
    /// A dry run that would create the table: the statements it would run.
    public var ddl: [String] = []

    /// The result as one JSON line (no newline).
    public var json: String {
        "{\"table\":\(JSON.quote(table)),\"rows_read\":\(rowsRead),\"inserted\":\(inserted),\"conflicts\":\(conflicts),"
            + "\"table_created\":\(tableCreated),\"partitions_created\":[\(partitionsCreated.map(JSON.quote).joined(separator: ","))],"
            + "\"dry_run\":\(dryRun),\"digest\":\(JSON.quote(digest))"
            + (ledger.map { ",\"ledger\":\"\($0.rawValue)\"" } ?? "")
            + (ddl.isEmpty ? "" : ",\"ddl\":[\(ddl.map(JSON.quote).joined(separator: ","))]")
            + "}"
    }
}
