import Foundation
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
        return "\(stamp) \(level.rawValue.uppercased().padding(toLength: 5, withPad: " ", startingAt: 0)) \(message)" + (tail.isEmpty ? "" : " " + tail)
    case .logfmt:
        return (["time=\(stamp)", "level=\(level.rawValue)", "msg=\(logfmtValue(message))"]
                + fields.map { "\($0.0)=\(logfmtValue($0.1))" }).joined(separator: " ")
    case .json:
        let parts = [("time", stamp), ("level", level.rawValue), ("msg", message)] + fields
        return "{" + parts.map { "\(JSON.quote($0.0)):\(JSON.quote($0.1))" }.joined(separator: ",") + "}"
    }
}

/// A logfmt value: bare when safe, quoted otherwise.
func logfmtValue(_ value: String) -> String {
    let bare = !value.isEmpty && value.allSatisfy { $0.isASCII && !$0.isWhitespace && $0 != "\"" && $0 != "=" && !$0.isNewline }
    return bare ? value : JSON.quote(value)
}

/// RFC 3339 UTC with milliseconds.
public func rfc3339(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: date)
}

/// Human sizes: 1.5 MiB.
public func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

/// Human durations: 1h02m03s, 4m05s, 6.2s.
public func formatDuration(_ seconds: Double) -> String {
    if seconds < 60 { return String(format: "%.1fs", seconds) }
    let s = Int(seconds.rounded())
    if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return String(format: "%dh%02dm%02ds", s / 3600, (s % 3600) / 60, s % 60)
}
