import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import ArchiveCache
import ArchiverConfig
import Pipelines
import ToolSupport

/// What a one-off tool run printed.
struct Captured {
    /// Exit status or signal.
    var termination: Termination
    /// stdout, split into lines.
    var lines: [String]
    /// The last lines of stderr.
    var errors: [String]
    /// stdout exactly as written (a sidecar whose hash is checked).
    var output: [UInt8] = []

    /// `tool (exit status N): its own error` (the `tool: error: ` prefix dropped).
    func failure(_ tool: String) -> String {
        StageResult(name: tool, termination: termination, errorLines: errors, lastProgress: [:], usage: nil).errorMessage
            .map { "\(tool) (\(termination)): \($0)" } ?? "\(tool) (\(termination))"
    }

    /// The run's exit status for this failure: authentication and configuration errors keep
    /// their own (for alerting), anything else is a failure.
    var status: ExitStatus {
        switch termination {
        case .exited(ExitStatus.authentication.rawValue): .authentication
        case .exited(ExitStatus.configuration.rawValue): .configuration
        default: .failure
        }
    }
}

extension ChildInvocation {
    /// Runs one tool to completion and captures its output (plan lines, listings, schema JSON).
    /// `started` sees the pipeline before it runs (to cancel it from another thread).
    func capture(_ tool: String, _ arguments: [String], onErrorLine: (@Sendable (String) -> Void)? = nil,
                 started: ((Pipeline) -> Void)? = nil) throws -> Captured {
        let pipeline = Pipeline(stages: [Stage(name: tool, command: command(tool, arguments), reportsProgress: false)])
        if let onErrorLine { pipeline.onErrorLine = { _, line in onErrorLine(line) } }
        started?(pipeline)
        let result = try pipeline.run()
        let text = String(decoding: result.output, as: UTF8.self)
        return Captured(termination: result.stages[0].termination,
                        lines: text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init),
                        errors: result.stages[0].errorLines, output: Array(result.output))
    }
}

extension ChildInvocation {
    /// Runs one tool to completion and hands each line of its output to `each` (no copy of the
    /// whole output as text or as lines: a plan or a listing of 100,000 lines). With `spool` (a
    /// file path in a private scratch folder) the output goes to that file and is read back a
    /// megabyte at a time, so not even its bytes are held whole; the file is removed after.
    /// The result's `lines` and `output` are empty.
    /// `expecting`, with a spool, learns how many lines will follow before the first (to size
    /// what holds them: no spare capacity of up to half of 100,000 slices).
    func captureLines(_ tool: String, _ arguments: [String], spool: String? = nil, onErrorLine: (@Sendable (String) -> Void)? = nil,
                      expecting: ((Int) -> Void)? = nil, each: (Data) throws -> Void) throws -> Captured {
        let pipeline = Pipeline(stages: [Stage(name: tool, command: command(tool, arguments), reportsProgress: false)])
        if let onErrorLine { pipeline.onErrorLine = { _, line in onErrorLine(line) } }
        guard let spool else {
            let result = try pipeline.run()
            try Self.splitLines(result.output, each)
            return Captured(termination: result.stages[0].termination, lines: [], errors: result.stages[0].errorLines)
        }
        let fd = open(spool, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw OrchestratorError("could not create \(spool): \(systemErrorText(errno))") }
        defer { unlink(spool) }
        let result: PipelineResult
        do {
            defer { close(fd) }
            result = try pipeline.run(stdout: fd)
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        if let expecting {
            let counting = try FileSource.open(path: spool)
            var lines = 0
            while case let n = try chunk.withUnsafeMutableBytes({ try counting.read(into: $0) }), n > 0 {
                lines += chunk[0..<n].reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
            }
            expecting(lines)
        }
        let source = try FileSource.open(path: spool)
        var pending = Data()
        while true {
            let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            pending.append(contentsOf: chunk[0..<n])
            guard let last = pending.lastIndex(of: 10) else { continue }
            try Self.splitLines(pending[pending.startIndex...last], each)
            pending = Data(pending[(last + 1)...])
        }
        try Self.splitLines(pending, each)
        return Captured(termination: result.stages[0].termination, lines: [], errors: result.stages[0].errorLines)
    }

    /// Calls `each` with every non-empty line of `bytes`.
    private static func splitLines(_ bytes: Data, _ each: (Data) throws -> Void) throws {
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: 10) ?? bytes.endIndex
            if end > start { try each(bytes[start..<end]) }
            start = end < bytes.endIndex ? end + 1 : end
        }
    }
}

/// One object of a listing.
struct ListedObject {
    var key: String
    var size: Int64
    var etag: String
}

extension ChildInvocation {
    /// Lists the objects under `prefix` (one ListObjectsV2 walk, through s3get).
    func listObjects(prefix: String) throws -> [String: ListedObject] {
        var objects: [String: ListedObject] = [:]
        try listObjects(prefix: prefix) { objects[$0.key] = $0 }
        return objects
    }

    /// Every object under `prefix`, one at a time (`spool`: see `captureLines`).
    func listObjects(prefix: String, spool: String? = nil, each: (ListedObject) throws -> Void) throws {
        let out = try captureLines("s3get", storeArguments + ["--list", prefix], spool: spool) { line in
            guard let json = try? JSONValue.parse(Array(line)), case .string(let key)? = json["key"], case .int(let size)? = json["size"],
                  case .string(let etag)? = json["etag"] else {
                throw OrchestratorError("s3get --list printed a line that does not parse: \(String(decoding: line.prefix(200), as: UTF8.self))")
            }
            try each(ListedObject(key: key, size: size, etag: etag))
        }
        guard out.termination.succeeded else {
            throw OrchestratorError("listing the destination \(destination(prefix: prefix)): \(out.failure("s3get"))", status: out.status)
        }
    }
}

extension ChildInvocation {
    /// The destination as a user names it: `s3://bucket/prefix`, or the file store's URL.
    func destination(prefix: String) -> String {
        let bucket = config.s3Bucket ?? ""
        if let endpoint = config.s3Endpoint, endpoint.hasPrefix("file://") {
            return (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint) + "/\(bucket)/\(prefix)"
        }
        return "s3://\(bucket)/\(prefix)"
    }
}
