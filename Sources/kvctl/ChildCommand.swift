import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The command `lock NAME -- COMMAND ...` runs while it holds the lock: started through
/// `/usr/bin/env` (found on PATH), with stdio inherited, and sent SIGTERM if kvctl is
/// interrupted, so the lock is released only once the command has ended.
///
/// Spawned with `posix_spawn` rather than Foundation's `Process`, which puts its child in a
/// process group of its own: here the command stays in kvctl's group, so a Ctrl-C at the
/// terminal reaches both, and whoever kills kvctl's group (a supervisor, a test) ends the
/// command too instead of leaving it orphaned.
final class ChildCommand: @unchecked Sendable {
    // @unchecked: `state` is only touched under `lock`.
    private let lock = NSLock()
    private var state = State.notStarted
    private let arguments: [String]
    private let environment: [String: String]

    private enum State {
        case notStarted
        case running(pid_t)
        case cancelled
        case finished
    }

    init(arguments: [String], environment: [String: String]) {
        self.arguments = arguments
        self.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }

    /// Runs the command to its end; its exit status (128 + the signal when one ended it).
    func run() async throws -> Int32 {
        try await withTaskCancellationHandler {
            let pid = try start()
            return await Self.waitForExit(pid) { self.lock.withLock { self.state = .finished } }
        } onCancel: {
            lock.withLock {
                if case .running(let pid) = state { kill(pid, SIGTERM) }
                if case .notStarted = state { state = .cancelled }
            }
        }
    }

    /// Spawns the command, unless cancellation came first: the cancellation handler can run
    /// before there is a process to signal, so the state is checked under the same lock.
    private func start() throws -> pid_t {
        try lock.withLock {
            if case .cancelled = state { throw CancellationError() }
            let pid = try Self.spawn(["/usr/bin/env"] + arguments, environment: environment)
            state = .running(pid)
            return pid
        }
    }

    private static func spawn(_ argv: [String], environment: [String: String]) throws -> pid_t {
        let arguments = argv.map { strdup($0) } + [nil]
        let variables = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in arguments { free(pointer) }
            for pointer in variables { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, "/usr/bin/env", nil, nil, arguments, variables)
        guard result == 0 else {
            throw CommandFailure(.usage, "cannot run \(argv.dropFirst().joined(separator: " ")): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Waits for `pid` on a thread of its own (`waitpid` blocks) and decodes its status.
    private static func waitForExit(_ pid: pid_t, then finished: @escaping @Sendable () -> Void) async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                finished()
                let signal = status & 0x7f
                continuation.resume(returning: signal == 0 ? (status >> 8) & 0xff : 128 + signal)
            }
        }
    }
}
