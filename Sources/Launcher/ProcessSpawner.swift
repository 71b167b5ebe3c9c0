import Foundation
import Glibc
import Synchronization

/// How a child process ended.
public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    /// Decodes a `waitpid` status word (the WIFEXITED/WTERMSIG macros are not visible to Swift).
    init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    public var exitCode: Int32? {
        if case .exited(let code) = self { return code }
        return nil
    }

    public var signal: Int32? {
        if case .signaled(let signal) = self { return signal }
        return nil
    }

    public var description: String {
        switch self {
        case .exited(let code): "exit code \(code)"
        case .signaled(let signal): "killed by signal \(signal) (\(ExitStatus.signalName(signal)))"
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGKILL: "SIGKILL"
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGSEGV: "SIGSEGV"
        case SIGABRT: "SIGABRT"
        case SIGILL: "SIGILL"
        case SIGBUS: "SIGBUS"
        case SIGTRAP: "SIGTRAP"
        default: "signal \(signal)"
        }
    }
}

public struct SpawnError: Error, CustomStringConvertible {
    public let description: String
}

/// Starts child processes with `posix_spawn` and reaps them.
///
/// Foundation's `Process` is not used because the launcher needs three things it does not
/// offer: each node in its own process group (so a terminal's Ctrl-C reaches only the launcher,
/// which then stops nodes gracefully), default dispositions for signals the launcher ignores
/// (ignored signals would otherwise stay ignored across exec), and no inherited descriptors
/// (a node must never keep the launcher's listening socket open).
public enum ProcessSpawner {
    /// The children started here and not reaped yet. A pid leaves this set only while its
    /// zombie still holds the number (`waitForExit` waits without reaping, removes it, then
    /// reaps), and signals are sent under the same lock: a signal meant for a child that has
    /// gone can never reach a process that was given its number afterwards. `pid_max` is
    /// often 32,768, and a machine that starts many short processes wraps it within a minute.
    private static let liveChildren = Mutex<Set<pid_t>>([])

    /// Starts `executable`. Output goes to `logPath` (appended, stderr merged into stdout) or,
    /// when nil, to the launcher's own stdout and stderr. Standard input is /dev/null.
    public static func spawn(
        executable: String, arguments: [String], logPath: String?, ownProcessGroup: Bool = true
    ) throws -> pid_t {
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        if let logPath {
            posix_spawn_file_actions_addopen(&fileActions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        }
        closeInheritedDescriptors(&fileActions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        if ownProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        var result = posix_spawn(&pid, executable, &fileActions, &attributes, argv, environ)
        // ETXTBSY: some process (often a fork elsewhere in this one, between its fork and exec)
        // still holds the executable open for writing, as right after a rebuild or an install.
        // That passes within moments, so it is worth a few short retries rather than a crash state.
        var retries = 0
        while result == ETXTBSY && retries < 40 {
            retries += 1
            usleep(25_000)
            result = posix_spawn(&pid, executable, &fileActions, &attributes, argv, environ)
        }
        guard result == 0 else {
            throw SpawnError(description: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        liveChildren.withLock { _ = $0.insert(pid) }
        return pid
    }

    /// Asks the child to close every descriptor from 3 up. glibc (2.34+) has
    /// `posix_spawn_file_actions_addclosefrom_np`, but its header hides it from Swift, so it is
    /// looked up at run time. NIO's sockets are close-on-exec anyway; this also covers files.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            return
        }
        let addCloseFrom = unsafeBitCast(symbol, to: AddCloseFrom.self)
        _ = addCloseFrom(&actions, 3)
    }

    /// Suspends until `pid` has exited and returns how. The blocking `waitpid` runs on a thread
    /// of its own so it never holds one of Swift's cooperative threads.
    public static func waitForExit(_ pid: pid_t) async -> ExitStatus {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                // Waits for the exit without reaping: the number stays taken by the zombie.
                var info = siginfo_t()
                while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
                let status: Int32 = liveChildren.withLock { live in
                    live.remove(pid)
                    var status: Int32 = 0
                    while true {
                        let result = waitpid(pid, &status, 0)
                        if result == pid { break }
                        if result == -1 && errno != EINTR {
                            // Someone else reaped it; the process is gone either way.
                            status = 0
                            break
                        }
                    }
                    return status
                }
                continuation.resume(returning: ExitStatus(waitStatus: status))
            }
            thread.name = "waitpid \(pid)"
            thread.start()
        }
    }

    /// Sends `signal` to a child started here; false when it has exited (or was never ours),
    /// in which case nothing is sent.
    @discardableResult
    public static func send(_ signal: Int32, to pid: pid_t) -> Bool {
        liveChildren.withLock { live in live.contains(pid) && kill(pid, signal) == 0 }
    }

    /// Sends `signal` to a process this one did not start (a node a previous launcher left
    /// behind); the caller checks that the pid is still the process it means.
    @discardableResult
    public static func sendToOrphan(_ signal: Int32, to pid: pid_t) -> Bool {
        kill(pid, signal) == 0
    }

    /// Whether a process with this pid exists (it may be a zombie).
    public static func exists(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}
