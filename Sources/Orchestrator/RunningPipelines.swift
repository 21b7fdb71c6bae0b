import FoundationEssentials
import ToolSupport
#if canImport(Glibc)
import Glibc
#endif
import Pipelines
import RunDisplay

/// The pipelines a run has going, and whether it is stopping: stop cancels them all, and no
/// pipeline registers after it.
final class RunningPipelines: @unchecked Sendable {
    private let lock = Lock()
    private var pipelines: [ObjectIdentifier: Pipeline] = [:]
    private var stopping = false

    /// Whether `stop` was called.
    var isStopping: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopping
    }

    /// Marks the run stopping and cancels every running pipeline.
    func stop() {
        lock.lock()
        stopping = true
        let running = Array(pipelines.values)
        lock.unlock()
        running.forEach { $0.cancel() }
    }

    /// Waits up to `seconds` until no pipeline is registered.
    func waitUntilIdle(seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            lock.lock(); let empty = pipelines.isEmpty; lock.unlock()
            if empty { return }
            usleep(50_000)
        }
    }

    /// Adds a pipeline about to run; false when the run is stopping (then it must not run).
    func register(_ pipeline: Pipeline) -> Bool {
        lock.lock(); defer { lock.unlock() }
        if stopping { return false }
        pipelines[ObjectIdentifier(pipeline)] = pipeline
        return true
    }

    /// Removes a finished pipeline.
    func unregister(_ pipeline: Pipeline) {
        lock.lock()
        pipelines[ObjectIdentifier(pipeline)] = nil
        lock.unlock()
    }
}

/// Logs a stage's retry event line (`"event":"retry"`, docs/progress.md) at info, with what it
/// is about; true when `fields` was one (it carries no progress then).
func logRetryEvent(_ display: RunDisplay, stage: String, fields: [String: JSONValue], context: [(String, String)]) -> Bool {
    guard fields["event"] == .string("retry") else { return false }
    func text(_ key: String) -> String {
        switch fields[key] {
        case .number(let n)?: n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : TextFormat.fixed(n, 3)
        case .string(let s)?: s
        default: ""
        }
    }
    display.log(.info, "retrying", context + [("stage", stage), ("attempt", text("attempt")), ("max_attempts", text("max_attempts")),
                                              ("delay_seconds", text("delay_seconds")), ("reason", text("reason"))])
    return true
}

/// The level of a child's stderr line: its warnings (and retry notes) at warn, the rest at debug
/// (the cause of a failure reaches the summary and the error line anyway).
func stderrLevel(_ line: String) -> LogLevel {
    line.contains(": warning: ") ? .warn : .debug
}
