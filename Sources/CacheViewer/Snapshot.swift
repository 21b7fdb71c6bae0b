import ArchiveCache
import ToolSupport

/// The viewer's JSON documents (`/api/cache`, `/api/status`), built from the files on disk.
public enum ViewerDocuments {
    /// `{"tables":[{"tableName","command","file","entries":[…]}],"timestamp"}`, one group per cache file.
    public static func cache(_ files: [(name: CacheFileName, cache: CacheFile?, error: String?)], now: Timestamp) -> JSONValue {
        let tables: [JSONValue] = files.map { file in
            var members: [(String, JSONValue)] = [
                ("tableName", .string(file.name.table)), ("command", .string(file.name.command)),
                ("file", .string(file.name.fileName)),
            ]
            let entries = (file.cache?.entries ?? [:]).sorted { $0.key < $1.key }
            members.append(("entries", .array(entries.map { entry(table: file.name.table, key: $0.key, $0.value) })))
            if let error = file.error { members.append(("error", .string(error))) }
            return .object(members)
        }
        return .object([("tables", .array(tables)), ("timestamp", .time(now))])
    }

    /// One entry in the API's camel-case shape.
    static func entry(table: String, key: String, _ e: CacheEntry) -> JSONValue {
        .object([
            ("table", .string(table)), ("partition", .string(key)), ("rowCount", .int(e.rowCount)),
            ("countTime", .time(e.countTime)), ("fileSize", .int(e.fileSize)),
            ("uncompressedSize", .int(e.uncompressedSize)), ("fileMD5", .string(e.fileMD5)),
            ("multipartETag", .string(e.multipartETag)), ("fileTime", .time(e.fileTime)),
            ("s3Key", .string(e.s3Key)), ("s3Uploaded", .bool(e.s3Uploaded)),
            ("s3UploadTime", .time(e.s3UploadTime)), ("lastError", .string(e.lastError)),
            ("errorTime", .time(e.errorTime)), ("processStartTime", .time(e.processStartTime)),
            ("lastSkipTime", .time(e.lastSkipTime)),
            // retire (docs/retire.md): when, how many rows, their digest, how.
            ("retiredTime", .time(e.retiredTime)), ("retiredRows", .int(e.retiredRows)), ("retiredDigest", .string(e.retiredDigest)),
            ("retireMode", .string(e.retireMode)),
        ])
    }

    /// `{"archiverRunning","pid","stalePidFile","currentTask","version","isSlicing","timestamp"}`.
    public static func status(_ s: ArchiverStatus, version: String, now: Timestamp) -> JSONValue {
        let task: JSONValue = s.running ? (s.task?.json ?? .null) : .null
        return .object([
            ("archiverRunning", .bool(s.running)), ("pid", s.pid.map { .int($0) } ?? .null),
            ("stalePidFile", .bool(s.stalePIDFile)), ("currentTask", task), ("version", .string(version)),
            ("isSlicing", .bool(s.running && (s.task?.totalSlices ?? 0) > 0)), ("timestamp", .time(now)),
        ])
    }

    /// A WebSocket message: `{"type":…,"data":…}`.
    public static func message(_ type: String, _ data: JSONValue) -> String {
        message(type, json: data.compact)
    }

    /// A WebSocket message around data that is already JSON text.
    public static func message(_ type: String, json: String) -> String {
        "{\"type\":" + JSON.quote(type) + ",\"data\":" + json + "}"
    }
}
