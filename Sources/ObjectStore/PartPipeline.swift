import Digest
import Dispatch
import ToolSupport

/// One part on its way: a pool buffer, its length, number and MD5.
final class PartJob: @unchecked Sendable {
    let number: Int
    let buffer: UnsafeMutableRawBufferPointer
    let count: Int
    let md5: [UInt8]

    init(number: Int, buffer: UnsafeMutableRawBufferPointer, count: Int, md5: [UInt8]) {
        self.number = number
        self.buffer = buffer
        self.count = count
        self.md5 = md5
    }
}

/// Uploads parts on `concurrency` threads while the reader fills the next buffer; at most
/// `max(2, concurrency)` part buffers exist, so memory stays bounded whatever the object size.
final class PartPipeline: @unchecked Sendable {
    private let lock = Lock()
    private var free: [UnsafeMutableRawBufferPointer] = []
    private var owned: [UnsafeMutableRawBufferPointer] = []
    private let freeCount: DispatchSemaphore
    private var jobs: [PartJob] = []
    private var closed = false
    private let jobCount = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private var digests: [Int: [UInt8]] = [:]
    private var etags: [Int: String] = [:]
    private var firstError: (any Error)?
    private var acknowledged: UInt64 = 0
    private let workers: Int
    private let progress: ProgressReporter

    /// A pipeline with `concurrency` workers; the `filled` buffers (read before the upload
    /// started, submitted or released by the caller) become some of its buffers.
    init(partSize: Int, concurrency: Int, filled: [UnsafeMutableRawBufferPointer], progress: ProgressReporter) {
        workers = concurrency
        self.progress = progress
        let count = max(2, concurrency)
        owned.append(contentsOf: filled)
        while owned.count < count {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: partSize, alignment: 4096)
            owned.append(buffer)
            free.append(buffer)
        }
        freeCount = DispatchSemaphore(value: free.count)
    }

    deinit { for buffer in owned { buffer.deallocate() } }

    /// Starts the workers; each uploads with its own store (nil: dry run, digests only).
    func start(stores: [(any ObjectStore)?], key: String, uploadID: String) {
        for store in stores {
            let box = StoreBox(store)
            let started = spawnThread { [self] in
                self.work(store: box.store, key: key, uploadID: uploadID)
                self.finished.signal()
            }
            precondition(started, "s3put: could not start an upload thread")
        }
    }

    /// A free buffer, waiting while all are in flight; nil once a part failed.
    func acquire() -> UnsafeMutableRawBufferPointer? {
        freeCount.wait()
        return lock.withLock {
            if firstError != nil {
                freeCount.signal()
                return nil
            }
            return free.popLast()
        }
    }

    /// Gives an unused buffer back.
    func release(_ buffer: UnsafeMutableRawBufferPointer) {
        lock.withLock { free.append(buffer) }
        freeCount.signal()
    }

    /// Queues a filled buffer for upload.
    func submit(_ job: PartJob) {
        lock.withLock { jobs.append(job) }
        jobCount.signal()
    }

    /// No more parts: waits for the workers; returns the parts' MD5 digests and ETags in order.
    func finish() throws -> (digests: [[UInt8]], parts: [CompletedPart]) {
        lock.withLock { closed = true }
        for _ in 0..<workers { jobCount.signal() }
        for _ in 0..<workers { finished.wait() }
        return try lock.withLock {
            if let firstError { throw firstError }
            let numbers = digests.keys.sorted()
            return (numbers.map { digests[$0]! }, numbers.map { CompletedPart(number: $0, etag: etags[$0] ?? "") })
        }
    }

    /// Bytes the server has acknowledged so far.
    var acknowledgedBytes: UInt64 { lock.withLock { acknowledged } }

    private func next() -> PartJob? {
        jobCount.wait()
        return lock.withLock { jobs.isEmpty ? nil : jobs.removeFirst() }
    }

    private func work(store: (any ObjectStore)?, key: String, uploadID: String) {
        while let job = next() {
            let failed = lock.withLock { firstError != nil }
            if !failed {
                let bytes = UnsafeRawBufferPointer(rebasing: job.buffer[0..<job.count])
                let md5 = job.md5
                do {
                    let etag = try store?.uploadPart(key: key, uploadID: uploadID, number: job.number, body: MemoryBytes(bytes), md5: md5)
                    lock.withLock {
                        digests[job.number] = md5
                        etags[job.number] = etag ?? hex(md5)
                        acknowledged += UInt64(job.count)
                        // `parts`: the parts acknowledged so far (which part is under way, for the displays).
                        progress.update(bytes: acknowledged, extra: ["parts": String(etags.count)])
                    }
                } catch {
                    lock.withLock { if firstError == nil { firstError = error } }
                }
            }
            release(job.buffer)
        }
    }
}

/// Hands a store to the one thread that will use it.
final class StoreBox: @unchecked Sendable {
    let store: (any ObjectStore)?
    init(_ store: (any ObjectStore)?) { self.store = store }
}
