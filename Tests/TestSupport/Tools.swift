import Foundation

/// Locations in the package and of its built tools.
public enum Package {
    /// The package root (the folder holding Package.swift).
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// The folder with the built executables: `$PGARCHIVE_BIN`, else `.build/release`, else `.build/debug`.
    public static let binDirectory: URL = {
        if let dir = ProcessInfo.processInfo.environment["PGARCHIVE_BIN"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        for config in ["release", "debug"] {
            let url = root.appendingPathComponent(".build/\(config)")
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("zcompress").path) { return url }
        }
        return root.appendingPathComponent(".build/debug")
    }()

    /// The path of a built tool.
    public static func tool(_ name: String) -> String {
        binDirectory.appendingPathComponent(name).path
    }

    /// The executable targets: folders under Sources/ whose names start with a lower-case letter.
    public static var executableNames: [String] {
        let sources = root.appendingPathComponent("Sources")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: sources.path)) ?? []
        return names.filter { $0.first?.isLowercase == true }.sorted()
    }
}

/// What a finished process left: status, output and error text.
public struct ProcessResult: Sendable {
    /// Exit status, or 128+N when killed by signal N.
    public var status: Int32
    /// Everything written to stdout.
    public var stdout: Data
    /// Everything written to stderr.
    public var stderr: Data
    /// stdout as UTF-8 text.
    public var out: String { String(decoding: stdout, as: UTF8.self) }
    /// stderr as UTF-8 text.
    public var err: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs a program to completion, feeding `stdin` (bytes or a file) and collecting its output.
///
/// stdout and stderr are collected through temp files, so large outputs never block the child.
@discardableResult
public func run(
    _ executable: String, _ arguments: [String], stdin: Data? = nil, stdinFile: String? = nil,
    stdoutFile: String? = nil, environment: [String: String]? = nil, currentDirectory: String? = nil
) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable.contains("/") ? executable : try which(executable))
    process.arguments = arguments
    if let environment {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    let scratch = try TemporaryDirectory()
    let outPath = stdoutFile ?? scratch.path("stdout")
    let errPath = scratch.path("stderr")
    // Never createFile on a caller's path: it replaces the file, and /dev/full is a device.
    if !FileManager.default.fileExists(atPath: outPath) { _ = FileManager.default.createFile(atPath: outPath, contents: nil) }
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    process.standardOutput = outHandle
    process.standardError = errHandle
    var inPipe: Pipe?
    if let stdinFile {
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: stdinFile))
    } else if stdin != nil {
        let pipe = Pipe()
        process.standardInput = pipe
        inPipe = pipe
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    try process.run()
    if let inPipe, let stdin {
        let writer = inPipe.fileHandleForWriting
        let thread = Thread {
            // A child that exits before reading all its input must not take the test runner down.
            blockSIGPIPEOnThisThread()
            try? writer.write(contentsOf: stdin)
            try? writer.close()
        }
        thread.start()
    }
    process.waitUntilExit()
    try outHandle.close()
    try errHandle.close()
    let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    let out = stdoutFile == nil ? try Data(contentsOf: URL(fileURLWithPath: outPath)) : Data()
    let err = try Data(contentsOf: URL(fileURLWithPath: errPath))
    withExtendedLifetime(scratch) {}
    return ProcessResult(status: status, stdout: out, stderr: err)
}

/// Runs a shell command line (for pipelines in tests), with `bash -o pipefail -c`.
@discardableResult
public func shell(_ command: String, environment: [String: String]? = nil, stdin: Data? = nil) throws -> ProcessResult {
    try run("/bin/bash", ["-o", "pipefail", "-c", command], stdin: stdin, environment: environment)
}

/// The absolute path of a program on PATH.
public func which(_ name: String) throws -> String {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    throw TestFailure("\(name) not found on PATH")
}

/// An error a test helper throws with a readable message.
public struct TestFailure: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    /// A failure with a message.
    public init(_ description: String) { self.description = description }
}

/// A scratch folder removed when the value goes away.
public final class TemporaryDirectory: @unchecked Sendable {
    /// The folder.
    public let url: URL

    /// Creates a fresh folder under the system temp directory.
    public init() throws {
        let base = ProcessInfo.processInfo.environment["PGARCHIVE_TEST_TMP"] ?? NSTemporaryDirectory()
        url = URL(fileURLWithPath: base).appendingPathComponent("pgarchive-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A path inside the folder.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Blocks SIGPIPE for the calling thread only: a write to a pipe whose reader is gone then fails
/// with EPIPE instead of killing the whole test process (the signal stays pending on this thread
/// and is discarded with it). Never on a thread that starts processes: they inherit the mask.
public func blockSIGPIPEOnThisThread() {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGPIPE)
    pthread_sigmask(SIG_BLOCK, &set, nil)
}

/// Writes `data` to `handle` from a short-lived thread that has SIGPIPE blocked; false when the
/// reader had gone (EPIPE) or the write failed otherwise.
@discardableResult
public func writeWithoutSIGPIPE(_ data: Data, to handle: FileHandle) -> Bool {
    let done = DispatchSemaphore(value: 0)
    let result = WriteResult()
    let thread = Thread {
        blockSIGPIPEOnThisThread()
        result.ok = (try? handle.write(contentsOf: data)) != nil
        done.signal()
    }
    thread.start()
    done.wait()
    return result.ok
}

private final class WriteResult: @unchecked Sendable { var ok = false }

/// A helper process (proxy, auth server) that lives until its stdin closes.
public final class HelperProcess: @unchecked Sendable {
    public let process = Process()
    let stdin = Pipe()
    let stdout = Pipe()
    /// The first line it printed.
    public let firstLine: String

    public init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: try which("python3"))
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        var line = Data()
        while true {
            let byte = stdout.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line += byte
        }
        firstLine = String(decoding: line, as: UTF8.self)
        guard !firstLine.isEmpty else { throw TestFailure("helper \(arguments) printed nothing") }
    }

    deinit {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
