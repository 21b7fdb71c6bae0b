import ArchiveCache
import ArchiveLayout
import ArchiverConfig
import FoundationEssentials
import ToolSupport
#if canImport(Glibc)
import Glibc
#endif
import Pipelines
import RunDisplay
import SlicePlan

extension ArchiveRun {
    /// The stages that turn one slice into one object.
    func stages(for work: SliceWork, schemaHash: String) -> [Stage] {
        let extract = Stage(name: "pg-extract", command: invocation.command("pg-extract", ["--plan", work.planJSON] + invocation.connectionArguments))
        var put = uploadArguments + ["--key", work.key, "--metadata", "pgarchive-schema=\(schemaHash)"]
        if let disk = work.plan.diskBytes, disk > 0 { put += ["--size-hint", String(2 * disk)] }
        if config.dryRun {
            put.append("--dry-run")
        } else if comparesFirst(work) {
            // Level 2: only compare; a slice that differs runs again as an upload (process).
            put.append("--compare")
        }
        return [extract] + formatStages(framed: false)
            + [Stage(name: "s3put", command: invocation.command("s3put", put), commitGate: !config.dryRun)]
    }

    /// rowfmt (and zcompress) for the run's format and codec; `framed` adds `--framed`.
    func formatStages(framed: Bool) -> [Stage] {
        let mode = framed ? ["--framed"] : []
        let format = config.outputFormat
        if format == .parquet {
            var args = mode + ["--from", "rowstream", "--to", "parquet", "--compression", config.compression == "none" ? "none" : config.compression,
                               "--chunk-size", String(config.chunkSize)]
            if config.compression != "none" { args += ["--compression-level", String(config.compressionLevel)] }
            if config.specialValuesAsText { args.append("--special-values-as-text") }
            return [Stage(name: "rowfmt", command: invocation.command("rowfmt", args))]
        }
        var stages = [Stage(name: "rowfmt", command: invocation.command("rowfmt", mode + ["--from", "rowstream", "--to", format.rawValue,
                                                                                       "--chunk-size", String(config.chunkSize)]))]
        if config.compression != "none" {
            stages.append(Stage(name: "zcompress", command: invocation.command("zcompress", mode + [
                config.compression, "-l", String(config.compressionLevel), "-T", String(coresPerWorker)])))
        }
        return stages
    }

    /// s3put's options for a slice's object, either form. Each worker's s3put holds at most two
    /// parts and never spools: a slice up to two parts is one PUT from those buffers, a larger one
    /// a multipart upload. Parts are S3's minimum, 5 MiB, so memory does not grow with partition
    /// size; the size hint (twice the slice's rows on disk: an object rarely outgrows them) makes
    /// s3put use larger parts only for a slice that might otherwise need more than 10,000 of them
    /// (above ~24 GiB on disk).
    var uploadArguments: [String] {
        invocation.putArguments + ["--part-size", "5MiB", "--multipart-threshold", "10MiB", "--concurrency", "2"]
    }

    /// The manifest of a slice just stored (docs/manifest.md); nil without pg-extract's digest.
    func manifest(for work: SliceWork, upload: UploadResult, rows: Int64, digest: Pipelines.JSONValue?, schemaHash: String) -> SliceManifest? {
        guard case .string(let hex)? = digest else { return nil }
        var m = SliceManifest()
        m.key = work.key
        m.table = config.dbSchema + "." + work.plan.table
        m.window = work.plan.windowText
        m.format = config.outputFormat.rawValue
        m.codec = config.compression
        m.rows = rows
        m.digest = hex
        m.etag = upload.etag
        m.size = upload.size
        m.partSize = upload.isMultipart ? upload.partSize : 0
        m.schemaHash = schemaHash
        m.created = .now()
        m.open = work.plan.open
        return m
    }

    /// Whether the slice is first only compared with its object: the object exists but the
    /// cache does not know it. Comparing keeps nothing, so no temporary file ever holds a slice;
    /// a slice that differs is produced a second time to upload it.
    func comparesFirst(_ work: SliceWork) -> Bool { work.ifDifferent && !config.dryRun }

    /// Runs one slice's pipeline and records what happened.
    func process(_ work: SliceWork, worker: Int, schemaHash: String) {
        let stem = work.plan.stem
        let stages = stages(for: work, schemaHash: schemaHash)
        if config.debug {
            let line = stages.map { invocation.mask($0.command.shellLine()) + ($0.reportsProgress ? " --progress-fd 3" : "") }
                .joined(separator: " | ")
            display.log(.debug, "pipeline", [("slice", stem), ("command", line)])
        }
        let pipeline = Pipeline(stages: stages)
        guard register(pipeline) else { return }
        defer { unregister(pipeline) }
        display.setWorker(worker, WorkerState(slice: stem, stage: "querying", expectedRows: work.expectedRows,
                                              started: Double(monotonicNanosecondsNow()) / 1e9))
        task { t in
            t.currentPartition = stem
            t.currentStep = "querying"
            t.currentSliceDate = work.plan.label
        }
        publishWorkers(force: true)
        defer { publishWorkers(force: true) }
        let last = stages.count - 1
        // The real stage, from the tools themselves (StageWatch, docs/progress.md): the busiest
        // tool by its CPU in /proc, else the one waiting on PostgreSQL or the store.
        let watch = StageWatch(pipeline: pipeline, tools: stages.map(\.name), direction: .archive(comparing: comparesFirst(work))) {
            [display, self] next in
            display.updateWorker(worker, stage: next)
            self.task { $0.currentPartition = stem; $0.currentStep = next }
            self.publishWorkers(force: true)
        }
        watch.start()
        defer { watch.stop() }
        pipeline.onProgress = { [display, self] stage, fields in
            if logRetryEvent(display, stage: stages[stage].name, fields: fields, context: [("slice", stem)]) { return }
            if stage == 0 { display.updateWorker(worker, rows: fields["rows"]?.integer) }
            // The formatted bytes flow steadily (a slow compressor emits its frames in bursts).
            if stage == 1 { display.updateWorker(worker, streamedBytes: fields["bytes"]?.integer) }
            if stage == last { display.updateWorker(worker, uploadedBytes: fields["bytes"]?.integer) }
            watch.progress(stage: stage, fields: fields)
            self.publishWorkers()
        }
        pipeline.onErrorLine = { [display, invocation] stage, line in
            display.log(stderrLevel(line), invocation.mask(line), [("slice", stem), ("stage", stages[stage].name)])
        }
        // No object for a slice without rows.
        pipeline.commitCondition = { progress in (progress[0]["rows"]?.integer ?? 1) > 0 }
        let result: PipelineResult
        do {
            result = try pipeline.run()
            watch.stop()
            account(result)
        } catch {
            watch.stop()
            display.setWorker(worker, nil)
            fail(stem, key: work.key, stage: "start", message: "\(error)")
            return
        }
        display.setWorker(worker, nil)
        let rows = result.stages[0].lastProgress["rows"]?.integer ?? 0
        // Parquet compresses inside the file: rowfmt reports what its pages held before that.
        let uncompressed = result.stages[1].lastProgress["uncompressed_bytes"]?.integer ?? result.stages[1].lastProgress["bytes"]?.integer
        if isStopping && !result.succeeded { return }
        if pipeline.commitDeclined && result.stages.dropLast().allSatisfy({ $0.termination.succeeded }) {
            concludeEmpty(work)
            return
        }
        guard result.succeeded else {
            let failedStage = result.cause?.name ?? "pipeline"
            fail(stem, key: work.key, stage: failedStage, message: result.failure ?? "failed")
            if result.refusedCredentials { stopForRefusedCredentials() }
            return
        }
        let line = String(decoding: result.output, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        var upload: UploadResult
        do {
            upload = try UploadResult.parse(Array(line.utf8), source: "s3put result for \(stem)")
        } catch {
            fail(stem, key: work.key, stage: "s3put", message: "\(error)")
            return
        }
        conclude(work, worker: worker, schemaHash: schemaHash, upload: upload, rows: rows,
                 digest: result.stages[0].lastProgress["digest"], uncompressed: uncompressed)
    }

    /// Records a slice whose pipeline declined to store an object: it has no rows.
    func concludeEmpty(_ work: SliceWork) {
        let stem = work.plan.stem
        _ = try? cache.updateEntry(scope, key: work.key) { entry in
            entry.s3Key = work.key
            entry.rowCount = 0
            entry.countTime = .now()
        }
        display.log(.info, "empty slice: no object written", [("slice", stem)])
        display.completed("empty     \(stem)", bytes: 0, rows: 0)
        record(.empty, rows: 0, bytes: 0)
    }

    /// Records a slice whose object was stored (or found identical, or compared, or dry-run):
    /// manifest, cache entry, log and display, either pipeline form.
    /// `storeManifest` stores the manifest (default: one s3put of its own).
    func conclude(_ work: SliceWork, worker: Int, schemaHash: String, upload: UploadResult, rows: Int64,
                  digest: Pipelines.JSONValue?, uncompressed: Int64?,
                  storeManifest: ((SliceManifest, String) throws -> Void)? = nil) {
        let stem = work.plan.stem
        var upload = upload
        if upload.compared && !upload.skipped, let stored = upload.incomparable,
           case .string(let digestText)? = digest {
            // Level 2 when the object's ETag is no MD5 (SSE-KMS, SSE-C) or cannot be recomputed
            // (a multipart object without its part size): its manifest decides.
            let slice = ProducedSlice(key: work.key, window: work.plan.windowText, format: config.outputFormat.rawValue, codec: config.compression,
                                      schemaHash: schemaHash, rows: rows, digest: digestText, size: upload.size)
            let manifestKey = ArchiveLayout.manifestKey(template: config.pathTemplate!, table: work.plan.table, objectKey: work.key)
            let found = Result { try invocation.fetchManifest(key: manifestKey) }
            let why: String
            switch found {
            case .success(let manifest?):
                if let mismatch = manifest.mismatch(storedSize: stored.size, storedETag: stored.etag, slice: slice) {
                    why = mismatch
                } else {
                    why = ""
                    upload.skipped = true
                    upload.etag = manifest.etag
                    upload.partSize = manifest.partSize
                    upload.parts = manifest.partSize > 0 ? (manifest.size + manifest.partSize - 1) / manifest.partSize : 0
                }
            case .success(nil): why = "it has no manifest"
            case .failure(let error): why = "\(error)"
            }
            display.log(.info, why.isEmpty ? "the object cannot be compared by its ETag (SSE-KMS, SSE-C): its manifest records the slice's rows, digest and size"
                                            : "the object cannot be compared by its ETag (SSE-KMS, SSE-C, unknown part size) and its manifest does not settle it: \(why)",
                        [("slice", stem), ("key", work.key)])
        }
        if upload.compared && !upload.skipped {
            display.log(.info, "the stored object differs: producing the slice again to replace it", [("slice", stem), ("key", work.key)])
            var again = work
            again.ifDifferent = false
            process(again, worker: worker, schemaHash: schemaHash)
            return
        }
        if config.dryRun {
            display.log(.info, "dry run: not uploaded", [("slice", stem), ("key", work.key), ("size", "\(upload.size)"),
                                                         ("md5", upload.md5), ("etag", upload.etag), ("rows", "\(rows)")])
            display.completed("dry-run   \(stem)  \(formatBytes(upload.size))", bytes: upload.size, rows: rows)
            record(.dryRun, rows: rows, bytes: upload.size)
            reportLate(work, rows: rows, outcome: .dryRun)
            return
        }
        // The manifest: what the object holds, known only now that the stream has ended. It is
        // stored before the cache learns of the object, so a run that fails in between finds the
        // object unknown next time, compares it and writes the manifest then.
        guard let manifest = manifest(for: work, upload: upload, rows: rows, digest: digest, schemaHash: schemaHash) else {
            fail(stem, key: work.key, stage: "pg-extract", message: "pg-extract reported no row digest on its final progress line")
            record(.failed, rows: 0, bytes: 0)
            return
        }
        let manifestKey = ArchiveLayout.manifestKey(template: config.pathTemplate!, table: work.plan.table, objectKey: work.key)
        do {
            // An unchanged object (found identical) keeps a manifest that already says the same.
            let stored = upload.skipped ? try? invocation.fetchManifest(key: manifestKey) : nil
            if stored.map({ !$0.sameContent(as: manifest) }) ?? true {
                if let storeManifest {
                    try storeManifest(manifest, manifestKey)
                } else {
                    try invocation.storeManifest(manifest, key: manifestKey) { [display, invocation] line in
                        display.log(stderrLevel(line), invocation.mask(line), [("slice", stem), ("stage", "s3put")])
                    }
                }
            }
        } catch {
            fail(stem, key: work.key, stage: "manifest", message: "\(error)")
            record(.failed, rows: 0, bytes: 0)
            if (error as? OrchestratorError)?.status == .authentication { stopForRefusedCredentials() }
            return
        }
        let exactRows = work.plan.open ? nil : rows
        do {
            _ = try cache.updateEntry(scope, key: work.key) { entry in
                upload.apply(to: &entry, now: .now(), rowCount: exactRows, uncompressedSize: uncompressed, processStart: started)
                entry.describe(by: manifest)
            }
        } catch {
            display.log(.warn, "could not record the result in the cache: \(error)", [("slice", stem)])
        }
        let verb = upload.skipped ? "unchanged" : "uploaded "
        display.log(.info, upload.skipped ? "object already identical" : "uploaded",
                    [("slice", stem), ("key", work.key), ("rows", "\(rows)"), ("size", "\(upload.size)"), ("etag", upload.etag)])
        display.completed("\(verb) \(stem)  \(formatBytes(upload.size))  \(rows) rows", bytes: upload.size, rows: rows)
        record(upload.skipped ? .skipped : .uploaded, rows: rows, bytes: upload.skipped ? 0 : upload.size)
        reportLate(work, rows: rows, outcome: upload.skipped ? .skipped : .uploaded)
    }
}

/// Nanoseconds of the monotonic clock.
func monotonicNanosecondsNow() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
