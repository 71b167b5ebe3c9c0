import Foundation
import HTTPTestSupport

/// A condition that did not come true before its deadline.
struct DeadlineExceeded: Error, CustomStringConvertible {
    var what: String
    var lastObservation: String
    var description: String { "timed out waiting for \(what); last seen: \(lastObservation)" }
}

/// Polls `probe` until it returns a value, instead of sleeping a fixed time: the tests
/// run on a loaded machine, so only deadlines (generous ones) are allowed, never timing
/// assertions. Errors thrown by the probe (a node still starting, a 503) count as "not
/// yet" and are reported if the deadline passes.
@discardableResult
func eventually<T>(_ what: String, timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(50),
                   _ probe: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    var last = "nothing yet"
    while true {
        do {
            if let value = try await probe() { return value }
            last = "not yet"
        } catch let error as Unexpected {
            throw error
        } catch {
            last = "\(error)"
        }
        guard ContinuousClock.now < deadline else { throw DeadlineExceeded(what: what, lastObservation: last) }
        try await Task.sleep(for: interval)
    }
}
