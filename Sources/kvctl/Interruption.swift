import Dispatch
import Foundation

/// Ctrl-C for the commands that run until stopped (watch, lock, elect, keep-alive): SIGINT or
/// SIGTERM cancels the work, so its cleanup (releasing a lock, revoking its lease) runs
/// before kvctl exits 0, instead of the process dying with the lock still held.
enum Interruption {
    /// Runs `body` until it returns (its value) or a signal arrives (nil, after `body` has
    /// finished cancelling).
    static func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        let signals = [SIGINT, SIGTERM]
        var sources: [any DispatchSourceSignal] = []
        let (arrivals, arrival) = AsyncStream.makeStream(of: Void.self)
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { arrival.yield() }
            source.resume()
            sources.append(source)
        }
        defer {
            for source in sources { source.cancel() }
            arrival.finish()
        }
        return try await withThrowingTaskGroup(of: Outcome<T>.self) { group in
            group.addTask { .finished(try await body()) }
            group.addTask {
                for await _ in arrivals { return .interrupted }
                return .interrupted
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { return nil }
            group.cancelAll()
            // The body may still be cleaning up after its cancellation; its errors then are
            // those of an interrupted run.
            while let _ = try? await group.next() {}
            if case .finished(let value) = first { return value }
            return nil
        }
    }

    private enum Outcome<T: Sendable>: Sendable {
        case finished(T)
        case interrupted
    }

    /// Suspends until cancelled.
    static func waitForever() async throws -> Never {
        while true { try await Task.sleep(for: .seconds(3_600)) }
    }
}
