import ToolSupport

#if canImport(Glibc)
import Glibc
#endif

/// What the running archiver is doing: `current_task.json`, field names as the original's.
public struct TaskInfo: Sendable, Equatable {
    /// The archiver's PID.
    public var pid: Int64 = 0
    /// When the run started.
    public var startTime: Timestamp = .zero
    /// The base table.
    public var table: String = ""
    /// The first day of the range (`YYYY-MM-DD`).
    public var startDate: String = ""
    /// The last day of the range.
    public var endDate: String = ""
    /// The operation (`connecting`, `counting`, `archiving`, …).
    public var currentTask: String = ""
    /// The partition or slice being worked on.
    public var currentPartition: String = ""
    /// The stage of that slice (`extracting`, `uploading`, `verifying`, …).
    public var currentStep: String = ""
    /// Overall progress, 0…100.
    public var progress: Double = 0
    /// Items to process.
    public var totalItems: Int64 = 0
    /// Items done.
    public var completedItems: Int64 = 0
    /// When this file was last written.
    public var lastUpdate: Timestamp = .zero
    /// Index of the current slice.
    public var currentSliceIndex: Int64 = 0
    /// Slices in the run.
    public var totalSlices: Int64 = 0
    /// Date of the current slice.
    public var currentSliceDate: String = ""
    /// Partitions found.
    public var totalPartitions: Int64 = 0
    /// Partitions whose rows were counted.
    public var partitionsCounted: Int64 = 0
    /// Partitions finished.
    public var partitionsProcessed: Int64 = 0
    /// Slices finished.
    public var slicesProcessed: Int64 = 0

    /// An empty task.
    public init() {}

    enum CodingKeys: String {
        case pid, startTime = "start_time", table, startDate = "start_date", endDate = "end_date"
        case currentTask = "current_task", currentPartition = "current_partition", currentStep = "current_step"
        case progress, totalItems = "total_items", completedItems = "completed_items", lastUpdate = "last_update"
        case currentSliceIndex = "current_slice_index", totalSlices = "total_slices"
        case currentSliceDate = "current_slice_date", totalPartitions = "total_partitions"
        case partitionsCounted = "partitions_counted", partitionsProcessed = "partitions_processed"
        case slicesProcessed = "slices_processed"
    }

    /// Sets the fields present in a JSON object; a field of the wrong type is an error.
    public mutating func apply(json: JSONValue) throws(JSONShapeError) {
        guard case .object(let members) = json else { throw JSONShapeError("expected a JSON object") }
        for (name, value) in members {
            guard let key = CodingKeys(rawValue: name) else { continue }
            switch key {
            case .pid: pid = try value.integer(name)
            case .startTime: startTime = try value.timestamp(name)
            case .table: table = try value.text(name)
            case .startDate: startDate = try value.text(name)
            case .endDate: endDate = try value.text(name)
            case .currentTask: currentTask = try value.text(name)
            case .currentPartition: currentPartition = try value.text(name)
            case .currentStep: currentStep = try value.text(name)
            case .progress: progress = try value.number(name)
            case .totalItems: totalItems = try value.integer(name)
            case .completedItems: completedItems = try value.integer(name)
            case .lastUpdate: lastUpdate = try value.timestamp(name)
            case .currentSliceIndex: currentSliceIndex = try value.integer(name)
            case .totalSlices: totalSlices = try value.integer(name)
            case .currentSliceDate: currentSliceDate = try value.text(name)
            case .totalPartitions: totalPartitions = try value.integer(name)
            case .partitionsCounted: partitionsCounted = try value.integer(name)
            case .partitionsProcessed: partitionsProcessed = try value.integer(name)
            case .slicesProcessed: slicesProcessed = try value.integer(name)
            }
        }
    }

    /// Decodes JSON text whose absent fields keep `base`'s values; errors name `source`.
    public static func decode(_ bytes: [UInt8], over base: TaskInfo = TaskInfo(), source: String) throws -> TaskInfo {
        var task = base
        do {
            try task.apply(json: JSONValue.parse(bytes))
        } catch {
            throw ToolError("\(source): \(error)")
        }
        return task
    }

    /// The task as `current_task.json` writes it.
    public var json: JSONValue {
        .object([
            ("pid", .int(pid)), ("start_time", .time(startTime)), ("table", .string(table)),
            ("start_date", .string(startDate)), ("end_date", .string(endDate)),
            ("current_task", .string(currentTask)), ("current_partition", .string(currentPartition)),
            ("current_step", .string(currentStep)), ("progress", .double(progress)),
            ("total_items", .int(totalItems)), ("completed_items", .int(completedItems)),
            ("last_update", .time(lastUpdate)), ("current_slice_index", .int(currentSliceIndex)),
            ("total_slices", .int(totalSlices)), ("current_slice_date", .string(currentSliceDate)),
            ("total_partitions", .int(totalPartitions)), ("partitions_counted", .int(partitionsCounted)),
            ("partitions_processed", .int(partitionsProcessed)), ("slices_processed", .int(slicesProcessed)),
        ])
    }
}

/// Reads and writes `current_task.json` and `archiver.pid`.
public struct TaskStore: Sendable {
    /// The state folder.
    public let home: ArchiveHome

    /// The task file: `current_task.json`, or a shard's `current_task.<tag>.json`.
    public let taskFile: String

    /// The task and PID files of `home`; with `tag` (a shard's `shard-I-of-N`), the tag's own task file.
    public init(home: ArchiveHome, tag: String? = nil) {
        self.home = home
        taskFile = tag.map { home.path + "/current_task.\($0).json" } ?? home.taskFile
    }

    /// The task file's content, nil when absent.
    public func readTask() throws -> TaskInfo? {
        guard let bytes = try readFileIfPresent(taskFile) else { return nil }
        return try TaskInfo.decode(bytes, source: "\"\(taskFile)\"")
    }

    /// Writes the task file atomically.
    public func writeTask(_ task: TaskInfo) throws {
        try home.createDirectories()
        try writeFileAtomically(taskFile, task.json.pretty + "\n")
    }

    /// Merges `patch` (JSON text) over the current task under a lock and writes it.
    ///
    /// The PID defaults to `pid`, `start_time` to now when the task is new, and `last_update`
    /// is always now unless the patch sets it.
    @discardableResult
    public func updateTask(patch: [UInt8], pid: Int64, now: Timestamp, source: String) throws -> TaskInfo {
        try home.createDirectories()
        let lock = try FileLock.exclusive(taskFile + ".lock")
        defer { lock.unlock() }
        let current = (try? readTask()) ?? nil
        var base = current ?? TaskInfo()
        base.lastUpdate = now
        if current == nil {
            base.pid = pid
            base.startTime = now
        }
        let task = try TaskInfo.decode(patch, over: base, source: source)
        try writeTask(task)
        return task
    }

    /// Removes the task file (absent is fine).
    public func clearTask() throws {
        if unlink(taskFile) != 0, errno != ENOENT {
            throw ToolError("could not remove \"\(taskFile)\": \(systemErrorText(errno))")
        }
    }

    /// The PID in `archiver.pid`, nil when the file is absent or unreadable.
    public func readPID() -> Int64? {
        guard let bytes = try? readFileIfPresent(home.pidFile) else { return nil }
        return Int64(trimmedText(bytes))
    }

    /// Whether the archiver is running, its PID, and what it is doing.
    public func status() -> ArchiverStatus {
        let pid = readPID()
        let running = pid.map(processIsAlive) ?? false
        let task = (try? readTask()) ?? nil
        return ArchiverStatus(running: running, pid: pid, stalePIDFile: pid != nil && !running, task: task)
    }
}

/// The archiver's state as the viewer reports it.
public struct ArchiverStatus: Sendable, Equatable {
    /// Whether the PID in `archiver.pid` names a live process.
    public var running: Bool
    /// The PID in `archiver.pid`.
    public var pid: Int64?
    /// `archiver.pid` names a process that no longer exists (the archiver crashed).
    public var stalePIDFile: Bool
    /// The task file's content.
    public var task: TaskInfo?
}

/// Whether a process with this PID exists (EPERM counts: it exists, owned by someone else).
public func processIsAlive(_ pid: Int64) -> Bool {
    guard pid > 0, pid <= Int64(Int32.max) else { return false }
    if kill(pid_t(pid), 0) == 0 { return true }
    return errno == EPERM
}
