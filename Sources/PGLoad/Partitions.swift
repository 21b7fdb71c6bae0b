/// Calendar ranges of the partitions pg-load creates.
public enum PartitionRange: String, CaseIterable, Sendable {
    case hourly, daily, monthly, quarterly, yearly

    /// The `date_trunc` field and the interval of one partition.
    var truncation: (field: String, interval: String) {
        switch self {
        case .hourly: ("hour", "1 hour")
        case .daily: ("day", "1 day")
        case .monthly: ("month", "1 month")
        case .quarterly: ("quarter", "3 months")
        case .yearly: ("year", "1 year")
        }
    }

    /// The partition names the seed gives (`t_2024010115`, `t_20240101`, `t_202401`, `t_2024Q1`, `t_2024`).
    public var defaultTemplate: String {
        switch self {
        case .hourly: "{table}_{YYYY}{MM}{DD}{HH}"
        case .daily: "{table}_{YYYY}{MM}{DD}"
        case .monthly: "{table}_{YYYY}{MM}"
        case .quarterly: "{table}_{YYYY}Q{Q}"
        case .yearly: "{table}_{YYYY}"
        }
    }
}

/// One partition to have: its name and its bounds `[from, to)` as `YYYY-MM-DD HH:00:00` (UTC).
public struct PartitionWindow: Equatable, Sendable {
    /// The partition's table name.
    public var name: String
    /// Inclusive lower bound.
    public var from: String
    /// Exclusive upper bound.
    public var to: String

    /// Names a window starting at `from` (`YYYY-MM-DD HH:MM:SS`) with `template`
    /// (`{table}`, `{YYYY}`, `{MM}`, `{DD}`, `{HH}`, `{Q}`).
    public init(template: String, table: String, from: String, to: String) {
        let digits = Array(from)
        func part(_ range: Range<Int>) -> String { String(digits[range]) }
        let month = Int(part(5..<7)) ?? 1
        var name = template.replacing("{table}", with: table)
        for (placeholder, value) in [("{YYYY}", part(0..<4)), ("{MM}", part(5..<7)), ("{DD}", part(8..<10)),
                                     ("{HH}", part(11..<13)), ("{Q}", String((month - 1) / 3 + 1))] {
            name = name.replacing(placeholder, with: value)
        }
        self.name = name
        self.from = from
        self.to = to
    }

    /// Checks a partition name template: it needs `{table}`-free text that varies with the range.
    public static func validate(template: String, range: PartitionRange) -> String? {
        let needed: [String] = switch range {
        case .hourly: ["{YYYY}", "{MM}", "{DD}", "{HH}"]
        case .daily: ["{YYYY}", "{MM}", "{DD}"]
        case .monthly: ["{YYYY}", "{MM}"]
        case .quarterly: ["{YYYY}", "{Q}"]
        case .yearly: ["{YYYY}"]
        }
        let missing = needed.filter { !template.contains($0) }
        return missing.isEmpty ? nil : "a \(range.rawValue) partition template needs \(missing.joined(separator: ", "))"
    }
}
