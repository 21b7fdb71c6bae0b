import Testing
@testable import RunDisplay

@Suite("the stage a worker shows")
struct WorkerStageTests {
    typealias S = WorkerStage.Stage
    let verbs = ["extracting", "formatting", "compressing", "uploading"]

    func stages(_ demand: [Double], ended: Set<Int> = [], onPipe: Set<Int> = []) -> [S] {
        demand.indices.map { S(verb: verbs[$0], demand: demand[$0], ended: ended.contains($0), onPipe: onPipe.contains($0)) }
    }

    @Test("querying before the first row, finishing when every stage ended")
    func ends() {
        #expect(WorkerStage.name(stages([0.9, 0, 0, 0]), firstOutput: false, waiting: "querying") == "querying")
        #expect(WorkerStage.name(stages([0, 0, 0, 0], ended: [0, 1, 2, 3]), firstOutput: true, waiting: "querying") == "finishing")
    }

    @Test("the busiest running stage wins: a compressor that dominates reads compressing while pg-extract still runs")
    func busiest() {
        // pg-extract is blocked writing into a full pipe; zcompress uses a core.
        let s = stages([0.02, 0.05, 1.0, 0.01], onPipe: [0, 1, 3])
        #expect(WorkerStage.name(s, firstOutput: true, waiting: "querying") == "compressing")
        // On a loaded machine demand still counts the time a stage waited for a CPU.
        #expect(WorkerStage.name(stages([0.1, 0.2, 0.4, 0.0]), firstOutput: true, waiting: "querying") == "compressing")
        #expect(WorkerStage.name(stages([0.9, 0.5, 0.3, 0.0]), firstOutput: true, waiting: "querying") == "extracting")
        // An ended stage never shows, however busy its last interval was.
        #expect(WorkerStage.name(stages([1.0, 0.6, 0.1, 0.0], ended: [0]), firstOutput: true, waiting: "querying") == "formatting")
    }

    @Test("nothing busy: the first stage waiting on something other than a pipe")
    func idle() {
        // PostgreSQL is slow to send rows: pg-extract waits on its socket, the rest on pipes.
        #expect(WorkerStage.name(stages([0.05, 0.01, 0.01, 0], onPipe: [1, 2, 3]), firstOutput: true, waiting: "q") == "extracting")
        // The store is slow: everything upstream blocks writing, s3put waits for the server.
        #expect(WorkerStage.name(stages([0, 0, 0, 0.02], onPipe: [0, 1, 2]), firstOutput: true, waiting: "q") == "uploading")
        #expect(WorkerStage.name(stages([0, 0, 0, 0.02], ended: [0, 1, 2]), firstOutput: true, waiting: "q") == "uploading")
        // Everyone on a pipe for a moment: the first running stage.
        #expect(WorkerStage.name(stages([0, 0, 0, 0], ended: [0], onPipe: [1, 2, 3]), firstOutput: true, waiting: "q") == "formatting")
    }

    @Test("the archive's verbs, with s3put's part under way")
    func archiveVerbs() {
        #expect(WorkerStage.archiveVerb(tool: "zcompress") == "compressing")
        #expect(WorkerStage.archiveVerb(tool: "s3put") == "uploading")
        #expect(WorkerStage.archiveVerb(tool: "s3put", partsAcknowledged: 2) == "uploading part 3")
        #expect(WorkerStage.archiveVerb(tool: "s3put", comparing: true, partsAcknowledged: 2) == "comparing")
        #expect(WorkerStage.archiveVerb(tool: "pg-extract") == "extracting")
        #expect(["s3get", "zcompress", "rowfmt", "pg-load"].map(WorkerStage.restoreVerb) == ["downloading", "decompressing", "decoding", "loading"])
        #expect(WorkerStage.archiveVerb(tool: "s3put", partsAcknowledged: 6, allAcknowledged: true) == "completing upload")
    }
}
