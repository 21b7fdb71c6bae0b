/// The subcommands of data-archiver.
public enum ArchiverCommand: String, CaseIterable, Sendable {
    case archive, dump
    case dumpHybrid = "dump-hybrid"
    case restore, viewer
    case verify
    case retire
}

/// The type of a setting's value.
public enum SettingKind: Sendable {
    case string, integer, boolean, date
}

/// One setting: its flag, YAML key, environment variable, default and help — the one place
/// each of these facts lives. Help text, the man page table and the README table come from here.
public struct Setting: Sendable {
    /// Dotted YAML path (`db.host`); the variable is `ARCHIVE_` + the path upper-cased with `_`.
    public let key: String
    /// The long flag without dashes (`db-host`).
    public let flag: String
    /// A one-letter flag, if any (`d` for `--debug`).
    public let short: Character?
    /// The value's type.
    public let kind: SettingKind
    /// The default as text (`today` for dates means the current UTC date), or nil for none.
    public let defaultValue: String?
    /// One line of help.
    public let help: String
    /// Never printed or passed on argv.
    public let isSecret: Bool
    /// The commands that take it.
    public let commands: Set<ArchiverCommand>
    /// Other YAML keys accepted for it (the seed uses both `viewer` and `cache_viewer`).
    public let yamlAliases: [String]
    /// Other long flags accepted for it (`viewer --port`).
    public let flagAliases: [String]
    /// What the settings table says about the default, when the bare value would mislead.
    public let defaultNote: String?
    /// Defaults that differ for some commands, as help shows them (dumps: pg_dump -Z 9).
    public let commandDefaults: [ArchiverCommand: String]
    /// What some commands do without the setting, said instead of the default (restore: detected from the extension).
    public let commandNotes: [ArchiverCommand: String]
    /// Taken from the command line only, never from the YAML file or the environment (a
    /// decision that may duplicate or change data must be made each time, by hand).
    public let flagOnly: Bool

    /// The environment variable for this setting.
    public var environmentName: String {
        variableName(key)
    }

    /// Environment variables accepted for it, the canonical one first.
    public var environmentNames: [String] {
        [environmentName] + yamlAliases.map(variableName)
    }

    init(_ key: String, flag: String, short: Character? = nil, _ kind: SettingKind, default defaultValue: String? = nil,
         secret: Bool = false, aliases: [String] = [], flagAliases: [String] = [], note: String? = nil, commandDefaults: [ArchiverCommand: String] = [:],
         commandNotes: [ArchiverCommand: String] = [:], flagOnly: Bool = false, for commands: Set<ArchiverCommand>, _ help: String) {
        self.key = key
        self.flag = flag
        self.short = short
        self.kind = kind
        self.defaultValue = defaultValue
        self.help = help
        self.isSecret = secret
        self.commands = commands
        self.yamlAliases = aliases
        self.flagAliases = flagAliases
        self.defaultNote = note
        self.commandDefaults = commandDefaults
        self.commandNotes = commandNotes
        self.flagOnly = flagOnly
    }
}

/// `ARCHIVE_` + the dotted key upper-cased, dots as underscores (`s3.path_template` → `ARCHIVE_S3_PATH_TEMPLATE`).
func variableName(_ key: String) -> String {
    "ARCHIVE_" + String(key.uppercased().map { $0 == "." ? "_" : $0 })
}

private let all = Set(ArchiverCommand.allCases)
private let database: Set<ArchiverCommand> = [.archive, .dump, .dumpHybrid, .restore, .verify, .retire]
private let storage: Set<ArchiverCommand> = [.archive, .dump, .dumpHybrid, .restore, .verify, .retire]
private let windows: Set<ArchiverCommand> = [.archive, .dump, .dumpHybrid, .restore, .verify, .retire]
/// Commands that change something (verify only reads).
private let changing = database.subtracting([.verify])
/// Restore reads format and compression from each object's name; the flags only override.
private let detectedFromExtension = "detected from each object's extension unless given"

/// Every setting of data-archiver, in help order.
public let archiverSettings: [Setting] = [
    Setting("config", flag: "config", .string, for: all, "config file (default is $HOME/.data-archiver.yaml)"),
    Setting("db.host", flag: "db-host", .string, default: "localhost", for: database, "PostgreSQL host"),
    Setting("db.port", flag: "db-port", .integer, default: "5432", for: database, "PostgreSQL port"),
    Setting("db.user", flag: "db-user", .string, for: database, "PostgreSQL user"),
    Setting("db.password", flag: "db-password", .string, secret: true, for: database, "PostgreSQL password"),
    Setting("db.password_file", flag: "db-password-file", .string, for: database,
            "file holding the PostgreSQL password (used when no password is set; libpq's PGPASSFILE works too)"),
    Setting("db.name", flag: "db-name", .string, for: database, "PostgreSQL database name"),
    Setting("db.sslmode", flag: "db-sslmode", .string, default: "disable", for: database,
            "PostgreSQL SSL mode (disable, allow, prefer, require, verify-ca, verify-full)"),
    Setting("db.schema", flag: "db-schema", .string, default: "public", for: database, "schema of the table"),
    Setting("db.statement_timeout", flag: "db-statement-timeout", .integer, default: "300", for: database,
            "statement timeout in seconds for catalog and count queries (0 = none; never applies to data copies)"),
    Setting("db.max_retries", flag: "db-max-retries", .integer, default: "3", for: database, "connection attempts after the first"),
    Setting("db.retry_delay", flag: "db-retry-delay", .integer, default: "5", for: database, "seconds between connection attempts"),
    Setting("s3.endpoint", flag: "s3-endpoint", .string, for: storage,
            "S3-compatible endpoint URL (https://...), or file:///dir for a local directory"),
    Setting("s3.bucket", flag: "s3-bucket", .string, for: storage.union([.viewer]), "S3 bucket name"),
    Setting("s3.access_key", flag: "s3-access-key", .string, secret: true, for: storage, "S3 access key"),
    Setting("s3.secret_key", flag: "s3-secret-key", .string, secret: true, for: storage, "S3 secret key"),
    Setting("s3.secret_key_file", flag: "s3-secret-key-file", .string, for: storage,
            "file holding the S3 secret key (used when no secret key is set)"),
    Setting("s3.region", flag: "s3-region", .string, default: "auto", for: storage, "S3 region; auto: the bucket's own, asked once per run (HeadBucket), else us-east-1"),
    // deploy (issue 18): encryption, storage class and addressing, passed to s3put and s3get.
    Setting("s3.sse", flag: "s3-sse", .string, for: storage, "server-side encryption of uploads: AES256 or aws:kms"),
    Setting("s3.sse_kms_key_id", flag: "s3-sse-kms-key-id", .string, for: storage,
            "KMS key for --s3-sse aws:kms (default: the bucket's AWS managed key)"),
    Setting("s3.sse_customer_key_file", flag: "s3-sse-customer-key-file", .string, for: storage,
            "SSE-C: file holding the 256-bit key (32 bytes or their base64) that encrypts and reads every object"),
    Setting("s3.storage_class", flag: "s3-storage-class", .string, for: storage,
            "storage class of uploads (STANDARD, STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR, ...)"),
    Setting("s3.path_style", flag: "s3-path-style", .boolean, default: "false", for: storage,
            "address objects as ENDPOINT/BUCKET/KEY (the default for a custom endpoint)"),
    Setting("s3.virtual_host", flag: "s3-virtual-host", .boolean, default: "false", for: storage,
            "address objects as BUCKET.HOST/KEY (the default for AWS)"),
    Setting("s3.path_template", flag: "path-template", .string, for: storage,
            "S3 path template with placeholders: {table}, {YYYY}, {MM}, {DD}, {HH} (required)"),
    Setting("table", flag: "table", .string, for: windows, "base table name"),
    Setting("output_format", flag: "output-format", .string, default: "jsonl",
            commandNotes: [.restore: detectedFromExtension, .verify: detectedFromExtension, .retire: detectedFromExtension],
            for: [.archive, .restore, .verify, .retire], "output format: jsonl, csv, parquet"),
    Setting("compression", flag: "compression", .string, default: "zstd",
            commandNotes: [.restore: detectedFromExtension, .verify: detectedFromExtension, .retire: detectedFromExtension],
            for: [.archive, .restore, .verify, .retire], "compression type: zstd, lz4, gzip, none"),
    Setting("compression_level", flag: "compression-level", .integer, default: "3",
            note: "archive: `3`; dump, dump-hybrid: `9`, changed only by the flag", commandDefaults: [.dump: "9", .dumpHybrid: "9"],
            for: [.archive, .dump, .dumpHybrid],
            "compression level (zstd: 1-22, lz4/gzip: 1-9, none: 0); dump, dump-hybrid: pg_dump -Z 0-9, default 9, "
            + "set only by this flag (ARCHIVE_COMPRESSION_LEVEL and compression_level in the file do not apply to dumps)"),
    Setting("output_duration", flag: "output-duration", .string, default: "daily", for: [.archive, .dump, .dumpHybrid, .verify, .retire],
            "output file duration: hourly, daily, weekly, monthly, yearly"),
    Setting("date_column", flag: "date-column", .string, for: windows,
            "timestamp column name for duration-based splitting (optional)"),
    Setting("chunk_size", flag: "chunk-size", .integer, default: "10000", for: [.archive],
            "rows per rendering batch and cap on rows per Parquet row group (100-1000000)"),
    Setting("special_values_as_text", flag: "special-values-as-text", .boolean, default: "false", for: [.archive],
            "Parquet: write numeric(p,s), date, timestamp, timestamptz and array columns as text, so NaN, numeric "
            + "infinities and timestamps past 294247 survive (without it such values fail the slice)"),
    Setting("workers", flag: "workers", .integer, default: "4", for: windows, "number of parallel workers"),
    Setting("start_date", flag: "start-date", .date, for: windows, "start date (YYYY-MM-DD, or -Nd: N days before today, UTC)"),
    Setting("end_date", flag: "end-date", .date, default: "today", for: windows, "end date (YYYY-MM-DD, or -Nd: N days before today, UTC)"),
    Setting("skip_count", flag: "skip-count", .boolean, default: "false", for: [.archive],
            "skip counting rows (faster startup, no row progress bars)"),
    Setting("include_non_partition_tables", flag: "include-non-partition-tables", .boolean, default: "false",
            for: [.archive, .verify, .retire], "also archive standalone tables named TABLE_<date> that are not attached partitions"),
    Setting("allow_unwindowed", flag: "allow-unwindowed", .boolean, default: "false", for: [.archive, .dump, .dumpHybrid],
            "archive the windowed rows and exit 0 although some rows belong to no window (NULL or +/-infinity in the "
            + "date column, outside the window of their partition); they are reported either way"),
    Setting("force", flag: "force", .boolean, default: "false", for: [.archive],
            "overwrite objects even where a partial window would replace a wider one"),
    // Many slices (issue 16).
    Setting("abort_older_than", flag: "abort-older-than", .string, default: "24h", for: [.archive, .dump, .dumpHybrid],
            "at start, abort incomplete multipart uploads under the destination's prefix started this long ago "
            + "(seconds, or a number with s, m, h, d); uploads of this run's own keys are aborted whatever their age, "
            + "other runs' uploads in flight never"),
    Setting("shard", flag: "shard", .string, for: [.archive, .restore, .verify],
            "I/N: take only the slices whose stem hashes to I modulo N (FNV-1a, docs/shard.md), so N processes split "
            + "a table with no coordinator; each shard has its own run lock and task file"),
    Setting("dump_mode", flag: "dump-mode", .string, default: "schema-and-data", for: [.dump],
            "dump mode: schema-only, data-only, schema-and-data"),
    Setting("split_tables", flag: "split-tables", .boolean, default: "false", for: [.dump],
            "dump each table to its own object, all under one snapshot"),
    Setting("table_partition_range", flag: "table-partition-range", .string, for: [.restore],
            "partition range: hourly, daily, monthly, quarterly, yearly"),
    Setting("table_partition_template", flag: "table-partition-template", .string, for: [.restore],
            "partition name template, e.g. {table}_{YYYY}{MM}"),
    Setting("target_table", flag: "target-table", .string, for: [.restore], "restore into this table instead of --table"),
    // verify (docs/manifest.md): how deep to look.
    Setting("verify.deep", flag: "deep", .boolean, default: "false", for: [.verify],
            "verify: download, decompress and decode every object and recompute its rows and row digest (no database needed)"),
    Setting("verify.against_source", flag: "against-source", .boolean, default: "false", for: [.verify],
            "verify: recompute each slice's row digest in PostgreSQL and compare it with the archived one"),
    // retire (docs/retire.md): how rows proven archived leave PostgreSQL.
    Setting("retire.mode", flag: "retire-mode", .string, default: "drop", for: [.retire],
            "retire: what happens to a whole retired partition: drop (detach and drop), detach (keep it detached), move:SCHEMA (detach, move to SCHEMA)"),
    Setting("retire.lock_timeout", flag: "lock-timeout", .string, default: "2s", for: [.retire],
            "retire: longest wait for each lock (e.g. 2s, 500ms) before the window's transaction is rolled back and retried"),
    Setting("retire.lock_retries", flag: "lock-retries", .integer, default: "10", for: [.retire],
            "retire: attempts after the first when a lock is not granted, with a growing pause between them"),
    Setting("retire.older_than", flag: "older-than", .string, for: [.retire],
            "retire: only windows that ended at least this long ago (e.g. 90d, 12h; for cron)"),
    Setting("retire.force", flag: "force-retire", .boolean, default: "false", for: [.retire],
            "retire: remove rows although a foreign key (ON DELETE CASCADE/SET NULL/SET DEFAULT), DELETE trigger or publication would see them"),
    // Restore decisions that can duplicate or change data: flags only (docs/types.md, docs/restore-ledger.md).
    Setting("allow_lossy_cast", flag: "allow-lossy-cast", .boolean, default: "false", flagOnly: true, for: [.restore],
            "load into existing columns whose type could change archived values (rounding, padding, time zones); refused without it"),
    Setting("reload", flag: "reload", .boolean, default: "false", flagOnly: true, for: [.restore],
            "load objects the target's load ledger records as restored already (their rows may be duplicated)"),
    Setting("generated_as_data", flag: "generated-as-data", .boolean, default: "false", flagOnly: true, for: [.restore],
            "create archived generated columns as plain columns holding the archived values (for a changed expression or collation)"),
    Setting("dry_run", flag: "dry-run", .boolean, default: "false", for: changing, "perform a dry run without uploading or changing anything"),
    Setting("debug", flag: "debug", short: "d", .boolean, default: "false", for: all, "enable debug output"),
    Setting("log_format", flag: "log-format", .string, default: "text", for: all, "log format: text, logfmt, json"),
    Setting("cache_viewer", flag: "viewer", .boolean, default: "false", aliases: ["viewer"], for: changing,
            "start embedded cache viewer web server"),
    Setting("viewer_port", flag: "viewer-port", .integer, default: "8080", flagAliases: ["port"], for: all,
            "port for cache viewer web server (viewer: --port; 0 picks a free one)"),
    Setting("viewer_bind", flag: "viewer-bind", .string, default: "127.0.0.1", flagAliases: ["bind"], for: all,
            "address the cache viewer listens on (viewer: --bind)"),
]

/// Looks a setting up by its key.
public func archiverSetting(_ key: String) -> Setting? {
    archiverSettings.first { $0.key == key }
}
