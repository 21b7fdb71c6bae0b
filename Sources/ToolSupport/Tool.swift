import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// The version every tool prints for `--version`.
public enum PGArchive {
    /// The toolbox version.
    public static let version = "0.1.0"

    /// What `TOOL --version` prints, the same form for every tool: `s3put 0.1.0`.
    public static func versionLine(_ tool: String) -> String { "\(tool) \(version)" }
}

/// A pgarchive command-line tool: ArgumentParser parsing with the toolbox's conventions.
///
/// `--help`/`--version` go to stdout (a failed write is an error), usage errors exit 2 with
/// `TOOL: error: …` on stderr and nothing on stdout, `ToolError`s exit with their status,
/// SIGINT/SIGTERM run the registered clean-ups and exit 130.
public protocol Tool: ParsableCommand {}

extension Tool {
    /// The entry point `@main` calls.
    public static func main() {
        main(arguments: Array(CommandLine.arguments.dropFirst()))
    }

    /// Parses `arguments`, runs the command and exits with the toolbox's status table.
    public static func main(arguments: [String]) -> Never {
        Interrupts.shared.install()
        let name = configuration.commandName ?? String(CommandLine.arguments[0].split(separator: "/").last ?? "tool")
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            Glibc.exit(ExitStatus.ok.rawValue)
        } catch let error as ToolError {
            fail(name, error.message, error.status)
        } catch let error as ExitCode {
            Glibc.exit(error.rawValue == 64 ? ExitStatus.usage.rawValue : error.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                let text = fullMessage(for: error)
                let sink = FileSink.standardOutput()
                do {
                    try sink.write(text.hasSuffix("\n") ? text : text + "\n")
                    try sink.flush()
                } catch {
                    fail(name, "\(error)", .failure)
                }
                Glibc.exit(ExitStatus.ok.rawValue)
            }
            let message = Self.message(for: error)
            if code == .validationFailure {
                let line = message.split(separator: "\n").first.map(String.init) ?? message
                let usage = "\(name): error: \(lowercasedFirst(stripPrefix(line)))\n\(name): see '\(name) --help'\n"
                writeStandardError(usage)
                Glibc.exit(ExitStatus.usage.rawValue)
            }
            fail(name, message, .failure)
        }
    }

    private static func stripPrefix(_ line: String) -> String {
        line.hasPrefix("Error: ") ? String(line.dropFirst(7)) : line
    }
}

private func lowercasedFirst(_ s: String) -> String {
    guard let first = s.first, first.isUppercase, !(s.dropFirst().first?.isUppercase ?? false) else { return s }
    return first.lowercased() + s.dropFirst()
}

/// Writes `TOOL: error: message` on stderr and exits with `status`.
public func fail(_ tool: String, _ message: String, _ status: ExitStatus) -> Never {
    Interrupts.shared.runCleanups()
    writeStandardError("\(tool): error: \(message)\n")
    Glibc.exit(status.rawValue)
}

/// Writes a diagnostic to stderr, ignoring failures (there is nowhere else to report them).
public func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { buf in
        var off = 0
        while off < buf.count {
            let n = write(2, buf.baseAddress! + off, buf.count - off)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            off += n
        }
    }
}

/// Writes `TOOL: warning: message` on stderr.
public func warn(_ tool: String, _ message: String) {
    writeStandardError("\(tool): warning: \(message)\n")
}
