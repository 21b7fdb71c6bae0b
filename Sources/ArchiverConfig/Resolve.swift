import ToolSupport
import Yams

/// Where a setting's value came from, for messages and `--debug`.
public enum SettingOrigin: Sendable, Equatable, CustomStringConvertible {
    case flag(String)
    case environment(String)
    case file(path: String, line: Int, key: String)
    case builtIn

    public var description: String {
        switch self {
        case .flag(let name): "--\(name)"
        case .environment(let name): name
        case .file(let path, let line, let key): "\(key) in \(path) line \(line)"
        case .builtIn: "default"
        }
    }
}

/// A setting's value as text, with its origin.
public struct SettingValue: Sendable, Equatable {
    /// The value as text.
    public var text: String
    /// Where it came from.
    public var origin: SettingOrigin
}

/// The YAML configuration file, flattened to dotted keys with line numbers.
public struct ConfigFile: Sendable {
    /// The file's path, for messages.
    public var path: String
    /// Dotted key → (scalar text, 1-based line).
    public var values: [String: (text: String, line: Int)]

    /// Parses YAML text; nested mappings become dotted keys (`db: {host: x}` → `db.host`).
    public init(path: String, text: String) throws(ConfigError) {
        self.path = path
        values = [:]
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError("could not parse \(path): \(String(describing: error).split(separator: "\n").joined(separator: " "))", usage: false)
        }
        guard let root else { return }
        guard case .mapping = root else {
            throw ConfigError("\(path) line \(root.mark?.line ?? 1): expected a mapping of settings at the top level", usage: false)
        }
        try flatten(root, prefix: "")
    }

    private mutating func flatten(_ node: Node, prefix: String) throws(ConfigError) {
        guard case .mapping(let mapping) = node else { return }
        for (keyNode, valueNode) in mapping {
            let key = prefix + (keyNode.string ?? "")
            let line = keyNode.mark?.line ?? 0
            switch valueNode {
            case .mapping:
                try flatten(valueNode, prefix: key + ".")
            case .scalar(let scalar):
                let canonical = canonicalKey(key)
                guard let canonical else {
                    throw ConfigError("unknown setting \"\(key)\" in \(path) line \(line)", usage: false)
                }
                if let setting = archiverSetting(canonical), setting.flagOnly {
                    throw ConfigError("\(key) in \(path) line \(line) is taken from the command line only (--\(setting.flag))", usage: false)
                }
                // `~` and empty values mean "not set".
                if scalar.string == "~" || (scalar.string.isEmpty && scalar.style == .plain) || scalar.string == "null" { continue }
                values[canonical] = (scalar.string, line)
            case .sequence, .alias:
                throw ConfigError("\(key) in \(path) line \(line): expected a single value", usage: false)
            }
        }
    }
}

/// The setting key a YAML key names (its own key or an alias), if any.
func canonicalKey(_ key: String) -> String? {
    archiverSettings.first { $0.key == key || $0.yamlAliases.contains(key) }?.key
}

/// Resolves every setting of `command`: flag > `ARCHIVE_*` variable > YAML file > default.
/// Date settings may be relative to `today` (UTC): `today`, `yesterday`, `-Nd` (N days ago) —
/// for cron (`--start-date -2d --end-date -1d`); they resolve here, once, to `YYYY-MM-DD`.
public func resolveSettings(command: ArchiverCommand, flags: [String: String], environment: [String: String],
                            file: ConfigFile?, today: String) -> [String: SettingValue] {
    var out: [String: SettingValue] = [:]
    for setting in archiverSettings where setting.commands.contains(command) || setting.key == "config" {
        var value: SettingValue?
        if let text = flags[setting.key] {
            value = SettingValue(text: text, origin: .flag(setting.flag))
        } else if !setting.flagOnly, let name = setting.environmentNames.first(where: { environment[$0] != nil }), let text = environment[name] {
            value = SettingValue(text: text, origin: .environment(name))
        } else if !setting.flagOnly, let file, let entry = file.values[setting.key] {
            value = SettingValue(text: entry.text, origin: .file(path: file.path, line: entry.line, key: setting.key))
        } else if let fallback = setting.defaultValue {
            value = SettingValue(text: fallback, origin: .builtIn)
        }
        if var value {
            if setting.kind == .date, let absolute = relativeDate(value.text, today: today) { value.text = absolute }
            out[setting.key] = value
        }
    }
    return out
}

/// `today`, `yesterday` or `-Nd` (N whole days before `today`, N up to 100000) as `YYYY-MM-DD`;
/// nil for any other text (an absolute date, or an error that validation reports).
public func relativeDate(_ text: String, today: String) -> String? {
    guard let base = CalendarDate(today) else { return nil }
    let back: Int
    switch text.lowercased() {
    case "today": back = 0
    case "yesterday": back = 1
    case let t where t.hasPrefix("-") && t.hasSuffix("d") && t.count <= 8:
        guard let n = Int(t.dropFirst().dropLast()), n >= 0, t.dropFirst().first?.isNumber == true else { return nil }
        back = n
    default: return nil
    }
    let (y, m, d) = Civil.date(days: Civil.days(year: base.year, month: base.month, day: base.day) - back)
    return CalendarDate(year: y, month: m, day: d).description
}

extension CalendarDate {
    /// The date of `year`, `month`, `day` (already valid).
    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }
}
