import Foundation
#if canImport(Glibc)
import Glibc
import HTTPTestSupport
#endif

/// One real `kv-node` child process with its own data directory and log file.
///
/// The same instance can be started again after it stopped, with the same flags, the way
/// an operator restarts a node. Output of every run is appended to `node.log`, whose tail
/// the cluster prints when a test fails.
final class NodeProcess {
    let id: String
    let apiPort: Int
    let raftPort: Int
    let directory: URL
    /// Flags after the common ones (`--bootstrap --peers ...`, `--join ...`, timing).
    var extraArguments: [String]
    private var process: Process?

    init(id: String, apiPort: Int, raftPort: Int, directory: URL, extraArguments: [String]) {
        self.id = id
        self.apiPort = apiPort
        self.raftPort = raftPort
        self.directory = directory
        self.extraArguments = extraArguments
    }

    var apiAddress: String { "127.0.0.1:\(apiPort)" }
    var raftAddress: String { "127.0.0.1:\(raftPort)" }
    /// This node's `--peers` entry.
    var peerEntry: String { "\(id)=\(raftAddress)@\(apiAddress)" }
    var dataDirectory: URL { directory.appendingPathComponent("data") }
    var logFile: URL { directory.appendingPathComponent("node.log") }
    var client: NodeHTTPClient { NodeHTTPClient(base: "http://\(apiAddress)") }
    var pid: pid_t? { process?.processIdentifier }
    var isRunning: Bool { process?.isRunning ?? false }

    var arguments: [String] {
        ["--id", id, "--api-addr", apiAddress, "--raft-addr", raftAddress, "--data-dir", dataDirectory.path]
            + extraArguments
    }

    /// Spawns one process at a time: Foundation's `Process.run` on Linux lists the open file
    /// descriptors to close in the child, and another test closing its log handle meanwhile
    /// makes the spawn fail with EBADF.
    private static let spawnLock = NSLock()

    func start() throws {
        Self.spawnLock.lock()
        defer { Self.spawnLock.unlock() }
        precondition(!isRunning, "\(id) is already running")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: logFile.path) {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        }
        let log = try FileHandle(forWritingTo: logFile)
        defer { try? log.close() }
        try log.seekToEnd()
        log.write(Data("=== start \(id): kv-node \(arguments.joined(separator: " "))\n".utf8))
        let child = Process()
        child.executableURL = try Self.binary()
        child.arguments = arguments
        child.standardInput = FileHandle.nullDevice
        child.standardOutput = log
        child.standardError = log
        try child.run()
        process = child
    }

    /// Sends a signal to the running process (SIGSTOP, SIGCONT, ...).
    func signal(_ number: Int32) {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, number)
    }

    /// `kill -9`, then waits until the process is gone.
    func kill9() async throws {
        signal(SIGCONT)  // a stopped process would not be reaped until continued
        signal(SIGKILL)
        _ = try await waitForExit()
    }

    /// SIGTERM (graceful shutdown) and waits; returns the exit status, or nil when the
    /// process died of a signal instead of exiting.
    func terminate() async throws -> Int32? {
        signal(SIGTERM)
        return try await waitForExit()
    }

    /// Waits for the process to end: the exit code, or nil if a signal ended it.
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32? {
        guard let process else { return nil }
        try await eventually("\(id) to exit", timeout: timeout) { process.isRunning ? nil : true }
        return process.terminationReason == .exit ? process.terminationStatus : nil
    }

    /// Synchronous last resort used by cleanup, also when a test failed: never leave a
    /// process behind.
    func forceStop() {
        guard let process else { return }
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGCONT)
        kill(pid, SIGKILL)
        // Not `waitUntilExit()`: on Linux it can block forever when Foundation's reaper has
        // not noticed the exit. Poll with a deadline, then reap the child ourselves.
        for _ in 0..<500 where process.isRunning { usleep(10_000) }
        if process.isRunning { _ = waitpid(pid, nil, WNOHANG) }
    }

    func logTail(lines: Int = 40) -> String {
        let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? "(no log)"
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// `kv-node` is built into the same products directory as the test binary.
    static func binary() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["KV_NODE_BINARY"] { return URL(fileURLWithPath: path) }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("kv-node")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw NotYet("kv-node was not found next to \(exe); run `swift build` first or set KV_NODE_BINARY")
    }
}
