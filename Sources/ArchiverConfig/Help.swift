/// What each command does, one line.
public func archiverCommandSummary(_ command: ArchiverCommand) -> String {
    switch command {
    case .archive: "Archive table partitions (or date windows) to object storage as JSONL, CSV or Parquet"
    case .dump: "Dump the database or a table with pg_dump -Fc, streamed to object storage"
    case .dumpHybrid: "Dump a table's schema once, then one pg_dump per date window"
    case .restore: "Restore archived files into PostgreSQL tables and partitions"
    case .viewer: "Serve the cache viewer web page on its own"
    case .verify: "Check that every archived slice of the range is whole: manifest, cache, content, source"
    case .retire: "Remove from PostgreSQL the rows of closed windows whose archived objects verify"
    }
}

/// The help text of data-archiver or one of its commands, generated from the settings table.
public func archiverHelp(_ command: ArchiverCommand?, today: String, commands: [ArchiverCommand] = availableArchiverCommands) -> String {
    var out = """
        Data Archiver

        A toolbox CLI to archive PostgreSQL data to object storage and restore it.
        Formats JSONL/CSV/Parquet, compression zstd/lz4/gzip, S3-compatible or file:// destinations.
        Precedence: flag > ARCHIVE_* environment variable > YAML config file > default.

        USAGE:
          data-archiver [command] [flags]

        """
    if command == nil {
        out += "\nCOMMANDS:\n"
        for c in commands {
            out += "  " + c.rawValue.padding(13) + archiverCommandSummary(c) + "\n"
        }
        out += "\nWithout a command, data-archiver runs archive.\n"
    } else {
        out += "\n" + archiverCommandSummary(command!) + ".\n"
    }
    let shown = command ?? .archive
    out += "\nFLAGS (\(shown.rawValue)):\n"
    for s in archiverSettings where s.commands.contains(shown) {
        let short = s.short.map { "-\($0), " } ?? "    "
        let value = s.kind == .boolean ? "" : " " + (s.kind == .integer ? "int" : "string")
        var line = "  " + short + ("--" + s.flag + value).padding(36) + s.help
        if let note = s.commandNotes[shown] {
            line += " (\(note))"
        } else if let d = s.commandDefaults[shown] ?? s.defaultValue, s.kind != .boolean || d != "false" {
            line += " (default \(s.kind == .string || s.kind == .date ? "\"\(d == "today" ? today : d)\"" : d))"
        }
        out += line + "\n"
    }
    out += "  -h, --help".padding(42) + "help for data-archiver\n"
    out += "      --version".padding(42) + "print the version\n"
    out += "\nEXIT STATUS: 0 ok, 1 a slice or file failed, 2 usage error, 130 interrupted.\n"
    return out
}

/// The commands this build of data-archiver runs; the settings table also describes the
/// commands still to come, which stay out of the help and the documentation until they exist.
public let availableArchiverCommands: [ArchiverCommand] = [.archive, .dump, .dumpHybrid, .restore, .verify, .retire, .viewer]

/// The flag ↔ YAML key ↔ environment variable table, as Markdown (README and man page).
public func archiverSettingsTable() -> String {
    var out = "| flag | YAML key | environment variable | default | commands |\n|---|---|---|---|---|\n"
    for s in archiverSettings where s.key != "config" && !s.commands.isDisjoint(with: availableArchiverCommands) {
        let keys = s.flagOnly ? "(flag only)" : ([s.key] + s.yamlAliases).map { "`\($0)`" }.joined(separator: ", ")
        let vars = s.flagOnly ? "(flag only)" : s.environmentNames.map { "`\($0)`" }.joined(separator: ", ")
        let flags = (["--" + s.flag] + s.flagAliases.map { "--" + $0 } + (s.short.map { ["-\($0)"] } ?? [])).map { "`\($0)`" }
        let commands = availableArchiverCommands.filter { s.commands.contains($0) }.map(\.rawValue).joined(separator: ", ")
        var defaults = s.defaultNote ?? s.defaultValue.map { "`\($0)`" } ?? ""
        if !s.commandNotes.isEmpty {
            // "archive: `jsonl`; restore: detected from …": the default for the commands without a note.
            let plain = availableArchiverCommands.filter { s.commands.contains($0) && s.commandNotes[$0] == nil }.map(\.rawValue)
            defaults = ([plain.joined(separator: ", ") + ": " + defaults]
                        + availableArchiverCommands.compactMap { c in s.commandNotes[c].map { "\(c.rawValue): \($0)" } }).joined(separator: "; ")
        }
        out += "| \(flags.joined(separator: ", ")) | \(keys) | \(vars) | \(defaults) | \(commands) |\n"
    }
    return out
}

extension String {
    /// Pads with spaces to `width` (at least one space after).
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
