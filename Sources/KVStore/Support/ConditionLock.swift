#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A mutex with one condition variable, on pthreads: what `SerialThread` needs to sleep
/// until a job arrives. (Foundation's `NSCondition` would do, but it is the only reason the
/// storage layer would link full Foundation and ICU: Docs/BENCHMARKS.md, "Idle footprint".)
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// Releases the lock until signalled, then holds it again. Callers loop on their predicate.
    func wait() { pthread_cond_wait(condition, mutex) }
    func signal() { pthread_cond_signal(condition) }
    func broadcast() { pthread_cond_broadcast(condition) }
}
