import Pipelines
import ToolSupport

/// CPU time and peak memory per stage name, summed over every pipeline of a run: where the
/// run's time went (`pg-extract`, `rowfmt`, `zcompress`, `s3put`, …), for the summary.
public struct StageUsageTotals: Sendable {
    private var names: [String] = []
    private var cpu: [String: Double] = [:]
    private var peak: [String: Int] = [:]

    public init() {}

    /// Adds the stages (and side branches) of one finished pipeline.
    mutating func add(_ result: PipelineResult) {
        for stage in result.stages + result.branches.keys.sorted().compactMap({ result.branches[$0] }) {
            guard let usage = stage.usage else { continue }
            if cpu[stage.name] == nil { names.append(stage.name) }
            cpu[stage.name, default: 0] += usage.cpuSeconds
            peak[stage.name] = max(peak[stage.name] ?? 0, usage.peakResidentBytes)
        }
    }

    /// `cpu by stage: pg-extract 0.41 s (19.4 MB peak), …`, or nil before any pipeline ended.
    public var line: String? {
        guard !names.isEmpty else { return nil }
        return "cpu by stage: " + names.map { name in
            "\(name) \(TextFormat.fixed(cpu[name]!, 2)) s (\(TextFormat.fixed(Double(peak[name]!) / 1_000_000, 1)) MB peak)"
        }.joined(separator: ", ")
    }
}
