/// The stage a worker shows, derived from the tools themselves (docs/progress.md, "The stage a
/// worker shows"): the one rule behind the terminal display and the viewer, which both show
/// `WorkerState.stage`.
///
/// The orchestrator measures, for every running stage of a slice's pipeline, its CPU demand
/// over the last interval (time on a CPU plus time runnable but waiting for one, all threads:
/// `/proc/PID/task/*/schedstat`), so a busy tool counts as busy even on a loaded machine while a
/// tool blocked on a pipe, a socket or PostgreSQL counts as idle; and where an idle tool sleeps
/// (`/proc/PID/wchan`): on one of the pipeline's pipes, or on something outside it.
public enum WorkerStage {
    /// One stage of the pipeline at one moment.
    public struct Stage: Sendable, Equatable {
        /// What the stage does, as shown ("extracting", "compressing", "uploading part 3", …).
        public var verb: String
        /// CPU demand over the last interval, in CPUs (1.0: one core all the time).
        public var demand: Double
        /// Whether it finished (its final progress line came, or it exited).
        public var ended: Bool
        /// Whether it sleeps reading or writing a pipe (waits for a neighbour, not for the world).
        public var onPipe: Bool

        /// A stage's state.
        public init(verb: String, demand: Double, ended: Bool, onPipe: Bool = false) {
            self.verb = verb
            self.demand = demand
            self.ended = ended
            self.onPipe = onPipe
        }
    }

    /// The demand above which a stage counts as working (a third of a core).
    public static let busyDemand = 0.33

    /// The stage to show:
    /// 1. `waiting` (e.g. "querying") while the first stage runs and has produced nothing yet;
    /// 2. "finishing" once every stage ended (the manifest and the cache are written then);
    /// 3. else the running stage with the highest demand, when it is at least `busyDemand`;
    /// 4. else no tool is busy and the work is outside them (PostgreSQL producing rows, the store
    ///    taking a part): the first running stage that sleeps on something other than a pipe —
    ///    pg-extract waiting for PostgreSQL, s3put for the store — or, when every one sleeps on a
    ///    pipe (a moment between two reads), the first running stage.
    public static func name(_ stages: [Stage], firstOutput: Bool, waiting: String) -> String {
        guard let first = stages.first else { return waiting }
        if !first.ended && !firstOutput { return waiting }
        let running = stages.filter { !$0.ended }
        guard let head = running.first else { return "finishing" }
        if let busiest = running.max(by: { $0.demand < $1.demand }), busiest.demand >= busyDemand { return busiest.verb }
        return (running.first { !$0.onPipe } ?? head).verb
    }

    /// The verb of an archive pipeline's stage by its tool: pg-extract "extracting", rowfmt
    /// "formatting", zcompress "compressing", s3put "uploading part N" (N: the part after those
    /// acknowledged, from its progress lines' `parts`; "uploading" for a single PUT),
    /// "completing upload" once the store acknowledged every byte it was given and the
    /// stage before it ended (the multipart upload is being completed and checked), or
    /// "comparing" (`--compare`).
    public static func archiveVerb(tool: String, comparing: Bool = false, partsAcknowledged: Int64? = nil,
                                   allAcknowledged: Bool = false) -> String {
        switch tool {
        case "pg-extract": "extracting"
        case "rowfmt": "formatting"
        case "zcompress": "compressing"
        case "s3put" where comparing: "comparing"
        case "s3put" where allAcknowledged: "completing upload"
        case "s3put": partsAcknowledged.map { "uploading part \($0 + 1)" } ?? "uploading"
        default: tool
        }
    }

    /// The verb of a restore pipeline's stage by its tool: s3get "downloading", zcompress
    /// "decompressing", rowfmt "decoding", pg-load "loading".
    public static func restoreVerb(tool: String) -> String {
        switch tool {
        case "s3get": "downloading"
        case "zcompress": "decompressing"
        case "rowfmt": "decoding"
        case "pg-load": "loading"
        default: tool
        }
    }
}
