import Dispatch
import Foundation
import Synchronization

/// Ctrl-C for the commands that run until stopped (watch, lock, elect, keep-alive): SIGINT or
/// SIGTERM cancels the work, so its cleanup (releasing a lock, revoking its lease) runs
/// before kvctl exits 0, instead of the process dying with the lock still held. A second
/// signal, from someone who will not wait for the cleanup (a cluster that does not answer),
/// ends kvctl at once with 128 + the signal (130 for Ctrl-C); a lock's lease then runs out
/// by itself.
enum Interruption {
    /// Runs `body` until it returns (its value) or a signal arrives (nil, after `body` has
    /// finished cancelling). The signals' default handling is restored afterwards.
    static func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        let signals = [SIGINT, SIGTERM]
        let received = SignalCount()
        var sources: [any DispatchSourceSignal] = []
        let (arrivals, arrival) = AsyncStream.makeStream(of: Void.self)
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                // Two quick signals can reach the handler as one event: `data` counts them.
                if received.add(Int(clamping: Swift.max(source.data, 1))) > 1 { exit(128 + number) }
                arrival.yield()
            }
            source.resume()
            sources.append(source)
        }
        defer {
            for source in sources { source.cancel() }
            for number in signals { signal(number, SIG_DFL) }
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

/// How many of the signals kvctl handles have arrived, counted from the signal queue.
private final class SignalCount: Sendable {
    private let count = Atomic(0)

    /// Counts `signals` more; returns the new count (saturating: it only has to pass 1).
    func add(_ signals: Int) -> Int {
        count.add(Swift.min(signals, 1_000), ordering: .relaxed).newValue
    }
}
