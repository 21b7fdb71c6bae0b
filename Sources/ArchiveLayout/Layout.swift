/// Where archived objects live: the one place for path templates, file names and their parsing.
///
/// Object key = the path template rendered with the slice's window start (`{table}`, `{YYYY}`,
/// `{MM}`, `{DD}`, `{HH}`) + `/` + file name; file name = stem + format extension + codec
/// extension (`flights-2024-01-05.jsonl.zst`); Parquet carries its codec inside and has no outer
/// extension (`flights-2024-01-05.parquet`).
public enum ArchiveLayout {
    /// The date placeholders a template may hold.
    public static let datePlaceholders = ["{YYYY}", "{MM}", "{DD}", "{HH}"]

    /// Renders a path template: no leading or trailing slashes, no empty segments.
    public static func render(template: String, table: String, year: String, month: String, day: String, hour: String) -> String {
        var text = template.replacing("{table}", with: table)
        for (placeholder, value) in zip(datePlaceholders, [year, month, day, hour]) {
            text = text.replacing(placeholder, with: value)
        }
        return text.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }

    /// The file-name extension for a format and codec (`.jsonl.zst`, `.csv`, `.parquet`).
    public static func fileExtension(format: String, codecExtension: String) -> String {
        format == "parquet" ? ".parquet" : ".\(format)\(codecExtension)"
    }

    /// The object key of a file: rendered template + `/` + name (no leading slash).
    public static func key(prefix: String, fileName: String) -> String {
        prefix.isEmpty ? fileName : prefix + "/" + fileName
    }

    /// The part of the rendered template before its first date placeholder, cut back to a `/`
    /// and ending with one (`archives/flights/`), or "" — the prefix under which every object
    /// of the table lives, whatever its date.
    public static func fixedPrefix(template: String, table: String) -> String {
        var cut = template.replacing("{table}", with: table)
        if let first = datePlaceholders.compactMap({ cut.firstRange(of: $0)?.lowerBound }).min() {
            cut = String(cut[..<first])
            if let slash = cut.lastIndex(of: "/") { cut = String(cut[...slash]) } else { cut = "" }
        }
        let trimmed = cut.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
        return trimmed.isEmpty ? "" : trimmed + "/"
    }

    /// The key of a schema sidecar: `<fixed prefix>_schema/<table>-<hash>.json`.
    public static func schemaKey(template: String, table: String, hash: String) -> String {
        fixedPrefix(template: template, table: table) + "_schema/\(table)-\(hash).json"
    }
}

/// What an archived file's name says: its table, window label and encoding.
public struct ArchivedFileName: Equatable, Sendable {
    /// The table part of the stem.
    public var table: String
    /// The window label (`2024-01-05-13`, `2024-01-05`, `2024-W05`, `2024-01`, `2024`).
    public var label: String
    /// `jsonl`, `csv` or `parquet`.
    public var format: String
    /// The outer codec (`zstd`, `lz4`, `gzip`, `none`).
    public var codec: String

    static let formats = ["jsonl", "csv", "parquet"]
    static let codecs = [("zst", "zstd"), ("lz4", "lz4"), ("gz", "gzip")]

    /// Parses `<table>-<label>.<format>[.<codec>]`, for a known table; nil for other names.
    public init?(_ name: String, table: String) {
        guard name.hasPrefix(table + "-") else { return nil }
        var parts = name.dropFirst(table.count + 1).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else { return nil }
        var codec = "none"
        if let known = Self.codecs.first(where: { $0.0 == parts.last }) {
            codec = known.1
            parts.removeLast()
        }
        guard parts.count == 2, Self.formats.contains(parts[1]), WindowLabel(parts[0]) != nil else { return nil }
        self.table = table
        label = parts[0]
        format = parts[1]
        self.codec = codec
    }
}

/// A window label parsed back to its UTC window `[start, end)` as (year, month, day, hour) tuples.
public struct WindowLabel: Equatable, Sendable {
    /// The duration the label's form implies.
    public var duration: String
    /// Window start and exclusive end as `YYYY-MM-DDTHH:00:00Z`.
    public var start: String
    public var end: String

    /// Parses every label form the archive writes; nil for anything else.
    public init?(_ label: String) {
        let p = label.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        func num(_ s: String, _ digits: Int) -> Int? { s.count == digits && s.allSatisfy(\.isNumber) ? Int(s) : nil }
        guard let year = num(p[0], 4) else { return nil }
        switch p.count {
        case 1:
            duration = "yearly"
            start = Self.stamp(year, 1, 1, 0); end = Self.stamp(year + 1, 1, 1, 0)
        case 2 where p[1].hasPrefix("W"):
            guard let week = num(String(p[1].dropFirst()), 2), week >= 1, week <= Self.isoWeeks(year) else { return nil }
            let monday = Self.isoWeekMonday(year: year, week: week)
            duration = "weekly"
            start = Self.stamp(days: monday); end = Self.stamp(days: monday + 7)
        case 2:
            guard let month = num(p[1], 2), (1...12).contains(month) else { return nil }
            duration = "monthly"
            start = Self.stamp(year, month, 1, 0)
            end = month == 12 ? Self.stamp(year + 1, 1, 1, 0) : Self.stamp(year, month + 1, 1, 0)
        case 3, 4:
            guard let month = num(p[1], 2), let day = num(p[2], 2), (1...12).contains(month),
                  day >= 1, day <= Self.daysIn(year, month) else { return nil }
            let d = Self.daysFromCivil(year, month, day)
            if p.count == 3 {
                duration = "daily"
                start = Self.stamp(days: d); end = Self.stamp(days: d + 1)
            } else {
                guard let hour = num(p[3], 2), hour < 24 else { return nil }
                duration = "hourly"
                start = Self.stamp(days: d, hour: hour)
                end = hour == 23 ? Self.stamp(days: d + 1) : Self.stamp(days: d, hour: hour + 1)
            }
        default:
            return nil
        }
    }

    static func daysIn(_ y: Int, _ m: Int) -> Int {
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    }

    /// Days since 1970-01-01 of a civil date (proleptic Gregorian).
    static func daysFromCivil(_ y: Int, _ m: Int, _ d: Int) -> Int {
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civil(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Monday of ISO week `week` of ISO year `year`, as days since the epoch.
    static func isoWeekMonday(year: Int, week: Int) -> Int {
        let jan4 = daysFromCivil(year, 1, 4)
        let weekday = ((jan4 % 7) + 7 + 3) % 7  // 0 = Monday (1970-01-01 was a Thursday)
        return jan4 - weekday + (week - 1) * 7
    }

    /// 52 or 53: the ISO weeks of a year.
    static func isoWeeks(_ year: Int) -> Int {
        (isoWeekMonday(year: year + 1, week: 1) - isoWeekMonday(year: year, week: 1)) / 7
    }

    static func stamp(_ y: Int, _ m: Int, _ d: Int, _ h: Int) -> String { stamp(days: daysFromCivil(y, m, d), hour: h) }

    static func stamp(days: Int, hour: Int = 0) -> String {
        let (y, m, d) = civil(days)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(y)-\(two(m))-\(two(d))T\(two(hour)):00:00Z"
    }
}
