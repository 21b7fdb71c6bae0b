import FoundationEssentials
import SlicePlan
import ToolSupport

/// How a log line is written when stderr is not a terminal (`--log-format`).
public enum LogStyle: String, Sendable {
    case text, logfmt, json
}

/// Severity of a log line.
public enum LogLevel: String, Sendable {
    case debug, info, warn, error
}

/// Formats one log line: a timestamp, a level, a message and ordered fields.
public func formatLogLine(style: LogStyle, level: LogLevel, message: String, fields: [(String, String)], time: Date = Date()) -> String {
    let stamp = rfc3339(time)
    switch style {
    case .text:
        let tail = fields.map { "\($0.0)=\(logfmtValue($0.1))" }.joined(separator: " ")
        return "\(stamp) \(TextFormat.left(level.rawValue.uppercased(), 5)) \(message)" + (tail.isEmpty ? "" : " " + tail)
    case .logfmt:
        return (["time=\(stamp)", "level=\(level.rawValue)", "msg=\(logfmtValue(message))"]
                + fields.map { "\($0.0)=\(logfmtValue($0.1))" }).joined(separator: " ")
    case .json:
        let parts = [("time", stamp), ("level", level.rawValue), ("msg", message)] + fields
        return "{" + parts.map { "\(JSON.quote($0.0)):\(jsonValue(key: $0.0, $0.1))" }.joined(separator: ",") + "}"
    }
}

/// The fields that are numbers in every log line that has them (JSON writes them unquoted), so
/// a field has one type wherever it appears (docs/progress.md lists them).
public let numericLogFields: Set<String> = [
    "slices", "uploaded", "skipped", "empty", "failed", "dry_run", "rows", "bytes", "seconds", "files", "restored",
    "inserted", "conflicts", "partitions", "size", "workers", "to_process", "listed", "spare_connections", "slices_done",
    "rows_total", "elapsed_seconds", "eta_seconds", "attempt", "max_attempts", "delay_seconds", "exit_status", "signal",
    "cpu_seconds", "peak_bytes", "requested", "rows_per_second",
    // verify and retire summaries: a count per state.
    "ok", "missing", "corrupt", "differs", "source_changed", "unverifiable", "windows", "retired", "would_retire",
    "already_retired", "kept", "refused",
    // late rows, level 1 from the store, shards, dumps, schema versions, framed workers.
    "late_rows", "manifests_read", "counted", "manifest_rows", "manifests", "objects", "of", "sources", "versions", "worker",
    // a relation every slice scans whole (docs/plan.md, "Slices without an index").
    "estimated_rows",
    // the background count's rounds (Orchestrator/Counting.swift).
    "rounds",
]

/// A field's JSON value: a number for `numericLogFields` whose text is one, else a string.
func jsonValue(key: String, _ value: String) -> String {
    if numericLogFields.contains(key), isJSONNumber(value) { return value }
    return JSON.quote(value)
}

/// Whether `text` is a JSON number (`-12`, `3.5`, `1e3`).
func isJSONNumber(_ text: String) -> Bool {
    var bytes = Array(text.utf8)[...]
    if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
    guard let first = bytes.first, (48...57).contains(first) else { return false }
    if first == 48, bytes.count > 1, (48...57).contains(bytes[bytes.startIndex + 1]) { return false }
    var seenDot = false, seenExp = false, lastDigit = false
    for b in bytes {
        switch b {
        case 48...57: lastDigit = true
        case UInt8(ascii: "."): if seenDot || seenExp || !lastDigit { return false }; seenDot = true; lastDigit = false
        case UInt8(ascii: "e"), UInt8(ascii: "E"): if seenExp || !lastDigit { return false }; seenExp = true; lastDigit = false
        case UInt8(ascii: "+"), UInt8(ascii: "-"): if lastDigit { return false }
        default: return false
        }
    }
    return lastDigit
}

/// A logfmt value: bare when safe, quoted otherwise.
func logfmtValue(_ value: String) -> String {
    let bare = !value.isEmpty && value.allSatisfy { $0.isASCII && !$0.isWhitespace && $0 != "\"" && $0 != "=" && !$0.isNewline }
    return bare ? value : JSON.quote(value)
}

/// RFC 3339 UTC with milliseconds: `2024-01-05T10:11:12.345Z`.
public func rfc3339(_ date: Date) -> String {
    let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    let c = Instant(microseconds: millis * 1000).civil
    let pad: (Int, Int) -> String = { TextFormat.zeroPadded($0, width: $1) }
    return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))."
        + pad(c.micro / 1000, 3) + "Z"
}

/// Human sizes: 1.5 MiB.
public func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) B" : "\(TextFormat.fixed(value, 1)) \(units[unit])"
}

/// Human durations: 1h02m03s, 4m05s, 6.2s.
public func formatDuration(_ seconds: Double) -> String {
    if seconds < 60 { return TextFormat.fixed(seconds, 1) + "s" }
    let s = Int(seconds.rounded())
    let pad: (Int, Int) -> String = { TextFormat.zeroPadded($0, width: $1) }
    if s < 3600 { return "\(s / 60)m\(pad(s % 60, 2))s" }
    return "\(s / 3600)h\(pad((s % 3600) / 60, 2))m\(pad(s % 60, 2))s"
}
