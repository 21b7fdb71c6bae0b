/// A configuration problem, named where it was found (flag, variable, file and line).
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    /// True for a bad command line (exit 2), false for a bad file or variable (exit 2 too, but
    /// reported with its location).
    public var isUsage: Bool
    /// One line.
    public var message: String

    /// An error with a message.
    public init(_ message: String, usage: Bool = true) {
        self.message = message
        self.isUsage = usage
    }

    public var description: String { message }
}

/// What the command line said: the command, the settings given as flags, and help/version.
public struct ParsedCommandLine: Sendable, Equatable {
    /// The subcommand (`archive` when none was named, as in the seed's Quick Start).
    public var command: ArchiverCommand
    /// Setting key → value, for flags given explicitly.
    public var flags: [String: String]
    /// `-h`/`--help` was given.
    public var help = false
    /// `--version` was given.
    public var version = false
}

/// Parses data-archiver's command line against the settings table.
///
/// `--flag value`, `--flag=value`, `-d`, boolean flags with optional `=true|false`, `--` ends
/// options. The first operand may name the command; options may come before or after it.
public func parseArchiverCommandLine(_ arguments: [String]) throws(ConfigError) -> ParsedCommandLine {
    var command: ArchiverCommand?
    var flags: [String: String] = [:]
    var help = false
    var version = false
    var index = 0
    func setting(forFlag name: String) throws(ConfigError) -> Setting {
        guard let s = archiverSettings.first(where: { $0.flag == name || $0.flagAliases.contains(name) }) else {
            throw ConfigError("unknown flag --\(name)")
        }
        return s
    }
    while index < arguments.count {
        let arg = arguments[index]
        index += 1
        if arg == "--" {
            if index < arguments.count { throw ConfigError("unexpected argument \"\(arguments[index])\"") }
            break
        }
        if arg == "-h" || arg == "--help" { help = true; continue }
        if arg == "--version" { version = true; continue }
        if arg.hasPrefix("--") {
            let body = arg.dropFirst(2)
            let name = String(body.split(separator: "=", maxSplits: 1).first ?? "")
            let inline = body.contains("=") ? String(body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[1]) : nil
            let s = try setting(forFlag: name)
            if s.kind == .boolean {
                let value = inline ?? "true"
                guard parseBool(value) != nil else { throw ConfigError("invalid value \"\(value)\" for --\(name): expected true or false") }
                flags[s.key] = value
            } else if let inline {
                flags[s.key] = inline
            } else {
                guard index < arguments.count else { throw ConfigError("flag needs an argument: --\(name)") }
                flags[s.key] = arguments[index]
                index += 1
            }
            continue
        }
        if arg.hasPrefix("-") && arg.count > 1 {
            for letter in arg.dropFirst() {
                if letter == "h" { help = true; continue }
                guard let s = archiverSettings.first(where: { $0.short == letter }) else {
                    throw ConfigError("unknown shorthand flag: '\(letter)' in \(arg)")
                }
                flags[s.key] = "true"
            }
            continue
        }
        if command == nil, let named = ArchiverCommand(rawValue: arg) {
            command = named
            continue
        }
        throw ConfigError(command == nil ? "unknown command \"\(arg)\" (expected archive, dump, dump-hybrid, restore or viewer)"
                                         : "unexpected argument \"\(arg)\"")
    }
    let resolved = command ?? .archive
    if !help && !version {
        for key in flags.keys {
            let s = archiverSetting(key)!
            guard s.commands.contains(resolved) else {
                throw ConfigError("flag --\(s.flag) does not apply to \(resolved.rawValue)")
            }
        }
    }
    return ParsedCommandLine(command: resolved, flags: flags, help: help, version: version)
}

/// `true`/`false` and the usual spellings of them.
func parseBool(_ text: String) -> Bool? {
    switch text.lowercased() {
    case "true", "1", "yes", "on", "t": true
    case "false", "0", "no", "off", "f": false
    default: nil
    }
}
