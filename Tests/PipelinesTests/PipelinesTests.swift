import Foundation
import Testing
import TestSupport
@testable import Pipelines

/// A stage running a bash script; extra arguments (`--progress-fd 3`, `--commit-fd 4`) land in "$@".
func bash(_ name: String, _ script: String, env: [String: String] = [:], progress: Bool = false, gate: Bool = false) -> Stage {
    Stage(name: name, command: Command(executable: "/bin/bash", arguments: ["-c", script, name],
                                       environment: ["PATH": "/usr/bin:/bin"].merging(env) { $1 }),
          reportsProgress: progress, commitGate: gate)
}

@Suite("pipelines of processes")
struct PipelinesTests {
    @Test("stages are joined by pipes and the last one's output is captured")
    func joined() throws {
        let result = try Pipeline(stages: [bash("produce", "printf 'b\\na\\nc\\n'"), bash("sort", "sort")]).run()
        #expect(result.succeeded)
        #expect(String(decoding: result.output, as: UTF8.self) == "a\nb\nc\n")
    }

    @Test("the pipe between two stages buffers 256 KiB, not Linux's default 64 KiB")
    func dataPipeCapacity() throws {
        // F_GETPIPE_SZ (1032) on the first stage's stdout, as the stage itself sees it.
        let probe = Stage(name: "probe", command: Command(executable: "/usr/bin/python3",
                                                          arguments: ["-c", "import fcntl, sys; print(fcntl.fcntl(1, 1032), file=sys.stderr)"],
                                                          environment: [:]))
        let result = try Pipeline(stages: [probe, bash("consume", "cat >/dev/null")]).run()
        #expect(result.succeeded)
        #expect(result.stages.first?.errorLines == ["262144"])
    }

    @Test("bytes given to run(input:) reach the first stage whole, larger than any pipe buffer")
    func input() throws {
        let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let result = try Pipeline(stages: [bash("count", "cat"), bash("sum", "md5sum")]).run(input: bytes)
        #expect(result.succeeded)
        let expected = try run("/bin/bash", ["-c", "md5sum"], stdin: Data(bytes)).out
        #expect(String(decoding: result.output, as: UTF8.self) == expected)
        // A stage that stops reading early ends the feeding; its own status tells the story.
        let early = try Pipeline(stages: [bash("head", "head -c 10 >/dev/null")]).run(input: bytes)
        #expect(early.succeeded)
    }

        @Test("each stage reports the CPU time and peak memory it used")
    func usage() throws {
        let result = try Pipeline(stages: [
            bash("busy", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; head -c 30000000 /dev/zero"),
            bash("idle", "cat >/dev/null"),
        ]).run()
        #expect(result.succeeded)
        let busy = try #require(result.stages[0].usage)
        let idle = try #require(result.stages[1].usage)
        // The loop takes about half a second here; a machine ten times faster still shows it.
        #expect(busy.cpuSeconds > 0.05, "\(busy)")
        #expect(busy.cpuSeconds > 3 * idle.cpuSeconds, "\(busy) vs \(idle)")
        #expect(busy.peakResidentBytes > 1_000_000 && idle.peakResidentBytes > 1_000_000)
    }

    @Test("a failing stage is named with its status and last stderr line")
    func failureNamed() throws {
        let result = try Pipeline(stages: [
            bash("produce", "seq 1 100000"),
            bash("rowfmt", "head -c 100 >/dev/null; echo 'rowfmt: error: line 3: bad value' >&2; exit 1"),
            bash("consume", "cat >/dev/null"),
        ]).run()
        #expect(!result.succeeded)
        #expect(result.failure == "rowfmt (exit status 1): line 3: bad value")
    }

    @Test("consequence exits (4) are not named: the upstream broken pipe and the downstream cut-short input point at the cause")
    func consequencesSkipped() throws {
        let result = try Pipeline(stages: [
            bash("s3get", "echo 's3get: error: could not write to standard output: Broken pipe' >&2; exit 4"),
            bash("zcompress", "echo 'zcompress: error: corrupt zstd data at byte 10' >&2; exit 1"),
            bash("rowfmt", "echo 'rowfmt: error: truncated rowstream header' >&2; exit 4"),
        ]).run()
        #expect(result.cause?.name == "zcompress")
        #expect(result.failure == "zcompress (exit status 1): corrupt zstd data at byte 10")
        // Only consequences: the first of them is named.
        let only = try Pipeline(stages: [bash("a", "exit 0"), bash("b", "echo 'b: error: input ended early' >&2; exit 4")]).run()
        #expect(only.failure == "b (exit status 4): input ended early")
    }

    @Test("the commit gate opens only when every earlier stage succeeded", arguments: [true, false])
    func commitGate(earlierSucceeds: Bool) throws {
        let dir = try TemporaryDirectory()
        let marker = dir.path("object")
        let upload = "cat > '\(marker).tmp'; read -r word <&4; if [ \"$word\" = commit ]; then mv '\(marker).tmp' '\(marker)'; else rm '\(marker).tmp'; echo 'aborted' >&2; exit 1; fi"
        let result = try Pipeline(stages: [
            bash("extract", earlierSucceeds ? "echo rows" : "echo partial; exit 3"),
            bash("upload", upload, gate: true),
        ]).run()
        #expect(result.succeeded == earlierSucceeds)
        #expect(FileManager.default.fileExists(atPath: marker) == earlierSucceeds)
        if !earlierSucceeds { #expect(result.failure?.hasPrefix("extract (exit status 3)") == true) }
    }

    @Test("progress lines arrive decoded, the last one kept per stage")
    func progress() throws {
        let lines = LockedLines()
        let pipeline = Pipeline(stages: [
            bash("extract", "for i in 1 2 3; do echo \"{\\\"rows\\\":$i,\\\"bytes\\\":$((i*10))}\" >&3; done; echo '{\"rows\":3,\"bytes\":30,\"done\":true}' >&3", progress: true),
        ])
        pipeline.onProgress = { stage, fields in lines.append("\(stage):\(fields["rows"]?.integer ?? -1)") }
        let result = try pipeline.run()
        #expect(result.succeeded)
        #expect(result.stages[0].lastProgress["done"] == .bool(true))
        #expect(result.stages[0].lastProgress["bytes"]?.integer == 30)
        #expect(lines.all == ["0:1", "0:2", "0:3", "0:3"])
    }

    @Test("a stage's peak memory is its own final line's peak_rss_bytes, not wait4's, which counts the parent's pages shared until exec")
    func ownPeakMemory() throws {
        // A parent holding 256 MB: wait4's ru_maxrss of any child it forks includes them.
        var ballast = [UInt8](repeating: 1, count: 256 << 20)
        for i in stride(from: 0, to: ballast.count, by: 4096) { ballast[i] = 2 }
        let hwm = "$(( $(awk '/^VmHWM:/ { print $2 }' /proc/$$/status) * 1024 ))"
        let result = try Pipeline(stages: [
            bash("silent", "true"),
            bash("reporting", "echo \"{\\\"bytes\\\":0,\\\"peak_rss_bytes\\\":\(hwm),\\\"done\\\":true}\" >&3", progress: true),
        ]).run()
        #expect(result.succeeded)
        let silent = try #require(result.stages[0].usage), reporting = try #require(result.stages[1].usage)
        #expect(silent.peakResidentBytes > 200 << 20, "wait4 counts the parent's pages: \(silent.peakResidentBytes)")
        let reported = try #require(result.stages[1].lastProgress["peak_rss_bytes"]?.integer)
        #expect(reporting.peakResidentBytes == Int(reported))
        #expect(reported > 0 && reported < 64 << 20, "bash's own peak: \(reported)")
        #expect(ballast[4096] == 2)
    }

    @Test("children get default signal dispositions and only their own descriptors")
    func childHygiene() throws {
        let result = try Pipeline(stages: [
            bash("yes", "yes"),
            bash("head", "head -n 1 >/dev/null; ls /proc/self/fd | sort -n | tr '\\n' ' '"),
        ]).run()
        // `yes` must die of SIGPIPE (default disposition), not spin on EPIPE or inherit SIG_IGN.
        #expect(result.stages[0].termination == .signaled(SIGPIPE))
        // 0, 1, 2 and the fd `ls` opens for the directory; nothing inherited from the test process.
        #expect(String(decoding: result.output, as: UTF8.self) == "0 1 2 3 ")
    }

    @Test("secrets travel in the environment, never in argv")
    func environmentOnly() throws {
        let result = try Pipeline(stages: [bash("show", "echo \"$PGPASSWORD\"; tr '\\0' ' ' < /proc/$$/cmdline", env: ["PGPASSWORD": "s3cret"])]).run()
        let lines = String(decoding: result.output, as: UTF8.self).split(separator: "\n")
        #expect(lines.first == "s3cret")
        #expect(!lines.dropFirst().joined().contains("s3cret"))
    }

    @Test("a missing executable is an error naming it")
    func missingExecutable() {
        let stage = Stage(name: "nope", command: Command(executable: "/nonexistent/tool", arguments: [], environment: [:]))
        let error = #expect(throws: (any Error).self) { try Pipeline(stages: [stage]).run() }
        #expect("\(error!)" == "could not run /nonexistent/tool: No such file or directory")
    }

    @Test("shell lines quote arguments for --debug")
    func shellLine() {
        let command = Command(executable: "/usr/bin/s3put", arguments: ["--key", "a b/it's.jsonl.zst"], environment: ["SECRET": "x"])
        #expect(command.shellLine() == "/usr/bin/s3put --key 'a b/it'\\''s.jsonl.zst'")
    }
}

/// Lines appended from another thread.
final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

@Suite("commit conditions")
struct CommitConditionTests {
    @Test("a declined commit condition keeps the gate shut even when every stage succeeded")
    func declined() throws {
        let dir = try TemporaryDirectory()
        let marker = dir.path("object")
        let upload = "cat >/dev/null; read -r word <&4; if [ \"$word\" = commit ]; then touch '\(marker)'; else exit 1; fi"
        for rows in [0, 5] {
            let pipeline = Pipeline(stages: [
                bash("extract", "echo '{\"rows\":\(rows),\"bytes\":1,\"done\":true}' >&3; echo data", progress: true),
                bash("upload", upload, gate: true),
            ])
            pipeline.commitCondition = { progress in (progress[0]["rows"]?.integer ?? 0) > 0 }
            let result = try pipeline.run()
            #expect(pipeline.commitDeclined == (rows == 0))
            #expect(FileManager.default.fileExists(atPath: marker) == (rows > 0))
            #expect(result.succeeded == (rows > 0))
        }
    }
}

@Suite("tee branches")
struct BranchTests {
    /// produce | tee /dev/fd/5 (→ branch) | upload behind a commit gate.
    func teePipeline(produce: String, branch: String, marker: String) -> Pipeline {
        var tee = bash("tee", "exec tee /dev/fd/5")
        let verify = bash("verify", branch)
        tee.branch = Branch(name: verify.name, command: verify.command)
        let upload = "cat > '\(marker).tmp'; read -r word <&4; if [ \"$word\" = commit ]; then mv '\(marker).tmp' '\(marker)'; else rm '\(marker).tmp'; echo aborted >&2; exit 1; fi"
        return Pipeline(stages: [bash("produce", produce), tee, bash("upload", upload, gate: true)])
    }

    @Test("the branch reads every byte the next stage reads")
    func copies() throws {
        let dir = try TemporaryDirectory()
        let marker = dir.path("object")
        let copy = dir.path("copy")
        let result = try teePipeline(produce: "seq 1 200000", branch: "cat > '\(copy)'", marker: marker).run()
        #expect(result.succeeded)
        #expect(result.branches[1]?.termination == .exited(0))
        let expected = try run("/usr/bin/seq", ["1", "200000"]).stdout
        #expect(FileManager.default.contents(atPath: marker) == expected)
        #expect(FileManager.default.contents(atPath: copy) == expected)
    }

    @Test("a failing branch keeps the commit gate shut and is named as the cause", arguments: [false, true])
    func failingBranch(early: Bool) throws {
        let dir = try TemporaryDirectory()
        let marker = dir.path("object")
        // Early: the branch stops reading at once (the tee then dies of SIGPIPE); late: it reads all, then fails.
        let branch = early ? "echo 'verify: error: bad header' >&2; exit 1"
                           : "cat >/dev/null; echo 'verify: error: truncated' >&2; exit 1"
        let result = try teePipeline(produce: "seq 1 200000", branch: branch, marker: marker).run()
        #expect(!result.succeeded)
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(result.failure == "verify (exit status 1): \(early ? "bad header" : "truncated")", "\(result.failure ?? "")")
    }

    @Test("a failing first stage is named before the branch that saw a short stream")
    func producerFirst() throws {
        let dir = try TemporaryDirectory()
        let marker = dir.path("object")
        let result = try teePipeline(produce: "seq 1 1000; echo 'dump: error: lost connection' >&2; exit 1",
                                     branch: "cat >/dev/null; exit 1", marker: marker).run()
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(result.failure == "produce (exit status 1): dump: error: lost connection")
    }
}
