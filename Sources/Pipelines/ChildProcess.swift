import CSpawn
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended.
public enum Termination: Sendable, Equatable, CustomStringConvertible {
    /// It exited with this status.
    case exited(Int32)
    /// A signal killed it.
    case signaled(Int32)

    /// Exit status 0.
    public var succeeded: Bool { self == .exited(0) }

    /// Whether the stage ended because of another stage: the consequence status of the exit-status
    /// table (its output closed, its input cut short, its upload not committed), SIGPIPE, or the
    /// SIGTERM a pipeline sends its other stages once one failed.
    public var isConsequence: Bool {
        self == .exited(ExitStatus.consequence.rawValue) || self == .signaled(SIGPIPE) || self == .signaled(SIGTERM)
    }

    /// The shell's convention: the status, or 128 + the signal number.
    public var shellStatus: Int32 {
        switch self {
        case .exited(let code): code
        case .signaled(let sig): 128 + sig
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): "exit status \(code)"
        case .signaled(let sig): "killed by signal \(sig) (\(String(cString: strsignal(sig))))"
        }
    }
}

/// A program to run: no shell, so no quoting; secrets belong in `environment`, never in `arguments`.
public struct Command: Sendable {
    /// The executable's absolute path.
    public var executable: String
    /// Arguments after the program name.
    public var arguments: [String]
    /// The complete environment of the child.
    public var environment: [String: String]

    /// A command with its full environment.
    public init(executable: String, arguments: [String], environment: [String: String]) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }

    /// The command as a shell line (for `--debug`), with the named variables' values masked.
    public func shellLine(showing variables: [String] = []) -> String {
        let env = variables.compactMap { name in environment[name].map { "\(name)=\(shellQuote($0))" } }
        return (env + [executable] + arguments).map { $0.contains("=") && env.contains($0) ? $0 : shellQuote($0) }
            .joined(separator: " ")
    }
}

/// Quotes a word for a POSIX shell when it needs quoting.
public func shellQuote(_ word: String) -> String {
    let safe = word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_./:=,@%+".contains($0)) }
    if safe && !word.isEmpty { return word }
    return "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
}

/// What a reaped child used, from wait4(2).
public struct ResourceUsage: Sendable, Equatable {
    /// User plus system CPU time, in seconds.
    public var cpuSeconds: Double
    /// Peak resident set size, in bytes.
    public var peakResidentBytes: Int
    /// Whether the program reported `peakResidentBytes` itself (its final progress line).
    /// Otherwise it is wait4's `ru_maxrss`, which for a child of a big process counts the
    /// parent's pages the child shared between fork and exec: no figure of the program's own.
    public var peakIsOwn: Bool

    /// A usage from its values.
    public init(cpuSeconds: Double, peakResidentBytes: Int, peakIsOwn: Bool = false) {
        self.cpuSeconds = cpuSeconds
        self.peakResidentBytes = peakResidentBytes
        self.peakIsOwn = peakIsOwn
    }
}

/// A started child process, reaped exactly once by `wait()`.
public final class ChildProcess: @unchecked Sendable {
    /// The child's process id.
    public let pid: pid_t
    /// The program, for messages.
    public let name: String
    private var result: Termination?
    /// What it used, once reaped.
    public private(set) var usage: ResourceUsage?

    init(pid: pid_t, name: String) {
        self.pid = pid
        self.name = name
    }

    /// Starts `command` with `descriptors` (parent fd → child fd); the child dies with the
    /// calling thread (PR_SET_PDEATHSIG), so call it from a thread that outlives the child.
    public static func spawn(_ command: Command, descriptors: [(parent: Int32, child: Int32)]) throws -> ChildProcess {
        let argv = [command.executable] + command.arguments
        let envp = command.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnvp = envp.map { strdup($0) } + [nil]
        defer {
            cArgv.forEach { free($0) }
            cEnvp.forEach { free($0) }
        }
        let from = descriptors.map(\.parent)
        let to = descriptors.map(\.child)
        var error: Int32 = 0
        let pid = pgarchive_spawn(command.executable, cArgv, cEnvp, from, to, Int32(descriptors.count), &error)
        guard pid > 0 else {
            throw ToolError("could not run \(command.executable): \(systemErrorText(error))")
        }
        return ChildProcess(pid: pid, name: command.executable.split(separator: "/").last.map(String.init) ?? command.executable)
    }

    /// Waits for the child to end (once; later calls return the same result).
    @discardableResult
    public func wait() -> Termination {
        if let result { return result }
        var status: Int32 = 0
        var rusage = Glibc.rusage()
        while wait4(pid, &status, 0, &rusage) < 0 {
            if errno != EINTR { break }
        }
        let seconds = { (t: timeval) in Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        usage = ResourceUsage(cpuSeconds: seconds(rusage.ru_utime) + seconds(rusage.ru_stime),
                              peakResidentBytes: Int(rusage.ru_maxrss) * 1024)
        // WIFEXITED / WEXITSTATUS / WTERMSIG, spelled out (they are macros).
        let termination: Termination = (status & 0x7F) == 0 ? .exited((status >> 8) & 0xFF) : .signaled(status & 0x7F)
        result = termination
        return termination
    }

    /// Sends a signal, unless the child was already reaped.
    public func kill(_ signal: Int32 = SIGTERM) {
        if result == nil { _ = Glibc.kill(pid, signal) }
    }
}

/// Bytes a pipe between two stages buffers: 256 KiB instead of Linux's 64 KiB. In a two-worker
/// archive this halves the context switches; 1 MiB cut them by four but cost more CPU than it
/// saved (caches), see docs/performance.md.
let dataPipeCapacity: Int32 = 1 << 18

/// Gives a pipe between two stages `dataPipeCapacity`, or as much as the system allows: an
/// unprivileged user over `/proc/sys/fs/pipe-user-pages-soft` keeps the default, which only
/// costs speed.
func enlargeDataPipe(_ fd: Int32) {
    _ = pgarchive_pipe_set_capacity(fd, dataPipeCapacity)
}

/// A pipe with both ends close-on-exec; the spawner dups the child's end into place.
public func makePipe() throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [0, 0]
    guard pgarchive_pipe_cloexec(&fds) == 0 else { throw ToolError("could not create a pipe: \(systemErrorText(errno))") }
    return (fds[0], fds[1])
}
