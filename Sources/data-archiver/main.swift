import ArchiveCache
import ArchiverConfig
import FoundationEssentials
import ObjectStore
import Orchestrator
import Pipelines
import RunDisplay
import SlicePlan
import ToolSupport
#if canImport(Glibc)
import Glibc
#endif

// data-archiver: the orchestrator. Options come from one settings table (ArchiverConfig), so
// flags, ARCHIVE_* variables, YAML keys and help never drift apart; the toolbox conventions
// (--help/--version on stdout, usage errors exit 2, failed writes fail) are kept by hand here.

let tool = "data-archiver"
let available = availableArchiverCommands

Interrupts.shared.install()
let environment = ProcessInfo.processInfo.environment
let today = Instant(microseconds: Int64(time(nil)) * 1_000_000).dateText

/// The log format asked for on the command line (or in ARCHIVE_LOG_FORMAT), known before the
/// command line is parsed, so that even usage and fatal errors follow it.
let requestedLogStyle: LogStyle = {
    let args = Array(CommandLine.arguments.dropFirst())
    var value = environment["ARCHIVE_LOG_FORMAT"]
    for (i, arg) in args.enumerated() {
        if arg == "--" { break }
        if arg == "--log-format", i + 1 < args.count { value = args[i + 1] }
        if arg.hasPrefix("--log-format=") { value = String(arg.dropFirst("--log-format=".count)) }
    }
    return value.flatMap(LogStyle.init(rawValue:)) ?? .text
}()

/// Ends the run with one error line: `data-archiver: error: …` as text, or a log line with
/// `exit_status` in logfmt or JSON.
func fatal(_ message: String, _ status: ExitStatus) -> Never {
    Interrupts.shared.runCleanups()
    switch requestedLogStyle {
    case .text:
        let hint = status == .usage ? "\(tool): see '\(tool) --help'\n" : ""
        writeStandardError("\(tool): error: \(message)\n" + hint)
    case .logfmt, .json:
        writeStandardError(formatLogLine(style: requestedLogStyle, level: .error, message: message,
                                         fields: [("exit_status", "\(status.rawValue)")]) + "\n")
    }
    exit(status.rawValue)
}

func usageError(_ message: String) -> Never { fatal(message, .usage) }

func printOut(_ text: String) {
    let sink = FileSink.standardOutput()
    do {
        try sink.write(text)
        try sink.flush()
    } catch {
        fatal("\(error)", .failure)
    }
}

let parsed: ParsedCommandLine
do {
    parsed = try parseArchiverCommandLine(Array(CommandLine.arguments.dropFirst()))
} catch {
    usageError(error.message)
}
if parsed.version {
    printOut(PGArchive.versionLine(tool) + "\n")
    exit(0)
}
guard available.contains(parsed.command) else {
    usageError("unknown command \"\(parsed.command.rawValue)\" (this build has \(available.map(\.rawValue).joined(separator: ", ")))")
}
if parsed.help {
    printOut(archiverHelp(CommandLine.arguments.dropFirst().contains(parsed.command.rawValue) ? parsed.command : nil,
                          today: today))
    exit(0)
}

// The YAML file: --config (must exist), else ARCHIVE_CONFIG, else ~/.data-archiver.yaml when present.
let configFile: ConfigFile?
do {
    let explicit = parsed.flags["config"] ?? environment["ARCHIVE_CONFIG"]
    let path = explicit ?? (environment["HOME"].map { $0 + "/.data-archiver.yaml" } ?? "")
    if let data = FileManager.default.contents(atPath: path) {
        configFile = try ConfigFile(path: path, text: String(decoding: data, as: UTF8.self))
    } else if explicit != nil {
        fatal("could not read config file \"\(path)\": \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")",
              .configuration)
    } else {
        configFile = nil
    }
} catch {
    fatal(error.message, error.isUsage ? .usage : .configuration)
}

let config: ArchiverConfiguration
do {
    let values = resolveSettings(command: parsed.command, flags: parsed.flags, environment: environment, file: configFile, today: today)
    config = try ArchiverConfiguration(command: parsed.command, values: values)
} catch {
    fatal(error.message, error.isUsage ? .usage : .configuration)
}

let binDirectory = environment["PGARCHIVE_BIN"] ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
let tools = ToolBox(directory: binDirectory)
let home: ArchiveHome
do {
    home = try ArchiveHome.resolve(archiveHome: environment["ARCHIVE_HOME"], home: environment["HOME"])
} catch let error as ToolError {
    fatal(error.message, error.status)
}

switch parsed.command {
case .viewer:
    // The viewer is archive-cache serve; replace this process with it.
    let path = tools.path("archive-cache")
    let args = [path, "serve", "--port", String(config.viewerPort), "--bind", config.viewerBind]
    let cArgs = args.map { strdup($0) } + [nil]
    execv(path, cArgs)
    fatal("could not run \(path): \(systemErrorText(errno))", .failure)
default:
    break
}

let display = RunDisplay(title: "data-archiver \(PGArchive.version) — \(parsed.command.rawValue) \(config.table ?? config.dbName ?? "")",
                         style: LogStyle(rawValue: config.logFormat.rawValue) ?? .text, debug: config.debug)
// S3 credentials: the chain resolved once, before any work (a broken set-up fails here).
let storeCredentials: CredentialProvider?
do {
    storeCredentials = parsed.command == .viewer ? nil : try StoreCredentials.resolve(config: config, environment: environment)
} catch {
    fail(tool, "\(error)", .failure)
}
var unresolved = ChildInvocation(config: config, baseEnvironment: environment.merging(["ARCHIVE_HOME": home.path]) { $1 }, tools: tools,
                                 storeCredentials: storeCredentials)
if config.debug {
    config.debugDescription.forEach { display.log(.debug, "setting \($0)") }
}
if !config.secretFlags.isEmpty {
    display.log(.warn, "a secret on the command line is visible to every user of this machine in /proc/\(getpid())/cmdline: "
                + "use the environment (ARCHIVE_DB_PASSWORD, ARCHIVE_DB_PASSWORD_FILE, PGPASSFILE, ARCHIVE_S3_SECRET_KEY, "
                + "ARCHIVE_S3_SECRET_KEY_FILE) or the config file", [("flags", config.secretFlags.joined(separator: ","))])
}
do {
    let needed: [String] = switch parsed.command {
    case .restore: ["s3get", "zcompress", "rowfmt", "pg-load"]
    case .verify: ["s3get", "zcompress", "rowfmt", "pg-extract", "pg-partitions"]
    case .retire: ["s3get", "s3put", "zcompress", "rowfmt", "pg-partitions"]
    case .archive: ["pg-partitions", "pg-extract", "rowfmt", "zcompress", "s3put", "s3get", "archive-cache"]
    default: ["pg-partitions", "s3put", "s3get", "archive-cache"]
    }
    try tools.check(needed)
} catch {
    fatal("\(error)", .configuration)
}
// `--s3-region auto`: the bucket's region, found once for every child of the run.
unresolved.resolveBucketRegion(display: display)
let invocation = unresolved

let run: any ArchiverRun = switch parsed.command {
case .archive: ArchiveRun(invocation: invocation, display: display, home: home)
case .restore: RestoreRun(invocation: invocation, display: display, home: home)
case .verify: VerifyRun(invocation: invocation, display: display, home: home)
case .retire: RetireRun(invocation: invocation, display: display, home: home)
default: DumpRun(invocation: invocation, display: display, home: home)
}
Interrupts.shared.add {
    // Clean-ups also run before a fatal error's exit: only a signal is an interruption.
    let signal = Interrupts.shared.signalReceived
    if signal != 0 {
        display.log(.warn, "interrupted: \(Interrupts.name(of: signal)) received; stopping the running "
                    + "pipelines (open uploads are aborted) before the summary")
    }
    run.stop()
    run.waitForPipelines(seconds: 15)
}
display.onQuit = { run.stop() }

// --viewer: the cache viewer runs alongside, in every mode, and stops with the run.
var viewer: ChildProcess?
if config.viewer {
    let serve = Command(executable: tools.path("archive-cache"),
                        arguments: ["serve", "--port", String(config.viewerPort), "--bind", config.viewerBind],
                        environment: invocation.environment(for: "archive-cache"))
    do {
        // serve prints the URL it listens on as its first line (the real port when 0 was asked);
        // the run logs it, or a warning when serve ended without listening.
        let pipe = try makePipe()
        let child = try ChildProcess.spawn(serve, descriptors: [(pipe.write, 1)])
        close(pipe.write)
        let url = readLine(pipe.read, limit: 4096)
        close(pipe.read)
        if let url, url.hasPrefix("http") {
            viewer = child
            display.log(.info, "cache viewer listening", [("url", url)])
        } else {
            child.kill()
            display.log(.warn, "the cache viewer did not start (archive-cache serve: \(child.wait()))")
        }
    } catch {
        display.log(.warn, "could not start the cache viewer: \(error)")
    }
}
let viewerProcess = viewer
Interrupts.shared.add { viewerProcess?.kill() }

display.start()
let summary: any RunReport
do {
    summary = try run.perform()
} catch {
    display.finish(summary: [])
    viewer?.kill()
    let status = (error as? OrchestratorError)?.status ?? (error as? ToolError)?.status ?? .failure
    fatal(invocation.mask("\(error)"), status)
}
display.finish(summary: summary.lines, fields: summary.fields)
if let viewer {
    // The run's end (lock released, task cleared) reaches open pages before the viewer stops,
    // so they show the final state rather than a lost connection.
    usleep(1_000_000)
    viewer.kill()
}
exit(summary.exitStatus.rawValue)

/// The first line read from `fd` (without its newline); nil at end of input before any byte.
func readLine(_ fd: Int32, limit: Int) -> String? {
    var bytes: [UInt8] = []
    var byte: UInt8 = 0
    while bytes.count < limit {
        let n = read(fd, &byte, 1)
        if n < 0 && errno == EINTR { continue }
        guard n == 1, byte != UInt8(ascii: "\n") else { break }
        bytes.append(byte)
    }
    return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
}
