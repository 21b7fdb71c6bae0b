import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
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

/// One object of a listing.
struct ListedObject: Decodable {
    var key: String
    var size: Int64
    var etag: String
}

extension ChildInvocation {
    /// Lists the objects under `prefix` (one ListObjectsV2 walk, through s3get).
    func listObjects(prefix: String) throws -> [String: ListedObject] {
        let out = try capture("s3get", storeArguments + ["--list", prefix])
        guard out.termination.succeeded else {
            throw OrchestratorError("listing the destination \(destination(prefix: prefix)): \(out.failure("s3get"))", status: out.status)
        }
        var objects: [String: ListedObject] = [:]
        for line in out.lines {
            guard let object = try? JSONDecoder().decode(ListedObject.self, from: Data(line.utf8)) else {
                throw OrchestratorError("s3get --list printed a line that does not parse: \(line.prefix(200))")
            }
            objects[object.key] = object
        }
        return objects
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
