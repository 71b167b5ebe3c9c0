import AsyncHTTPClient
import NIOCore

/// The time given to an operation ran out before it finished.
struct DeadlinePassed: Error, CustomStringConvertible {
    var timeout: Duration
    var description: String { "nothing arrived within \(timeout)" }
}

/// Runs `operation`, and cancels it once `timeout` passes (then throws ``DeadlinePassed``).
func withDeadline<T: Sendable>(_ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw DeadlinePassed(timeout: timeout) }
        return value
    }
}

/// A streamed answer's body, read chunk by chunk with an idle deadline: a half-open
/// connection (a node that vanished without a FIN or RST) delivers nothing and no error,
/// forever, so silence is the only sign of it.
final class BodyReader: @unchecked Sendable {
    // @unchecked: the body's iterator is not Sendable, so that no two tasks use it at once.
    // `next(within:)` lends it to one child task and returns only after that task ended (a task
    // group awaits all of its children), so it is only ever used by one task at a time.
    private var iterator: HTTPClientResponse.Body.AsyncIterator

    init(_ body: HTTPClientResponse.Body) {
        iterator = body.makeAsyncIterator()
    }

    /// The next chunk (nil at the end of the body), or ``DeadlinePassed`` when none arrives
    /// within `idleTimeout`. Expiry cancels the read, which closes the connection; the reader
    /// is of no further use then.
    func next(within idleTimeout: Duration) async throws -> ByteBuffer? {
        try await withDeadline(idleTimeout) { try await self.iterator.next() }
    }
}
