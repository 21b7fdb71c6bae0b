#if canImport(Glibc)
import Glibc
#endif
import Pipelines
import RunDisplay
import ToolSupport

/// Names the stage of one slice's pipeline that is really working, from the tools themselves:
/// every `interval` it reads each running stage's CPU demand and where it sleeps from /proc,
/// follows the stages' progress lines (first row, done, parts acknowledged), and applies
/// `WorkerStage.name` (the rule, docs/progress.md "The stage a worker shows"). `onChange` gets
/// each new name, never after `stop` returned.
final class StageWatch: @unchecked Sendable {
    /// Nanoseconds between two samples.
    static let interval: UInt64 = 300_000_000

    private let lock = Lock()
    private let pipeline: Pipeline
    private let tools: [String]
    private let direction: Direction
    private let onChange: @Sendable (String) -> Void
    private var firstRow = false
    private var done: Set<Int> = []
    private var parts: Int64?
    /// Each stage's latest `bytes` (s3put: acknowledged by the store).
    private var bytes: [Int: Int64] = [:]
    private var demand: [Double]
    private var onPipe: [Bool]
    private var exited: [Bool]
    private var shown: String
    private var stopped = false

    /// Which way the data flows: it names the stages (`WorkerStage.archiveVerb`, `restoreVerb`).
    enum Direction {
        /// PostgreSQL to the store; `comparing`: s3put `--compare`.
        case archive(comparing: Bool)
        /// The store to PostgreSQL.
        case restore

        /// What the worker shows before the first stage's first output.
        var waiting: String {
            switch self {
            case .archive: "querying"
            case .restore: "downloading"
            }
        }
    }

    /// A watch of `pipeline`, whose stages run `tools` (their names).
    init(pipeline: Pipeline, tools: [String], direction: Direction, onChange: @escaping @Sendable (String) -> Void) {
        self.pipeline = pipeline
        self.tools = tools
        self.direction = direction
        self.onChange = onChange
        demand = Array(repeating: 0, count: tools.count)
        onPipe = Array(repeating: false, count: tools.count)
        exited = Array(repeating: false, count: tools.count)
        shown = direction.waiting
    }

    /// Starts sampling on a thread of its own (until `stop`).
    func start() {
        _ = spawnThread { [self] in
            var before: [pid_t: UInt64] = [:]
            var then = monotonicNanoseconds()
            while true {
                usleep(useconds_t(Self.interval / 1_000))
                let pids = pipeline.processIDs
                let now = monotonicNanoseconds()
                let elapsed = Double(max(now &- then, 1))
                var samples: [(demand: Double, onPipe: Bool, exited: Bool)] = []
                var after: [pid_t: UInt64] = [:]
                for pid in pids {
                    let state = ProcessState(pid: pid)
                    let total = state.demandNanoseconds
                    after[pid] = total
                    let used = before[pid].map { total >= $0 ? Double(total - $0) : 0 } ?? 0
                    samples.append((used / elapsed, state.sleepsOnPipe, state.exited))
                }
                // A stage seen for the first time has no baseline yet: decide on the next round.
                let complete = pids.allSatisfy { before[$0] != nil }
                before = after
                then = now
                lock.lock()
                if stopped { lock.unlock(); return }
                if !complete { lock.unlock(); continue }
                for (i, s) in samples.enumerated() where i < tools.count {
                    demand[i] = s.demand
                    onPipe[i] = s.onPipe
                    exited[i] = s.exited
                }
                decide()
                lock.unlock()
            }
        }
    }

    /// Takes in a stage's progress line.
    func progress(stage: Int, fields: [String: JSONValue]) {
        lock.lock()
        defer { lock.unlock() }
        if stopped { return }
        if stage == 0, (fields["rows"]?.integer ?? fields["bytes"]?.integer ?? 0) > 0 { firstRow = true }
        if stage == tools.count - 1, let n = fields["parts"]?.integer { parts = n }
        if let n = fields["bytes"]?.integer { bytes[stage] = n }
        if fields["done"] == .bool(true) { done.insert(stage) }
        decide()
    }

    /// Stops the watch: no `onChange` after it returns.
    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
    }

    /// Applies the rule (lock held) and reports a change.
    private func decide() {
        // The last stage holds everything the one before it wrote, acknowledged.
        let last = tools.count - 1
        let fed = last > 0 && done.contains(last - 1) ? bytes[last - 1] : nil
        let allAcknowledged = fed.map { $0 > 0 && (bytes[last] ?? 0) >= $0 } ?? false
        let stages = tools.indices.map { i in
            let verb = switch direction {
            case .archive(let comparing):
                WorkerStage.archiveVerb(tool: tools[i], comparing: comparing, partsAcknowledged: i == last ? parts : nil,
                                        allAcknowledged: i == last && allAcknowledged)
            case .restore: WorkerStage.restoreVerb(tool: tools[i])
            }
            return WorkerStage.Stage(verb: verb, demand: demand[i], ended: done.contains(i) || exited[i], onPipe: onPipe[i])
        }
        let next = WorkerStage.name(stages, firstOutput: firstRow, waiting: direction.waiting)
        guard next != shown else { return }
        shown = next
        onChange(next)
    }
}

/// What /proc says of one process: its CPU demand so far (all threads' time on a CPU plus time
/// runnable and waiting for one, `schedstat`), whether it exited (a zombie, or gone), and
/// whether its main thread sleeps reading or writing a pipe (`wchan`).
struct ProcessState {
    var demandNanoseconds: UInt64 = 0
    var exited = false
    var sleepsOnPipe = false

    init(pid: pid_t) {
        guard let stat = Self.read("/proc/\(pid)/stat"), let paren = stat.lastIndex(of: ")") else {
            exited = true
            return
        }
        // After "pid (comm) ": the state letter (field 3), then utime and stime (fields 14, 15).
        let fields = stat[stat.index(after: paren)...].split(separator: " ")
        let state = fields.first ?? ""
        if state == "Z" || state == "X" {
            exited = true
            return
        }
        sleepsOnPipe = Self.read("/proc/\(pid)/wchan")?.contains("pipe_") ?? false
        var measured = false
        for thread in Self.threads(pid) {
            guard let line = Self.read("/proc/\(pid)/task/\(thread)/schedstat") else { continue }
            let parts = line.split(separator: " ")
            if parts.count >= 2, let run = UInt64(parts[0]), let wait = UInt64(parts[1]) {
                demandNanoseconds += run + wait
                measured = true
            }
        }
        // A kernel without schedstat: CPU time alone (a busy tool on a loaded machine then reads
        // less busy than it is).
        if !measured, fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) {
            demandNanoseconds = (user + system) * (1_000_000_000 / UInt64(max(sysconf(Int32(_SC_CLK_TCK)), 1)))
        }
    }

    /// The thread IDs of a process.
    static func threads(_ pid: pid_t) -> [String] {
        guard let dir = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.first?.isNumber == true { names.append(name) }
        }
        return names
    }

    /// A small /proc file's text, or nil.
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }
}
