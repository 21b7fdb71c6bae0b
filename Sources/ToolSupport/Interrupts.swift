import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Process-wide handling of SIGINT/SIGTERM: run registered clean-ups, then exit 130.
///
/// Installed once at the top of a tool's `run()` by `Tool.main()`; libraries register
/// clean-ups (remove a temp file, abort an upload) and unregister them when done.
public final class Interrupts: Sendable {
    /// The one instance of the process.
    public static let shared = Interrupts()

    private let state = Mutex<(next: Int, actions: [Int: @Sendable () -> Void], sources: [any DispatchSourceSignal])>((0, [:], []))

    private let received = Atomic<Int32>(0)

    private init() {}

    /// The signal that interrupted the process (SIGINT or SIGTERM), 0 before any.
    public var signalReceived: Int32 { received.load(ordering: .relaxed) }

    /// `SIGINT`, `SIGTERM`: the name of a signal number.
    public static func name(of signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        default: "signal \(signal)"
        }
    }

    /// Ignores SIGPIPE (writes then fail with EPIPE) and routes SIGINT/SIGTERM to the clean-ups.
    public func install() {
        signal(SIGPIPE, SIG_IGN)
        // A parent may start us with these blocked (Foundation's Process passes its thread's
        // mask on; Swift Testing's threads block nearly everything): unblock them.
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGINT)
        sigaddset(&mask, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &mask, nil)
        let queue = DispatchQueue(label: "pgarchive.signals")
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [self] in
                self.received.store(sig, ordering: .relaxed)
                self.runCleanups()
                _exit(ExitStatus.interrupted.rawValue)
            }
            source.resume()
            sources.append(source)
        }
        state.withLock { $0.sources = sources }
    }

    /// Registers a clean-up to run on interruption; returns a token for `remove`.
    @discardableResult
    public func add(_ action: @escaping @Sendable () -> Void) -> Int {
        state.withLock { s in
            s.next += 1
            s.actions[s.next] = action
            return s.next
        }
    }

    /// Removes a clean-up that is no longer needed.
    public func remove(_ token: Int) {
        _ = state.withLock { $0.actions.removeValue(forKey: token) }
    }

    /// Runs every registered clean-up, newest first.
    public func runCleanups() {
        let actions = state.withLock { s -> [@Sendable () -> Void] in
            let list = s.actions.sorted { $0.key > $1.key }.map(\.value)
            s.actions = [:]
            return list
        }
        for action in actions { action() }
    }
}
