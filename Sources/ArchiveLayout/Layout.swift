import SlicePlan
import ToolSupport

/// Where archived objects live: the one place for path templates, file names and their parsing.
///
/// Object key = the path template rendered with the slice's window start (`{table}`, `{YYYY}`,
/// `{MM}`, `{DD}`, `{HH}`) + `/` + file name; file name = stem + format extension + codec
/// extension (`flights-2024-01-05.jsonl.zst`); Parquet carries its codec inside and has no outer
/// extension (`flights-2024-01-05.parquet`).
///
/// Rows that arrive in a window after its rows were retired (docs/retire.md, "Late rows") go
/// to a late object beside the window's: the stem + `.late-<generation>` (1, 2, …) + the
/// extensions (`flights-2024-01-05.late-1.jsonl.zst`). `ArchivedFileName` parses both forms.
public enum ArchiveLayout {
    /// The date placeholders a template may hold.
    public static let datePlaceholders = ["{YYYY}", "{MM}", "{DD}", "{HH}"]

    /// Every placeholder a path template may hold.
    public static let placeholders = ["{table}"] + datePlaceholders

    /// Why `template` cannot be used, or nil: a `{…}` that is not a known placeholder (it would
    /// be written literally into every key), or a `.` or `..` segment (the key would name
    /// another place, even another bucket).
    public static func templateProblem(_ template: String) -> String? {
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else {
                return "an unclosed \"{\" (known placeholders: \(placeholders.joined(separator: ", ")))"
            }
            let name = String(rest[open...close])
            if !placeholders.contains(name) {
                return "unknown placeholder \(name) (known placeholders: \(placeholders.joined(separator: ", ")))"
            }
            rest = rest[rest.index(after: close)...]
        }
        for segment in template.split(separator: "/") where segment == "." || segment == ".." {
            return "a \"\(segment)\" segment would put objects outside the prefix (or the bucket)"
        }
        return nil
    }

    /// Renders a path template: no leading or trailing slashes, no empty segments.
    /// One pass over the template's bytes (a run renders one key per slice: 100,000 of them).
    public static func render(template: String, table: String, year: String, month: String, day: String, hour: String) -> String {
        let values = [table, year, month, day, hour]
        var out: [UInt8] = []
        out.reserveCapacity(template.utf8.count + table.utf8.count)
        // Slashes are written before the next segment's first byte: none leading, trailing or doubled.
        var slash = false
        func append(_ byte: UInt8) {
            if byte == slashByte {
                slash = !out.isEmpty
                return
            }
            if slash { out.append(slashByte); slash = false }
            out.append(byte)
        }
        let t = Array(template.utf8)
        var i = 0
        outer: while i < t.count {
            if t[i] == openByte {
                for (n, name) in placeholderBytes.enumerated() where t.count - i >= name.count && t[i..<(i + name.count)].elementsEqual(name) {
                    for byte in values[n].utf8 { append(byte) }
                    i += name.count
                    continue outer
                }
            }
            append(t[i])
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let placeholderBytes = placeholders.map { Array($0.utf8) }
    private static let slashByte = UInt8(ascii: "/")
    private static let openByte = UInt8(ascii: "{")

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

    /// The key of a window's late object of `generation` (1, 2, …) beside its object `objectKey`
    /// (docs/retire.md, "Late rows"): `…/flights-2024-01-05.late-2.jsonl.zst`.
    public static func lateKey(objectKey: String, stem: String, generation: Int) -> String {
        let slash = objectKey.lastIndex(of: "/")
        let directory = slash.map { String(objectKey[...$0]) } ?? ""
        let name = slash.map { String(objectKey[objectKey.index(after: $0)...]) } ?? objectKey
        guard name.hasPrefix(stem) else { return objectKey }
        return directory + stem + lateMarker + String(generation) + name.dropFirst(stem.count)
    }

    /// What separates a late object's stem from its generation.
    public static let lateMarker = ".late-"

    /// The key of a schema sidecar: `<fixed prefix>_schema/<table>-<hash>.json`.
    public static func schemaKey(template: String, table: String, hash: String) -> String {
        fixedPrefix(template: template, table: table) + "_schema/\(table)-\(hash).json"
    }

    /// The folder of the manifests (docs/manifest.md): `<fixed prefix>_manifest/`.
    public static func manifestPrefix(template: String, table: String) -> String {
        fixedPrefix(template: template, table: table) + "_manifest/"
    }

    /// The key of a data object's manifest: `<fixed prefix>_manifest/<object file name>.json`.
    public static func manifestKey(template: String, table: String, objectKey: String) -> String {
        let fileName = objectKey.split(separator: "/").last.map(String.init) ?? objectKey
        return manifestPrefix(template: template, table: table) + fileName + ".json"
    }

    /// The data object's file name a manifest key names (`flights-2024-01-05.jsonl.zst`), or nil.
    public static func manifestFileName(manifestKey key: String, template: String, table: String) -> String? {
        let prefix = manifestPrefix(template: template, table: table)
        guard key.hasPrefix(prefix), key.hasSuffix(".json") else { return nil }
        let name = String(key.dropFirst(prefix.count).dropLast(5))
        return name.isEmpty || name.contains("/") ? nil : name
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
    /// 0 for a window's object; 1, 2, … for its late objects (`<stem>.late-<n>.<format>…`).
    public var generation = 0

    /// The window's stem, `<table>-<label>`, the same for the object and its late objects.
    public var stem: String { "\(table)-\(label)" }
    /// The name without extensions: the stem, with `.late-<n>` for a late object.
    public var name: String { generation == 0 ? stem : stem + ArchiveLayout.lateMarker + String(generation) }

    static let formats = ["jsonl", "csv", "parquet"]
    static let codecs = [("zst", "zstd"), ("lz4", "lz4"), ("gz", "gzip")]

    /// Parses `<table>-<label>[.late-<n>].<format>[.<codec>]`, for a known table; nil for other names.
    public init?(_ name: String, table: String) {
        guard name.hasPrefix(table + "-") else { return nil }
        var parts = name.dropFirst(table.count + 1).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2 else { return nil }
        var codec = "none"
        if let known = Self.codecs.first(where: { $0.0 == parts.last }) {
            codec = known.1
            parts.removeLast()
        }
        if parts.count == 3 {
            let marker = ArchiveLayout.lateMarker.dropFirst()
            guard parts[1].hasPrefix(marker), let n = Int(parts[1].dropFirst(marker.count)), n > 0,
                  String(n) == parts[1].dropFirst(marker.count) else { return nil }
            generation = n
            parts.remove(at: 1)
        }
        guard parts.count == 2, Self.formats.contains(parts[1]), WindowLabel(parts[0]) != nil else { return nil }
        self.table = table
        label = parts[0]
        format = parts[1]
        self.codec = codec
    }
}

/// A window label parsed back to its UTC window `[start, end)`.
///
/// The calendar is SlicePlan's, the one that writes labels: a label is accepted only when
/// SlicePlan writes exactly that label for the window it names, so `2021-W53` or `2023-02-29`
/// are refused.
public struct WindowLabel: Equatable, Sendable {
    /// The duration the label's form implies.
    public var duration: OutputDuration
    /// The window.
    public var window: Window
    /// Window start and exclusive end, RFC 3339 UTC.
    public var start: String { window.start.description }
    public var end: String { window.end.description }

    /// Parses every label form the archive writes; nil for anything else.
    public init?(_ label: String) {
        let p = label.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        func num(_ s: String, _ digits: Int) -> Int? { s.count == digits && s.allSatisfy(\.isASCII) && s.allSatisfy(\.isNumber) ? Int(s) : nil }
        guard let year = num(p[0], 4) else { return nil }
        let candidate: (OutputDuration, Instant)
        switch p.count {
        case 1:
            candidate = (.yearly, Instant(year: year, month: 1, day: 1))
        case 2 where p[1].hasPrefix("W"):
            guard let week = num(String(p[1].dropFirst()), 2) else { return nil }
            // ISO week 1 holds January 4th; its Monday starts the week.
            let jan4 = Civil.days(year: year, month: 1, day: 4)
            candidate = (.weekly, Instant(year: year, month: 1, day: 4).adding(days: (week - 1) * 7 - Civil.weekday(days: jan4)))
        case 2:
            guard let month = num(p[1], 2), (1...12).contains(month) else { return nil }
            candidate = (.monthly, Instant(year: year, month: month, day: 1))
        case 3, 4:
            guard let month = num(p[1], 2), let day = num(p[2], 2), Civil.isValid(year: year, month: month, day: day) else { return nil }
            if p.count == 3 {
                candidate = (.daily, Instant(year: year, month: month, day: day))
            } else {
                guard let hour = num(p[3], 2), hour < 24 else { return nil }
                candidate = (.hourly, Instant(year: year, month: month, day: day, hour: hour))
            }
        default:
            return nil
        }
        let (duration, start) = candidate
        guard duration.label(windowStart: start) == label else { return nil }
        self.duration = duration
        window = duration.window(containing: start)
    }
}
