import Dispatch
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A thread that runs jobs one at a time, in submission order. The LMDB write path uses one
/// (LMDB allows a single writer and ties a write transaction to its thread) and snapshot
/// writing another; both keep blocking `fdatasync` calls off Swift's cooperative pool.
final class SerialThread: @unchecked Sendable {
    private let condition = ConditionLock()
    private var jobs: [@Sendable () -> Void] = []
    private var isStopping = false
    private var isFinished = false
    private var threadID: pthread_t?

    /// Fails when the system will not start another thread (a limit on threads or memory):
    /// the store that asked cannot open.
    init(name: String) throws(KVStoreError) {
        // The thread keeps the object alive until `stop()` lets it finish.
        let start = Unmanaged.passRetained(ThreadStart(name: name) { self.runLoop() })
        var thread = pthread_t()
        let failure = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            let start = Unmanaged<ThreadStart>.fromOpaque(argument).takeRetainedValue()
            start.run()
            return nil
        }, start.toOpaque())
        guard failure == 0 else {
            start.release()
            throw .io(operation: "start thread \(name)", errno: failure)
        }
        pthread_detach(thread)
    }

    /// True when called from this thread itself.
    var isCurrent: Bool {
        condition.lock()
        defer { condition.unlock() }
        guard let threadID else { return false }
        return pthread_equal(threadID, pthread_self()) != 0
    }

    /// Runs `body` on this thread and returns its result to the awaiting caller.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(KVStoreError) -> T) async throws(KVStoreError) -> T {
        let result: Result<T, KVStoreError> = await withCheckedContinuation { continuation in
            let accepted = enqueue {
                continuation.resume(returning: Result { () throws(KVStoreError) -> T in try body() })
            }
            if !accepted { continuation.resume(returning: .failure(.closed)) }
        }
        return try result.get()
    }

    /// Queues `job` without waiting for it; dropped once the thread is stopping.
    func submit(_ job: @escaping @Sendable () -> Void) {
        _ = enqueue(job)
    }

    /// Runs `body` on this thread and blocks the calling thread until it is done: for
    /// setup code that is not async (opening a store) and must not run on this thread.
    func runAndWait<T>(_ body: @escaping () throws(KVStoreError) -> T) throws(KVStoreError) -> T {
        precondition(!isCurrent, "runAndWait from the thread itself would deadlock")
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<T, KVStoreError>?
        nonisolated(unsafe) let job = body
        let accepted = enqueue {
            result = Result { () throws(KVStoreError) -> T in try job() }
            done.signal()
        }
        guard accepted else { throw .closed }
        done.wait()
        return try result!.get()
    }

    /// Lets queued jobs finish, then ends the thread. Later submissions fail with `.closed`.
    func stop() {
        condition.lock()
        isStopping = true
        condition.broadcast()
        while !isFinished { condition.wait() }
        condition.unlock()
    }

    private func enqueue(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if isStopping { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    private func runLoop() {
        condition.lock()
        threadID = pthread_self()
        condition.unlock()
        while true {
            condition.lock()
            while jobs.isEmpty && !isStopping { condition.wait() }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            let done = batch.isEmpty && isStopping
            if done {
                isFinished = true
                condition.broadcast()
            }
            condition.unlock()
            if done { return }
            for job in batch { job() }
        }
    }
}

/// What a new thread runs, handed through `pthread_create`'s one pointer.
private final class ThreadStart {
    let name: String
    let body: () -> Void

    init(name: String, body: @escaping () -> Void) {
        self.name = name
        self.body = body
    }

    func run() {
        #if canImport(Glibc)
        // Linux keeps 15 bytes of a thread's name; `top -H` and `perf` show it. (Glibc's
        // module does not export `pthread_setname_np`; this is what it does.)
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        if fd >= 0 {
            let bytes = Array(name.utf8.prefix(15))
            _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        #else
        _ = pthread_setname_np(name)
        #endif
        body()
    }
}
