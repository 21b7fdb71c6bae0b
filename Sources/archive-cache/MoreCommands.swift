import ArchiveCache
import ArgumentParser
import CacheViewer
import Synchronization
import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Store s3put result lines (stdin) in the cache; print each stored entry.",
        discussion: """
            Each line is s3put's JSON result: bucket, key, size, md5, etag, parts, part_size, skipped \
            (and sha256). The entry under the line's key gets the size, MD5, multipart ETag and upload \
            time; its last error is cleared. The cache file is chosen by --command, --table, \
            --path-template and the line's bucket. Lines are committed in batches (up to 1000, fewer \
            when standard input has nothing more ready); a line is acknowledged when its entry is \
            printed, after its batch's commit: an acknowledged line survives kill -9.
            """)
    @Option(name: .customLong("command"), help: "The archiver command the cache belongs to.")
    var command = "archive"
    @Option(help: "The base table name.")
    var table: String
    @Option(help: "The object path template.")
    var pathTemplate: String
    @Option(help: "Refuse lines for any other bucket.")
    var bucket: String?
    @Option(help: "Rows in the slice (from pg-extract's final progress line).")
    var rowCount: Int64?
    @Option(help: "Bytes before compression (from rowfmt's final progress line).")
    var uncompressedSize: Int64?
    @Option(help: "When the run started (RFC 3339).")
    var processStart: String?

    func validate() throws {
        if let problem = CacheScope(command: command, table: table, bucket: bucket ?? "b", pathTemplate: pathTemplate).problem {
            throw ValidationError(problem)
        }
        if let processStart { _ = try parseTime(processStart, option: "--process-start") }
    }

    @Flag(help: "At the end, print to standard error how many entries were recorded in how many commits.")
    var summary = false

    /// Lines gathered before one commit at most.
    static let batchLimit = 1000

    func run() throws {
        let s = store()
        let start = try processStart.map { try parseTime($0, option: "--process-start") }
        let sink = FileSink.standardOutput()
        var lineNumber = 0
        var recorded = 0
        var commits = 0
        // Lines are committed in batches: when `batchLimit` are waiting, when standard input has
        // nothing more ready (a producer writing one line at a time gets each acknowledged at
        // once), at a malformed line (the lines before it) and at the end. A line is acknowledged
        // when its entry is printed, after its batch's commit: kill -9 loses no printed line.
        var batch: [(scope: CacheScope, result: UploadResult)] = []
        func commit() throws {
            guard !batch.isEmpty else { return }
            let now = Timestamp.now()
            let stored = try s.updateEntries(batch.map { ($0.scope, $0.result.key) }) { i, entry in
                batch[i].result.apply(to: &entry, now: now, rowCount: rowCount, uncompressedSize: uncompressedSize, processStart: start)
            }
            for (item, entry) in zip(batch, stored) { try sink.write(entryLine(key: item.result.key, entry) + "\n") }
            try sink.flush()
            recorded += batch.count
            commits += 1
            batch = []
        }
        do {
            try forEachLine(FileSource.standardInput, afterChunk: { if !inputReady(fd: 0) { try commit() } }) { line in
                lineNumber += 1
                guard line.contains(where: { $0 != 32 && $0 != 9 && $0 != 13 }) else { return }
                let result = try UploadResult.parse(line, source: "standard input: line \(lineNumber)")
                guard result.objectMatches else {
                    throw ToolError("standard input: line \(lineNumber): an s3put --compare result that differs from the object (nothing was uploaded)")
                }
                if let bucket, result.bucket != bucket {
                    throw ToolError("standard input: line \(lineNumber): bucket \"\(result.bucket)\" is not \"\(bucket)\"")
                }
                batch.append((CacheScope(command: command, table: table, bucket: result.bucket, pathTemplate: pathTemplate), result))
                if batch.count >= Self.batchLimit { try commit() }
            }
        } catch let error as ToolError {
            try commit()  // the lines before the malformed one
            throw error
        }
        try commit()
        if summary { writeStandardError("archive-cache: recorded \(recorded) entries in \(commits) commits\n") }
        if recorded == 0 { throw ToolError("standard input: no result line") }
    }
}

/// Whether `fd` has data (or its end) ready to read without waiting.
func inputReady(fd: Int32) -> Bool {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    return poll(&p, 1, 0) > 0
}

/// Calls `body` with each line of `source` (without its newline); a last line without one
/// counts. `afterChunk` runs when the lines of one read are done, before the next read.
func forEachLine(_ source: FileSource, afterChunk: () throws -> Void = {}, _ body: ([UInt8]) throws -> Void) throws {
    var pending: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
        if n == 0 { break }
        pending += chunk[0..<n]
        var start = 0
        while let newline = pending[start...].firstIndex(of: 10) {
            try body(Array(pending[start..<newline]))
            start = newline + 1
        }
        pending.removeFirst(start)
        try afterChunk()
    }
    if !pending.isEmpty { try body(pending) }
}

struct SetTask: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-task",
        abstract: "Merge a JSON object of task fields (stdin) into current_task.json; print the task.",
        discussion: "Fields: pid, start_time, table, start_date, end_date, current_task, current_partition, current_step, progress, total_items, completed_items, last_update, current_slice_index, total_slices, current_slice_date, total_partitions, partitions_counted, partitions_processed, slices_processed. last_update is set to now unless given.")
    @Option(help: "The archiver's PID for a new task file (default: the parent process).")
    var pid: Int64?

    func run() throws {
        let input = try readStandardInput()
        let task = try TaskStore(home: stateHome()).updateTask(
            patch: input, pid: pid ?? Int64(getppid()), now: .now(), source: "standard input")
        try output([task.json.compact])
    }
}

struct ClearTask: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clear-task", abstract: "Remove current_task.json.")

    func run() throws {
        try TaskStore(home: stateHome()).clearTask()
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print whether the archiver runs, its PID and task (the viewer's /api/status document).")

    func run() throws {
        let status = TaskStore(home: stateHome()).status()
        try output([ViewerDocuments.status(status, version: PGArchive.versionLine("archive-cache"), now: .now()).compact])
    }
}

struct Lock: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command holding the scope's run lock and archiver.pid; exit with its status.",
        discussion: "A second run of the same scope exits 1 at once, naming the PID that holds the lock. Runs of other scopes (another table or destination) go ahead side by side.")
    @OptionGroup var scope: ScopeOptions
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (after --).")
    var commandLine: [String] = []

    /// The command without a leading `--`.
    var program: [String] { commandLine.first == "--" ? Array(commandLine.dropFirst()) : commandLine }

    func validate() throws {
        if program.isEmpty { throw ValidationError("missing the command to run (after --)") }
    }

    func run() throws {
        let home = stateHome()
        let lock: RunLock
        do {
            lock = try RunLock(home: home, scope: scope.scope, pid: Int64(getpid()))
        } catch let busy as RunLock.Busy {
            throw ToolError(busy.description)
        }
        let status = try runChild(program)
        lock.release()
        if status != 0 { throw ExitCode(status) }
    }
}

/// Runs a program (looked up on PATH) with inherited descriptors; returns its exit status (128+N for signal N).
func runChild(_ arguments: [String]) throws -> Int32 {
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    // SIGINT/SIGTERM to us reach the child too, so the lock never outlives the work it guards.
    // The handler is armed before the spawn and waits for it (the same lock), so a signal
    // arriving while the child starts still stops it.
    let child = SpawnedChild()
    let token = Interrupts.shared.add {
        child.interrupted.store(true, ordering: .sequentiallyConsistent)
        if let pid = child.lock.withLock({ child.pid }) { stop(pid) }
    }
    defer { Interrupts.shared.remove(token) }
    let pid: pid_t = try child.lock.withLock {
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, arguments[0], nil, nil, &argv, environ)
        guard rc == 0 else { throw ToolError("could not run \"\(arguments[0])\": \(systemErrorText(rc))") }
        child.pid = pid
        return pid
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        // ECHILD after a signal: the handler's `stop` reaped the child first; it exits 130.
        if errno == ECHILD && child.interrupted.load(ordering: .sequentiallyConsistent) { break }
        guard errno == EINTR else { throw ToolError("waitpid: \(systemErrorText(errno))") }
    }
    // Interrupted: the signal handler is finishing its clean-ups and exits 130.
    while child.interrupted.load(ordering: .sequentiallyConsistent) { pause() }
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
}

/// The child of `runChild`, shared with its interrupt handler.
final class SpawnedChild: @unchecked Sendable {
    /// Held while spawning, so the handler never misses a child that is starting.
    let lock = ToolSupport.Lock()
    /// The child, once spawned (guarded by `lock`).
    var pid: pid_t?
    /// Set when SIGINT/SIGTERM arrived while the child ran.
    let interrupted = Atomic<Bool>(false)
}

/// Sends SIGTERM and waits up to 5 s for the child to end (reaped here or by the waiting
/// thread), then SIGKILL.
func stop(_ child: pid_t) {
    _ = kill(child, SIGTERM)
    for _ in 0..<500 {
        let r = waitpid(child, nil, WNOHANG)
        if r == child || (r < 0 && errno == ECHILD) { return }
        usleep(10_000)
    }
    _ = kill(child, SIGKILL)
    _ = waitpid(child, nil, 0)
}


struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the live cache viewer: /, /api/cache, /api/status, /ws, /metrics.",
        discussion: "Read-only. Prints the URL it listens on as the first line of standard output. Binds 127.0.0.1 unless told otherwise; then it answers only to loopback host names.")
    @Option(help: "TCP port (0: any free port).")
    var port: Int = 8080
    @Option(help: "Numeric address to listen on (IPv4 or IPv6), or localhost.")
    var bind = "127.0.0.1"

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0…65535") }
    }

    func run() throws {
        let address = bind == "localhost" ? "127.0.0.1" : bind
        let viewer = CacheViewer(home: stateHome(), host: address, port: UInt16(port), version: PGArchive.version)
        let actual = try viewer.start()
        let host = address.contains(":") ? "[\(address)]" : address
        try output(["http://\(host):\(actual)/"])
        while true { pause() }
    }
}
