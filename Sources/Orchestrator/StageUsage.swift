#if canImport(Glibc)
import Glibc
#endif
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
            // Only a peak the tool reported itself (docs/progress.md, `peak_rss_bytes`).
            if usage.peakIsOwn { peak[stage.name] = max(peak[stage.name] ?? 0, usage.peakResidentBytes) }
        }
    }

    /// `cpu by stage: pg-extract 0.41 s (19.4 MB peak), …` (no peak for a stage that never
    /// reported its own), or nil before any pipeline ended.
    public var line: String? {
        guard !names.isEmpty else { return nil }
        return "cpu by stage: " + names.map { name in
            "\(name) \(TextFormat.fixed(cpu[name]!, 2)) s" + (peak[name].map { " (\(TextFormat.fixed(Double($0) / 1_000_000, 1)) MB peak)" } ?? "")
        }.joined(separator: ", ")
    }
}

extension ResourceUsage {
    /// This process's own CPU time and peak resident set size so far (getrusage, RUSAGE_SELF):
    /// the orchestrator's share, which grows with the number of slices it plans and decides on.
    static func ownSoFar() -> ResourceUsage {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return ResourceUsage(cpuSeconds: cpu, peakResidentBytes: Int(usage.ru_maxrss) * 1024)
    }

    /// `data-archiver 1.06 s (58.2 MB peak)`.
    var ownLine: String {
        "data-archiver \(TextFormat.fixed(cpuSeconds, 2)) s (\(TextFormat.fixed(Double(peakResidentBytes) / 1_000_000, 1)) MB peak)"
    }
}

/// This process's resident set size now, in MB (`/proc/self/statm`), for `--debug` lines that
/// show where a run over many slices holds its memory.
func residentMegabytesNow() -> String {
    let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "?" }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard n > 0 else { return "?" }
    let fields = buffer[0..<n].split(separator: 32)
    guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return "?" }
    return TextFormat.fixed(Double(pages * Int(sysconf(Int32(_SC_PAGESIZE)))) / 1_000_000, 1)
}
