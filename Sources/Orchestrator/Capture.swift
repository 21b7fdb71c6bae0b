import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Pipelines

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

    /// `tool (exit status N): last stderr line`.
    func failure(_ tool: String) -> String {
        "\(tool) (\(termination))" + (errors.last.map { ": " + $0 } ?? "")
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
        guard out.termination.succeeded else { throw OrchestratorError("could not list the destination: \(out.failure("s3get"))") }
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
