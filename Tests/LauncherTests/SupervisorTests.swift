import Foundation
import Launcher
import Testing

/// Real processes (the fake kv-node script), real signals, real files.
@Suite struct SupervisorTests {
    @Test func startsFoundersWithBootstrapAndLogsTheirOutput() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.controller.startAll()
        let snapshot = await launcher.supervisor.snapshot()
        for node in snapshot.config.nodes {
            let record = snapshot.record(node.id)
            #expect(record.state == .running)
            #expect(record.pid != nil)
        }
        #expect(await eventually { launcher.log(of: "node1").contains("fake-kv-node --id node1") })
        let log = launcher.log(of: "node1")
        #expect(log.contains("--bootstrap --peers node1=127.0.0.1:\(launcher.basePort + 1)@127.0.0.1:\(launcher.basePort)"))
        #expect(log.contains("--data-dir \(launcher.dataDirectory.path)/node1"))
        await launcher.stop()
    }

    @Test func stopIsGracefulAndKillIsACrash() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.controller.startAll()
        let node1 = NodeID("node1")!, node2 = NodeID("node2")!
        #expect(try await launcher.supervisor.stop(node1))
        var snapshot = await launcher.supervisor.snapshot()
        #expect(snapshot.record(node1).state == .stopped)
        #expect(snapshot.record(node1).lastExit == .exited(0))
        #expect(snapshot.record(node1).pid == nil)
        #expect(await eventually { launcher.log(of: "node1").contains("fake-kv-node: SIGTERM") })

        try await launcher.supervisor.kill(node2)
        snapshot = await launcher.supervisor.snapshot()
        #expect(snapshot.record(node2).state == .crashed)
        #expect(snapshot.record(node2).lastExit == .signaled(9))
        #expect(launcher.events.timeline.contains { $0.kind == .nodeKilled && $0.node == "node2" })
        await launcher.stop()
    }

    @Test func aProcessThatDiesByItselfIsCrashedWithItsExitCode() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.controller.startAll()
        try "3".write(to: launcher.dataDirectory.appendingPathComponent("node3/exit-code"), atomically: true, encoding: .utf8)
        #expect(await eventually { await launcher.supervisor.snapshot().record(NodeID("node3")!).state == .crashed })
        #expect(await launcher.supervisor.snapshot().record(NodeID("node3")!).lastExit == .exited(3))
        #expect(launcher.events.timeline.contains { $0.kind == .nodeCrashed && $0.message.contains("exit code 3") })
        await launcher.stop()
    }

    @Test func pauseAndResumeUseSIGSTOPAndSIGCONT() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.controller.startAll()
        let id = NodeID("node2")!
        try await launcher.supervisor.pause(id)
        let pid = try #require(await launcher.supervisor.snapshot().record(id).pid)
        #expect(await eventually { processState(pid) == "T" })
        try await launcher.supervisor.resume(id)
        #expect(await eventually { processState(pid) != "T" })
        // Stopping a paused node must still work: SIGTERM is delivered once it runs again.
        try await launcher.supervisor.pause(id)
        #expect(try await launcher.supervisor.stop(id))
        #expect(await launcher.supervisor.snapshot().record(id).state == .stopped)
        await launcher.stop()
    }

    @Test func refusesToStartOnAPortSomethingElseHolds() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        let listener = try Listener(port: launcher.basePort + 10)
        defer { listener.close() }
        await #expect(throws: ControlError.self) { try await launcher.supervisor.start(NodeID("node2")!, joinAddress: nil) }
        await launcher.stop()
    }

    @Test func orphansOfAKilledLauncherAreStopped() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.controller.startAll()
        let pid = try #require(await launcher.supervisor.snapshot().record(NodeID("node1")!).pid)
        // A second launcher over the same directory finds node1.pid and stops that process.
        let config = await launcher.supervisor.snapshot().config
        let reaped = await OrphanReaper.reap(config: config, dataDirectory: launcher.dataDirectory, timeout: .seconds(3))
        #expect(reaped.map(\.rawValue).sorted() == ["node1", "node2", "node3"])
        #expect(await eventually { await launcher.supervisor.snapshot().record(NodeID("node1")!).pid != pid })
        await launcher.stop()
    }
}

/// The state letter from /proc/<pid>/stat ("T" when stopped by a signal).
func processState(_ pid: Int32) -> String {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return "?" }
    return String(stat[stat.index(close, offsetBy: 2)])
}
