import Synchronization

/// Runs an operation but stops waiting for it after a time limit, even when the operation
/// ignores cancellation: URLSession on Linux has been seen not to honour its own timeout,
/// and a join attempt must never stall the node's admission loop.
enum Deadline {
    struct Exceeded: Error, CustomStringConvertible {
        let limit: Duration
        var description: String { "no answer within \(limit)" }
    }

    /// Returns what `operation` returns, or throws `Exceeded` once `limit` has passed (the
    /// operation is cancelled then and left to finish on its own).
    static func run<T: Sendable>(
        within limit: Duration, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let outcome = FirstOutcome()
        return try await withCheckedThrowingContinuation { continuation in
            let work = Task {
                do {
                    let value = try await operation()
                    if outcome.claim() { continuation.resume(returning: value) }
                } catch {
                    if outcome.claim() { continuation.resume(throwing: error) }
                }
            }
            Task {
                try? await Task.sleep(for: limit)
                if outcome.claim() {
                    work.cancel()
                    continuation.resume(throwing: Exceeded(limit: limit))
                }
            }
        }
    }

    /// Lets exactly one of the racing tasks resume the continuation.
    private final class FirstOutcome: Sendable {
        private let decided = Mutex(false)

        func claim() -> Bool {
            decided.withLock { decided in
                defer { decided = true }
                return !decided
            }
        }
    }
}
