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
        return "{" + parts.map { "\(JSON.quote($0.0)):\(JSON.quote($0.1))" }.joined(separator: ",") + "}"
    }
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
