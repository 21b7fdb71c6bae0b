import ArchiveCache

/// `/metrics` in the Prometheus text format: gauges from the cache, counters since start.
public enum ViewerMetrics {
    /// Counters the server keeps while it runs.
    public struct Counters: Sendable, Equatable {
        /// Uploads seen (an entry's upload time moved).
        public var uploads: Int64 = 0
        /// Skips seen (an entry's skip time moved).
        public var skips: Int64 = 0
        /// Connected WebSocket clients.
        public var clients: Int = 0
        /// A fresh set.
        public init() {}
    }

    /// The exposition text.
    public static func render(files: [(name: CacheFileName, cache: CacheFile?, error: String?)], running: Bool,
                              counters: Counters) -> String {
        struct Totals { var entries = 0, uploaded = 0, failed = 0, retired = 0, retiredRows: Int64 = 0, compressed: Int64 = 0, uncompressed: Int64 = 0, rows: Int64 = 0, lastSuccess: Timestamp = .zero }
        var byTable: [String: Totals] = [:]
        var labelsOf: [String: String] = [:]
        for file in files {
            let labels = "command=\"\(escape(file.name.command))\",table=\"\(escape(file.name.table))\""
            var t = byTable[labels] ?? Totals()
            labelsOf[labels] = labels
            for e in (file.cache?.entries ?? [:]).values {
                t.entries += 1
                if e.s3Uploaded { t.uploaded += 1 }
                if !e.lastError.isEmpty { t.failed += 1 }
                if !e.retiredTime.isZero {
                    t.retired += 1
                    t.retiredRows += e.retiredRows
                }
                t.compressed += e.fileSize
                t.uncompressed += e.uncompressedSize
                t.rows += e.rowCount
                if e.s3Uploaded, e.s3UploadTime > t.lastSuccess { t.lastSuccess = e.s3UploadTime }
            }
            byTable[labels] = t
        }
        let keys = byTable.keys.sorted()
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(String, String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples { out += labels.isEmpty ? "\(name) \(value)\n" : "\(name){\(labels)} \(value)\n" }
        }
        func perTable(_ value: (Totals) -> String) -> [(String, String)] { keys.map { ($0, value(byTable[$0]!)) } }
        family("pgarchive_cache_entries", "gauge", "Slices in the cache.", perTable { String($0.entries) })
        family("pgarchive_slices_uploaded", "gauge", "Slices recorded as uploaded.", perTable { String($0.uploaded) })
        family("pgarchive_slices_failed", "gauge", "Slices whose last attempt failed.", perTable { String($0.failed) })
        family("pgarchive_slices_retired", "gauge", "Slices whose rows retire removed from PostgreSQL.", perTable { String($0.retired) })
        family("pgarchive_rows_retired", "gauge", "Rows retire removed from PostgreSQL.", perTable { String($0.retiredRows) })
        family("pgarchive_bytes", "gauge", "Bytes of the slices, compressed and uncompressed.",
               keys.flatMap { k in [(k + ",kind=\"compressed\"", String(byTable[k]!.compressed)),
                                    (k + ",kind=\"uncompressed\"", String(byTable[k]!.uncompressed))] })
        family("pgarchive_rows", "gauge", "Rows counted in the slices.", perTable { String($0.rows) })
        family("pgarchive_last_success_timestamp_seconds", "gauge", "Unix time of the latest upload.",
               perTable { $0.lastSuccess.isZero ? "0" : String($0.lastSuccess.seconds) })
        family("pgarchive_archiver_running", "gauge", "1 while archiver.pid names a live process.", [("", running ? "1" : "0")])
        family("pgarchive_viewer_websocket_clients", "gauge", "Connected WebSocket clients.", [("", String(counters.clients))])
        family("pgarchive_viewer_uploads_seen_total", "counter", "Uploads seen since the viewer started.", [("", String(counters.uploads))])
        family("pgarchive_viewer_skips_seen_total", "counter", "Skips seen since the viewer started.", [("", String(counters.skips))])
        return out
    }

    /// Escapes a label value (backslash, double quote, newline).
    static func escape(_ value: String) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
