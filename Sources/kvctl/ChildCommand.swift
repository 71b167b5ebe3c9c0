import Foundation

/// The command `lock NAME -- COMMAND ...` runs while it holds the lock: started through
/// `/usr/bin/env` (found on PATH), with stdio inherited, and sent SIGTERM if kvctl is
/// interrupted, so the lock is released only once the command has ended.
final class ChildCommand: @unchecked Sendable {
    // @unchecked: `process` is only touched under `lock`.
    private let lock = NSLock()
    private let process = Process()

    init(arguments: [String], environment: [String: String]) {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }

    /// Runs the command to its end; its exit status (128 + the signal when one ended it).
    func run() async throws -> Int32 {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
                lock.withLock {
                    process.terminationHandler = { finished in
                        let status = finished.terminationStatus
                        continuation.resume(returning: finished.terminationReason == .exit ? status : 128 + status)
                    }
                    do {
                        try process.run()
                    } catch {
                        process.terminationHandler = nil
                        continuation.resume(throwing: CommandFailure(.usage, "cannot run \(process.arguments ?? []): \(error)"))
                    }
                }
            }
        } onCancel: {
            lock.withLock { if process.isRunning { process.terminate() } }
        }
    }
}
