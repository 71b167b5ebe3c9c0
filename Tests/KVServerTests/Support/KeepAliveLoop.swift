import Foundation
import HTTPTestSupport

/// Sends keepalives for one lease in the background, as a lease holder does, noting when
/// the last one was acknowledged and any answer saying the lease is gone.
final class KeepAliveLoop: @unchecked Sendable {
    struct Record: Sendable {
        var acknowledged = 0
        var notFound: [String] = []
    }

    private let lock = NSLock()
    private var record = Record()
    private var lastSuccess: ContinuousClock.Instant?
    private var task: Task<Void, Never>?

    static func start(_ client: NodeHTTPClient, id: String, every interval: Duration) -> KeepAliveLoop {
        let loop = KeepAliveLoop()
        loop.task = Task {
            while !Task.isCancelled {
                // 503s and lost connections while the leader changes are expected; keep going.
                if let reply = try? await client.keepAlive(id) { loop.note(reply) }
                try? await Task.sleep(for: interval)
            }
        }
        return loop
    }

    private func note(_ reply: HTTPReply) {
        lock.lock()
        defer { lock.unlock() }
        if reply.status == 200 {
            record.acknowledged += 1
            lastSuccess = .now
        } else if reply.status == 404 {
            record.notFound.append("\(reply)")
        }
    }

    private func snapshot() -> (lastSuccess: ContinuousClock.Instant?, notFound: [String]) {
        lock.lock()
        defer { lock.unlock() }
        return (lastSuccess, record.notFound)
    }

    /// Waits until a keepalive is acknowledged after `instant`.
    func wait(forSuccessAfter instant: ContinuousClock.Instant, timeout: Duration = .seconds(30)) async throws {
        try await eventually("a keepalive acknowledged after \(instant)", timeout: timeout) { () -> Bool? in
            let (last, gone) = snapshot()
            if !gone.isEmpty { throw Unexpected("the lease is gone: \(gone)") }
            guard let last, last > instant else { return nil }
            return true
        }
    }

    func stop() async throws -> Record {
        task?.cancel()
        await task?.value
        return lock.withLock { record }
    }

    func cancel() { task?.cancel() }
}
