import Foundation
import KVStore
import RaftCore
import Testing

/// Kills a child that appends and acknowledges batches (see `KVStoreCrashChild`) with SIGKILL
/// at random moments, then reopens its store and checks the promise of a synced commit:
/// every acknowledged batch is there, and the log is a clean sequence of whole batches.
@Suite struct CrashTests {
    static let rounds = Int(ProcessInfo.processInfo.environment["KVSTORE_CRASH_ROUNDS"] ?? "") ?? 60

    @Test func acknowledgedBatchesSurviveSIGKILL() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var generator = SystemRandomNumberGenerator()
        var acknowledged: (batch: UInt64, last: UInt64) = (0, 0)
        var killedMidRun = 0
        for _ in 0..<Self.rounds {
            let child = try ChildProcess(executable: try Self.childPath(), arguments: [dir.path])
            defer { child.terminate() }
            // Kill after 0...6 acknowledgements and a random extra 0-3 ms, so kills land
            // during open, between batches and in the middle of commits.
            let wanted = Int.random(in: 0...6, using: &generator)
            for _ in 0..<wanted {
                guard let line = child.readLine() else { break }
                let fields = line.split(separator: " ").compactMap { UInt64($0) }
                try #require(fields.count == 2, "unexpected child output \(line)")
                acknowledged = (fields[0], fields[1])
            }
            usleep(UInt32.random(in: 0..<3000, using: &generator))
            child.kill()
            let status = child.wait()
            if status == SIGKILL { killedMidRun += 1 }
            try Self.verify(dir.path, acknowledged: acknowledged)
        }
        #expect(killedMidRun == Self.rounds, "every round must end by SIGKILL, not by the child failing")
        #expect(acknowledged.batch > 0)
    }

    /// Reopens the store and checks the log is whole batches 1...n with n >= the last ack.
    static func verify(_ path: String, acknowledged: (batch: UInt64, last: UInt64)) throws {
        let store = try DurableStore(directory: path)
        defer { store.close() }
        let last = store.log.lastIndex()
        let hardState = store.log.initialState().hardState
        #expect(last >= acknowledged.last, "acknowledged index \(acknowledged.last) lost; log ends at \(last)")
        #expect(hardState.term >= acknowledged.batch)
        #expect(hardState.commit == last, "hard state and entries were committed apart")
        guard last > 0 else { return }
        var expectedBatch: UInt64 = 1
        var position = 0
        for e in try store.log.entries(from: 1, to: last + 1, maxBytes: .max) {
            let batch = e.data[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let count = Int(1 + expectedBatch % 7)
            try #require(batch == expectedBatch && e.term == batch, "entry \(e.index) belongs to batch \(batch), expected \(expectedBatch)")
            try #require(Int(e.data[8]) == position && Int(e.data[9]) == count, "entry \(e.index) is out of place in its batch")
            position += 1
            if position == count {
                position = 0
                expectedBatch += 1
            }
        }
        #expect(position == 0, "the last batch is torn")
        #expect(hardState.term == expectedBatch - 1)
    }

    /// The child is built next to the test bundle.
    static func childPath() throws -> String {
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("KVStoreCrashChild").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        throw ChildProcess.Failure.notFound(exe)
    }
}

/// A child process with its stdout on a pipe, read line by line with blocking reads.
final class ChildProcess {
    enum Failure: Error { case notFound(String), spawn(Int32) }

    private let pid: pid_t
    private let output: Int32
    private var buffer: [UInt8] = []
    private var reaped = false

    init(executable: String, arguments: [String]) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw Failure.spawn(errno) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        close(fds[1])
        guard code == 0 else {
            close(fds[0])
            throw Failure.spawn(code)
        }
        self.pid = pid
        self.output = fds[0]
    }

    deinit { close(output) }

    /// The next line of output, or nil once the child closed stdout.
    func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = read(output, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    func kill() {
        if !reaped { _ = Glibc.kill(pid, SIGKILL) }
    }

    /// Kills and reaps the child unless that already happened, so none outlives its test.
    func terminate() {
        guard !reaped else { return }
        kill()
        wait()
    }

    /// Reaps the child; returns the signal that ended it, or 0 when it exited.
    @discardableResult
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reaped = true
        let signal = status & 0x7F
        return signal != 0 && signal != 0x7F ? signal : 0
    }
}
