import Foundation
import Synchronization

/// A condition that did not come true before its deadline.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public var what: String
    public var lastObservation: String
    public var description: String { "timed out waiting for \(what); last seen: \(lastObservation)" }
}

/// Polls `probe` until it returns a value. Tests share a loaded 2-core machine, so they wait
/// on conditions with generous deadlines and never sleep a fixed time or assert how long
/// anything took. An error thrown by the probe (no leader yet, a write that timed out)
/// counts as "not yet" and is reported if the deadline passes.
@discardableResult
public func eventually<T>(_ what: String, timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(20),
                          _ probe: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    var last = "nothing yet"
    while true {
        do {
            if let value = try await probe() { return value }
            last = "not yet"
        } catch {
            last = "\(error)"
        }
        guard ContinuousClock.now < deadline else { throw DeadlineExceeded(what: what, lastObservation: last) }
        try await Task.sleep(for: interval)
    }
}

/// Runs `body`, failing if it has not returned by the deadline: a guard against a hang (an
/// operation the code promises to end on its own), never a measure of how fast it ended.
/// `body` runs in a task of its own, so a body that ignores cancellation cannot hold the
/// test past the deadline.
public func finishing<T: Sendable>(_ what: String, within limit: Duration,
                                   _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let once = ResumeOnce(continuation)
        let timer = Task {
            try? await Task.sleep(for: limit)
            once.resume(.failure(DeadlineExceeded(what: what, lastObservation: "still running")))
        }
        Task {
            do {
                once.resume(.success(try await body()))
            } catch {
                once.resume(.failure(error))
            }
            timer.cancel()
        }
    }
}

/// Resumes a continuation the first time only: whichever of the body and the timer ends first.
private final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ result: Result<T, any Error>) {
        let taken = continuation.withLock { current in
            defer { current = nil }
            return current
        }
        taken?.resume(with: result)
    }
}
