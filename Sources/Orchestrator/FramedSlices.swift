import ArchiveCache
import ArchiverConfig
import FoundationEssentials
import Pipelines
import RunDisplay
import SlicePlan
import ToolSupport
#if canImport(Glibc)
import Glibc
#endif

/// Small slices through one long-lived framed pipeline per worker (docs/framing.md): the four
/// tools start once and keep one PostgreSQL connection, instead of four processes and a new
/// connection per slice.
enum FramedSlices {
    /// A slice whose plan estimates at most this many bytes on disk goes through the worker's
    /// framed pipeline; a bigger one (or one of unknown size) runs its own pipeline, where the
    /// process starts are a small share of its cost. `PGARCHIVE_FRAMED_MAX_BYTES` overrides it
    /// (0: never framed).
    static let defaultMaximumBytes: Int64 = 8 << 20

    /// The threshold in effect for a run with `environment`.
    static func maximumBytes(_ environment: [String: String]) -> Int64 {
        environment["PGARCHIVE_FRAMED_MAX_BYTES"].flatMap { Int64($0) } ?? defaultMaximumBytes
    }
}

extension ArchiveRun {
    /// Whether `work` goes through a framed pipeline: small by its plan's estimate, and a plain
    /// upload (an object the run must compare first, and dry runs, keep the one-slice form).
    func isFramed(_ plan: Slice, ifDifferent: Bool, maximumBytes: Int64) -> Bool {
        guard maximumBytes > 0, !config.dryRun, !ifDifferent, let disk = plan.diskBytes else { return false }
        return disk <= maximumBytes
    }

    /// The stages of a worker's framed pipeline.
    func framedStages() -> [Stage] {
        [Stage(name: "pg-extract", command: invocation.command("pg-extract", ["--framed"] + invocation.connectionArguments))]
            + formatStages(framed: true)
            + [Stage(name: "s3put", command: invocation.command("s3put", ["--framed"] + uploadArguments), commitGate: true)]
    }
}

/// One worker's framed pipeline: started on first use, fed one slice at a time, restarted after
/// it dies (the slice in flight failing with the cause), closed at the end.
final class FramedWorker: @unchecked Sendable {
    private unowned let run: ArchiveRun
    private let worker: Int
    private let schemaHash: String
    private var live: LivePipeline?
    /// Where the manifests go: one framed s3put shared by the workers.
    private let manifests: FramedManifests
    private var served = 0

    init(run: ArchiveRun, worker: Int, schemaHash: String, manifests: FramedManifests) {
        self.run = run
        self.worker = worker
        self.schemaHash = schemaHash
        self.manifests = manifests
    }

    /// Archives one slice through the pipeline (starting it if needed).
    func serve(_ work: SliceWork) {
        let stem = work.plan.stem
        let display = run.display
        if live == nil {
            do {
                live = try LivePipeline(run: run, worker: worker, stages: run.framedStages())
            } catch {
                run.fail(stem, key: work.key, stage: "start", message: "\(error)")
                return
            }
        }
        guard let live else { return }
        served += 1
        let id = "\(served)"
        live.expect(frame: id, stem: stem)
        display.setWorker(worker, WorkerState(slice: stem, stage: "extracting", expectedRows: work.expectedRows,
                                              started: Double(monotonicNanosecondsNow()) / 1e9))
        run.task { t in
            t.currentPartition = stem
            t.currentStep = "extracting"
            t.currentSliceDate = work.plan.label
        }
        run.publishWorkers(force: true)
        defer {
            display.setWorker(worker, nil)
            run.publishWorkers(force: true)
        }
        var request = "{\"id\":\(JSON.quote(id)),\"key\":\(JSON.quote(work.key)),\"metadata\":{\"pgarchive-schema\":\(JSON.quote(schemaHash))}"
        if let disk = work.plan.diskBytes, disk > 0 { request += ",\"size_hint\":\(2 * disk)" }
        request += ",\"plan\":\(work.planJSON)}\n"
        // The verdict: as the one-slice form's commit condition, no object for a slice without rows.
        let line = live.send(request) { extract in
            extract["error"] == nil && (extract["rows"]?.integer ?? 1) > 0
        }
        guard let line else {
            // The pipeline died: the slice in flight fails with the cause; the next slice starts a new one.
            let result = live.finish()
            self.live = nil
            if run.isStopping { return }
            // The cause's own last error, unless that was an earlier frame's (`frame N: …`, confined
            // to that frame and reported with it).
            var message = "the framed pipeline ended early"
            if let cause = result?.cause {
                message = "\(cause.name) (\(cause.termination))"
                if let own = cause.errorMessage, !own.hasPrefix("frame ") { message += ": " + own }
            }
            run.fail(stem, key: work.key, stage: result?.cause?.name ?? "pipeline", message: message)
            if result?.refusedCredentials == true { run.stopForRefusedCredentials() }
            return
        }
        let progress = live.progress(frame: id)
        let fields = (try? FlatJSON.object(Array(line.utf8), what: "s3put's result line")) ?? [:]
        if let error = fields["error"]?.string {
            if fields["declined"]?.bool == true, progress[0]["error"] == nil {
                run.concludeEmpty(work)
            } else {
                let stage = fields["stage"]?.string ?? "pipeline"
                run.fail(stem, key: work.key, stage: stage, message: "\(stage): \(error)")
            }
            return
        }
        let upload: UploadResult
        do {
            upload = try UploadResult.parse(Array(line.utf8), source: "s3put result for \(stem)")
        } catch {
            run.fail(stem, key: work.key, stage: "s3put", message: "\(error)")
            return
        }
        let rows = progress[0]["rows"]?.integer ?? 0
        let uncompressed = progress[1]["uncompressed_bytes"]?.integer ?? progress[1]["bytes"]?.integer
        run.conclude(work, worker: worker, schemaHash: schemaHash, upload: upload, rows: rows, digest: progress[0]["digest"],
                     uncompressed: uncompressed) { [self] manifest, key in try storeManifest(manifest, key: key) }
    }

    private func storeManifest(_ manifest: SliceManifest, key: String) throws {
        try manifests.store(manifest, key: key, worker: worker)
    }

    /// Ends the pipeline after its last slice (end of requests: every tool exits 0).
    func close() {
        if let result = live?.finish(), !result.succeeded, !run.isStopping {
            run.display.log(.warn, "a framed pipeline ended with an error after its last slice",
                            [("worker", "\(worker + 1)"), ("error", run.invocation.mask(result.failure ?? ""))])
        }
        live = nil
    }
}

/// The manifests of the framed slices, through one framed s3put shared by the workers (one
/// process for the run, not one per slice): started on first use, restarted after it died, one
/// whole frame per manifest, so a run killed half-way leaves no manifest half-written.
final class FramedManifests: @unchecked Sendable {
    private unowned let run: ArchiveRun
    private let lock = Lock()
    private var live: LivePipeline?
    private var sent = 0

    init(run: ArchiveRun) { self.run = run }

    /// Stores `manifest` at `key` (after its data object: the caller's order).
    func store(_ manifest: SliceManifest, key: String, worker: Int) throws {
        lock.lock()
        defer { lock.unlock() }
        if live == nil {
            let stage = Stage(name: "s3put", command: run.invocation.command("s3put", ["--framed"] + run.invocation.putArguments
                                                                                 + ["--content-type", "application/json"]),
                              reportsProgress: false)
            live = try LivePipeline(run: run, worker: worker, stages: [stage])
        }
        guard let live else { return }
        sent += 1
        let body = manifest.json.bytes(pretty: false) + [10]
        if let line = live.sendFrame(id: "m\(sent)", key: key, body: body) {
            let fields = (try? FlatJSON.object(Array(line.utf8), what: "s3put's result line")) ?? [:]
            if let error = fields["error"]?.string { throw OrchestratorError("could not store the manifest \(key): \(error)") }
            return
        }
        let result = live.finish()
        self.live = nil
        throw OrchestratorError("could not store the manifest \(key): \(result?.failure ?? "the manifests' s3put ended early")")
    }

    /// Ends the s3put after the last manifest.
    func close() {
        lock.lock()
        defer { lock.unlock() }
        if let result = live?.finish(), !result.succeeded, !run.isStopping {
            run.display.log(.warn, "the manifests' framed s3put ended with an error", [("error", run.invocation.mask(result.failure ?? ""))])
        }
        live = nil
    }
}

/// A running framed pipeline: requests in, result lines out, per-frame progress.
private final class LivePipeline: @unchecked Sendable {
    let pipeline: Pipeline
    private let requests: Int32
    private let results: FileSource
    private let lines: LineSource
    private let condition = Condition()
    private var gate: Int32 = -1
    private var started = false
    private var ended = false
    private var outcome: PipelineResult?
    private var startError: (any Error)?
    /// Per frame, each stage's last progress line.
    private var frames: [String: [[String: Pipelines.JSONValue]]] = [:]
    private var current: (id: String, stem: String)?
    private var magicSent = false
    private let stageCount: Int
    private unowned let run: ArchiveRun

    /// Starts `stages` (the first reads requests or a framed stream from us, the last writes
    /// one result line per frame).
    init(run: ArchiveRun, worker: Int, stages: [Stage]) throws {
        self.run = run
        stageCount = stages.count
        pipeline = Pipeline(stages: stages)
        let input = try makePipe()
        let output = try makePipe()
        requests = input.write
        results = FileSource(fd: output.read, name: "the framed pipeline's results", ownsDescriptor: true)
        lines = LineSource(results)
        let display = run.display
        if run.config.debug {
            display.log(.debug, "framed pipeline", [("worker", "\(worker + 1)"), ("command", stages.map {
                run.invocation.mask($0.command.shellLine()) + ($0.reportsProgress ? " --progress-fd 3" : "") + ($0.commitGate ? " --commit-fd 4" : "")
            }.joined(separator: " | "))])
        }
        pipeline.onErrorLine = { [invocation = run.invocation] stage, line in
            display.log(stderrLevel(line), invocation.mask(line), [("worker", "\(worker + 1)"), ("stage", stages[min(stage, stages.count - 1)].name)])
        }
        let last = stages.count - 1
        pipeline.onProgress = { [self] stage, fields in
            if fields["event"] != nil {
                // A retry names the slice whose frame it belongs to, as in the one-slice form.
                condition.lock()
                // One frame is in flight at a time (serve waits for its result line).
                let inFlight = current.flatMap { current in fields["frame"].map { $0 == .string(current.id) } ?? true ? current.stem : nil }
                condition.unlock()
                let context = [("worker", "\(worker + 1)")] + (inFlight.map { [("slice", $0)] } ?? [])
                if logRetryEvent(display, stage: stages[stage].name, fields: fields, context: context) { return }
            }
            guard case .string(let frame)? = fields["frame"] else { return }
            condition.lock()
            frames[frame, default: Array(repeating: [:], count: stageCount)][stage] = fields
            let slice = current?.id == frame ? current?.stem : nil
            condition.broadcast()
            condition.unlock()
            guard let slice else { return }
            if stage == 0 { display.updateWorker(worker, rows: fields["rows"]?.integer) }
            if stage == 1 { display.updateWorker(worker, streamedBytes: fields["bytes"]?.integer) }
            var next: String?
            if stage == last {
                display.updateWorker(worker, uploadedBytes: fields["bytes"]?.integer)
                next = fields["done"] == .bool(true) ? "finishing" : "uploading"
            } else if stage == 0, fields["done"] == .bool(true) {
                next = "compressing"
            }
            if let next {
                display.updateWorker(worker, stage: next)
                run.task { $0.currentPartition = slice; $0.currentStep = next }
            }
            run.publishWorkers()
        }
        pipeline.onGateOpened = { [self] fd in
            condition.lock()
            gate = fd
            started = true
            condition.broadcast()
            condition.unlock()
        }
        guard run.register(pipeline) else {
            close(input.read); close(input.write); close(output.write)
            throw OrchestratorError("the run is stopping")
        }
        let spawned = spawnThread { [self] in
            var result: PipelineResult?
            var failure: (any Error)?
            do { result = try pipeline.run(stdin: input.read, stdout: output.write) } catch { failure = error }
            close(input.read)
            close(output.write)
            condition.lock()
            outcome = result
            startError = failure
            ended = true
            started = true
            condition.broadcast()
            condition.unlock()
        }
        guard spawned else {
            run.unregister(pipeline)
            throw OrchestratorError("could not start a thread for the framed pipeline")
        }
        // With a commit gate, wait for it (and for a failed start); without, a failed start shows
        // as the pipeline's end at the first request.
        condition.lock()
        while !started && stages.contains(where: \.commitGate) { condition.wait() }
        let failure = startError
        condition.unlock()
        if let failure {
            close(requests)
            run.unregister(pipeline)
            throw failure
        }
    }

    /// Notes the frame about to be requested (for the worker's display).
    func expect(frame: String, stem: String) {
        condition.lock()
        current = (frame, stem)
        condition.unlock()
    }

    /// Sends one request, gives the verdict once pg-extract's final line for the frame is in
    /// (`commit` when `verdict` says so), and returns the frame's result line; nil when the
    /// pipeline died first.
    func send(_ request: String, verdict: ([String: Pipelines.JSONValue]) -> Bool) -> String? {
        guard let id = current?.id else { return nil }
        var bytes = Array(request.utf8)
        guard writeAll(requests, &bytes) else { return nil }
        condition.lock()
        while frames[id]?[0]["done"] != .bool(true) && !ended { condition.wait() }
        let extract = frames[id]?[0] ?? [:]
        let dead = ended && extract["done"] != .bool(true)
        let fd = gate
        condition.unlock()
        if dead { return nil }
        var answer = Array((verdict(extract) ? "commit\n" : "abort\n").utf8)
        guard writeAll(fd, &answer) else { return nil }
        guard let line = try? lines.next() else { return nil }
        // Every stage writes one final line per frame before its frame end; wait briefly for
        // the progress reader to have taken them (rowfmt's sizes, s3put's last bytes).
        let deadline = monotonicNanosecondsNow() + 2_000_000_000
        condition.lock()
        while (frames[id] ?? []).contains(where: { $0["done"] != .bool(true) }) && !ended && monotonicNanosecondsNow() < deadline {
            condition.unlock()
            usleep(1000)
            condition.lock()
        }
        condition.unlock()
        return String(decoding: line, as: UTF8.self)
    }

    /// Sends one whole frame (the stream's magic first) and returns its result line; nil when
    /// the pipeline died first.
    func sendFrame(id: String, key: String, body: [UInt8]) -> String? {
        func record(_ kind: Character, _ payload: [UInt8]) -> [UInt8] {
            let n = UInt32(payload.count)
            return [kind.asciiValue!, UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + payload
        }
        var bytes = magicSent ? [] : Framing.magic
        magicSent = true
        bytes += record("H", Array("{\"id\":\(JSON.quote(id)),\"key\":\(JSON.quote(key))}".utf8))
        bytes += record("D", body)
        bytes += record("E", FrameEnd.success(stage: "data-archiver", figures: [:]).json)
        guard writeAll(requests, &bytes), let line = try? lines.next() else { return nil }
        return String(decoding: line, as: UTF8.self)
    }

    /// The last progress line of each stage for `frame` (forgotten afterwards).
    func progress(frame: String) -> [[String: Pipelines.JSONValue]] {
        condition.lock()
        defer { condition.unlock() }
        let found = frames.removeValue(forKey: frame) ?? Array(repeating: [:], count: stageCount)
        return found
    }

    /// Closes the requests (the tools finish and exit) and waits for the pipeline's end.
    func finish() -> PipelineResult? {
        close(requests)
        condition.lock()
        let fd = gate
        gate = -1
        condition.unlock()
        if fd >= 0 { close(fd) }
        condition.lock()
        while !ended { condition.wait() }
        let result = outcome
        condition.unlock()
        run.unregister(pipeline)
        if let result { run.account(result) }
        return result
    }

    private func writeAll(_ fd: Int32, _ bytes: inout [UInt8]) -> Bool {
        guard fd >= 0 else { return false }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}
