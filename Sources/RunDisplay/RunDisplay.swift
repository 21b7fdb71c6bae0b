import FoundationEssentials
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// What one worker is doing, as the display shows it.
public struct WorkerState: Sendable {
    /// The slice (file stem) it works on.
    public var slice: String
    /// The stage really working, by `WorkerStage`'s rule ("querying", "compressing", "uploading part 3", …).
    public var stage: String
    /// Rows extracted so far.
    public var rows: Int64 = 0
    /// Rows expected (count or estimate), when known.
    public var expectedRows: Int64?
    /// Bytes uploaded so far.
    public var uploadedBytes: Int64 = 0
    /// Bytes streamed so far: what the stage feeding the upload (or the download) has written.
    public var streamedBytes: Int64 = 0
    /// When it started (monotonic seconds).
    public var started: Double

    /// A worker state.
    public init(slice: String, stage: String, expectedRows: Int64?, started: Double) {
        self.slice = slice
        self.stage = stage
        self.expectedRows = expectedRows
        self.started = started
    }
}

/// Presents a run: a live terminal display when stderr is a terminal, plain log lines otherwise.
///
/// Thread-safe: workers report from their own threads; a refresh thread draws.
public final class RunDisplay: @unchecked Sendable {
    private let lock = Lock()
    private let interactive: Bool
    private let style: LogStyle
    private let showDebug: Bool
    private let title: String
    private var workers: [Int: WorkerState] = [:]
    private var recentLogs: [String] = []
    private var completions: [String] = []
    private var counting: (done: Int, total: Int)?
    private var slicesDone = 0, slicesTotal = 0
    private var bytesDone: Int64 = 0, rowsDone: Int64 = 0, rowsTotal: Int64 = 0
    private let startTime = RunDisplay.now()
    private var lastPlainProgress = 0.0
    private var running = false
    /// The live display was closed: log lines go straight to stderr again.
    private var closed = false
    private var savedTerminal: termios?
    /// Called when the user presses `q` in the live display.
    public var onQuit: (@Sendable () -> Void)?

    /// A display titled `title`; live when stderr (and stdin, for keys) are terminals and `allowLive`.
    public init(title: String, style: LogStyle, debug: Bool, allowLive: Bool = true) {
        self.title = title
        self.style = style
        self.showDebug = debug
        interactive = allowLive && isTerminal(2)
    }

    static func now() -> Double { Double(monotonicNanoseconds()) / 1e9 }

    /// Starts drawing (live mode) and listening for `q`.
    public func start() {
        guard interactive else { return }
        running = true
        writeStandardError("\u{1B}[?1049h\u{1B}[?25l")
        if isTerminal(0) {
            var t = termios()
            if tcgetattr(0, &t) == 0 {
                savedTerminal = t
                var raw = t
                raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
                tcsetattr(0, TCSANOW, &raw)
            }
        }
        let saved = savedTerminal
        Interrupts.shared.add {
            writeStandardError("\u{1B}[?25h\u{1B}[?1049l")
            if var t = saved { tcsetattr(0, TCSANOW, &t) }
        }
        spawnThread { [weak self] in self?.refreshLoop() }
        if savedTerminal != nil {
            spawnThread { [weak self] in self?.keyLoop() }
        }
    }

    private func keyLoop() {
        var byte: UInt8 = 0
        while true {
            var p = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, 200)
            lock.lock(); let live = running; lock.unlock()
            if !live { return }
            guard ready > 0 else { continue }
            if read(0, &byte, 1) != 1 { return }
            if byte == UInt8(ascii: "q") || byte == UInt8(ascii: "Q") {
                log(.warn, "stopping: q pressed; running slices are cancelled")
                onQuit?()
            }
        }
    }

    private func refreshLoop() {
        while true {
            lock.lock(); let live = running; lock.unlock()
            if !live { return }
            draw()
            usleep(200_000)
        }
    }

    /// Logs a message (shown in the live display's log area, or written as a log line).
    public func log(_ level: LogLevel, _ message: String, _ fields: [(String, String)] = []) {
        if level == .debug && !showDebug { return }
        let line = formatLogLine(style: interactive ? .text : style, level: level, message: message, fields: fields)
        lock.lock()
        if interactive && !closed {
            recentLogs.append(line)
            if recentLogs.count > 8 { recentLogs.removeFirst() }
            lock.unlock()
        } else {
            lock.unlock()
            writeStandardError(line + "\n")
        }
    }

    /// Sets the row-counting progress.
    public func setCounting(done: Int, total: Int) {
        lock.lock(); counting = (done, total); lock.unlock()
    }

    /// Sets the totals the overall bar measures against.
    public func setTotals(slices: Int, rows: Int64) {
        lock.lock(); slicesTotal = slices; rowsTotal = rows; lock.unlock()
    }

    /// Sets or clears (nil) what worker `index` is doing.
    public func setWorker(_ index: Int, _ state: WorkerState?) {
        lock.lock(); workers[index] = state; lock.unlock()
        if !interactive { plainProgress() }
    }

    /// Updates a worker's stage and counters.
    public func updateWorker(_ index: Int, stage: String? = nil, rows: Int64? = nil, uploadedBytes: Int64? = nil,
                             streamedBytes: Int64? = nil) {
        lock.lock()
        if var w = workers[index] {
            if let stage { w.stage = stage }
            if let rows { w.rows = rows }
            if let uploadedBytes { w.uploadedBytes = uploadedBytes }
            if let streamedBytes { w.streamedBytes = streamedBytes }
            workers[index] = w
        }
        lock.unlock()
        if !interactive { plainProgress() }
    }

    /// What every busy worker is doing, by worker index.
    public func workerStates() -> [(index: Int, state: WorkerState)] {
        lock.lock()
        defer { lock.unlock() }
        return workers.keys.sorted().map { ($0, workers[$0]!) }
    }

    /// Records a finished slice (uploaded, skipped or failed).
    public func completed(_ text: String, bytes: Int64, rows: Int64) {
        lock.lock()
        slicesDone += 1
        bytesDone += bytes
        rowsDone += rows
        completions.append(text)
        if completions.count > 6 { completions.removeFirst() }
        lock.unlock()
    }

    /// Periodic progress as a log line when not live (at most every 10 s).
    private func plainProgress() {
        let now = Self.now()
        lock.lock()
        guard now - lastPlainProgress >= 10 else { lock.unlock(); return }
        lastPlainProgress = now
        let rows = rowsDone + workers.values.reduce(0) { $0 + $1.rows }
        var fields: [(String, String)] = [("slices_done", "\(slicesDone)"), ("slices", "\(slicesTotal)"), ("rows", "\(rows)"),
                                          ("rows_total", "\(rowsTotal)"), ("bytes", "\(bytesDone)"),
                                          ("elapsed_seconds", TextFormat.fixed(now - startTime, 1))]
        if let eta = etaSeconds(elapsed: now - startTime, rows: rows) { fields.append(("eta_seconds", TextFormat.fixed(eta, 0))) }
        lock.unlock()
        log(.info, "progress", fields)
    }

    /// Stops the live display and prints the summary: the text lines (which stay on screen), or
    /// for logfmt and JSON one `summary` line with the figures in `fields`, then the other lines.
    public func finish(summary: [String], fields: [(String, String)] = []) {
        lock.lock()
        let wasRunning = running
        running = false
        closed = true
        lock.unlock()
        if wasRunning {
            usleep(250_000)
            writeStandardError("\u{1B}[?25h\u{1B}[?1049l")
            if var t = savedTerminal { tcsetattr(0, TCSANOW, &t) }
            // Recent log lines stay visible after the display closes.
            lock.lock(); let logs = recentLogs; lock.unlock()
            logs.forEach { writeStandardError($0 + "\n") }
        }
        if style == .text || interactive || fields.isEmpty {
            for line in summary { log(.info, line) }
        } else {
            log(.info, "summary", fields)
            for line in summary.dropFirst() { log(.info, line) }
        }
    }

    /// Draws one frame of the live display.
    func draw() {
        var columns: Int32 = 100
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { columns = Int32(size.ws_col) }
        let width = Int(columns)
        lock.lock()
        let now = Self.now()
        let elapsed = now - startTime
        var lines: [String] = []
        lines.append("\u{1B}[1m\(title)\u{1B}[0m   elapsed \(formatDuration(elapsed))   (q: stop)")
        lines.append("")
        if let counting {
            lines.append("Counting  " + bar(Double(counting.done), Double(max(counting.total, 1)), width: 30) + " \(counting.done)/\(counting.total)")
        }
        let liveRows = workers.values.reduce(Int64(0)) { $0 + $1.rows }
        let eta = etaSeconds(elapsed: elapsed, rows: rowsDone + liveRows).map { "  ETA " + formatDuration($0) } ?? ""
        // The slices under way count with their rows against the expected rows (as in the viewer),
        // so one long slice moves the bar too.
        let partial = workers.values.reduce(0.0) { sum, w in
            guard let expected = w.expectedRows, expected > 0 else { return sum }
            return sum + min(1, Double(w.rows) / Double(expected))
        }
        lines.append("Overall   " + bar(Double(slicesDone) + partial, Double(max(slicesTotal, 1)), width: 30)
                     + " \(slicesDone)/\(slicesTotal) slices  \(formatBytes(bytesDone))  \(rowsDone + liveRows) rows\(eta)")
        lines.append("")
        for index in workers.keys.sorted() {
            let w = workers[index]!
            let seconds = max(now - w.started, 0.001)
            let rate = Double(w.rows) / seconds
            let progress = w.expectedRows.map { bar(Double(w.rows), Double(max($0, 1)), width: 16) + " " } ?? ""
            // What matters first, so a narrow terminal cuts only the bar.
            lines.append("  worker \(TextFormat.right(String(index + 1), 2))  \(w.slice)  \(TextFormat.left(w.stage, 17)) "
                         + "\(TextFormat.right(String(w.rows), 10)) rows \(TextFormat.right(TextFormat.fixed(rate, 0), 8)) rows/s  "
                         + "\(TextFormat.right(formatBytes(max(w.streamedBytes, w.uploadedBytes)), 9))  \(progress)")
        }
        if workers.isEmpty { lines.append("  (no worker busy)") }
        lines.append("")
        lines.append("Recent:")
        completions.forEach { lines.append("  " + $0) }
        lines.append("")
        lines.append("Log:")
        recentLogs.forEach { lines.append("  " + $0) }
        lock.unlock()
        var frame = "\u{1B}[H"
        for line in lines { frame += String(line.prefix(width - 1)) + "\u{1B}[K\n" }
        frame += "\u{1B}[J"
        writeStandardError(frame)
    }

    /// Seconds left (call with the lock held): from the rows per second so far while rows are
    /// known (so before the first slice ends too), else from the slices done; nil before either
    /// says anything or once everything is done.
    func etaSeconds(elapsed: Double, rows: Int64) -> Double? {
        guard slicesDone < slicesTotal, elapsed > 0 else { return nil }
        if rowsTotal > 0, rows > 0, rows < rowsTotal {
            return elapsed * Double(rowsTotal - rows) / Double(rows)
        }
        guard slicesDone > 0 else { return nil }
        let overall = Double(slicesDone) / Double(slicesTotal)
        return elapsed / overall - elapsed
    }

    func bar(_ value: Double, _ total: Double, width: Int) -> String {
        let fraction = min(max(value / total, 0), 1)
        let filled = Int((fraction * Double(width)).rounded(.down))
        return "[" + String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled) + "]"
            + " " + TextFormat.right(TextFormat.fixed(fraction * 100, 0), 3) + "%"
    }
}
