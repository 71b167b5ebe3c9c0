import Foundation
import Hummingbird
import HummingbirdTesting
import Launcher
import Testing

@Suite struct EventStreamTests {
    @Test func subscribersGetAReplayThenLiveEvents() async throws {
        let hub = EventHub()
        hub.record(.nodeStarted, node: NodeID("node1"), "node1 started")
        hub.publish(ThroughputSample(time: 1, writesPerSecond: 2.5, commitIndex: 10))
        var iterator = hub.subscribe().makeAsyncIterator()
        guard case .hello(let hello) = await iterator.next() else {
            Issue.record("first event is not hello")
            return
        }
        #expect(hello.timeline.map(\.message) == ["node1 started"])
        #expect(hello.throughput.map(\.commitIndex) == [10])
        hub.record(.leaderElected, node: NodeID("node1"), "node1 is the leader (term 2)", severity: .success)
        guard case .timeline(let event) = await iterator.next() else {
            Issue.record("expected a timeline event")
            return
        }
        #expect(event.kind == .leaderElected)
        #expect(event.id == 2)
        hub.finish()
        #expect(await iterator.next() == nil)
    }

    @Test func historyIsBounded() {
        let hub = EventHub()
        for i in 0..<(EventHub.timelineLimit + 50) { hub.record(.termChanged, "event \(i)") }
        #expect(hub.timeline.count == EventHub.timelineLimit)
        #expect(hub.timeline.last?.message == "event \(EventHub.timelineLimit + 49)")
    }

    @Test func framesAreServerSentEvents() {
        let frame = ServerEvent.throughput(ThroughputSample(time: 5, writesPerSecond: 1, commitIndex: 7)).encoded()
        #expect(frame.hasPrefix("event: throughput\ndata: {"))
        #expect(frame.hasSuffix("}\n\n"))
        #expect(frame.contains(#""writes_per_sec":1"#))
        #expect(frame.components(separatedBy: "\n").count == 4)
    }

    @Test func theMonitorPublishesSnapshotsAndLeaderChanges() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        let snapshot = try #require(launcher.events.latestSnapshot)
        #expect(snapshot.leader == "node1")
        #expect(snapshot.voters == 3 && snapshot.votersUp == 3 && snapshot.hasQuorum)
        #expect(launcher.events.timeline.contains { $0.kind == .leaderElected && $0.node == "node1" })

        try await launcher.supervisor.kill(NodeID("node1")!)
        await launcher.monitor.pollOnce()
        #expect(launcher.events.latestSnapshot?.leader == "node2")
        #expect(launcher.events.latestSnapshot?.nodes.first?.state == .crashed)
        #expect(launcher.events.timeline.contains { $0.kind == .leaderElected && $0.node == "node2" })
        await launcher.stop()
    }

    @Test func theEventsRouteStreamsHelloFirst() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        // Finish the hub shortly so the streaming response completes and the body can be read.
        Task {
            _ = await eventually { launcher.events.subscriberCount > 0 }
            launcher.events.finish()
        }
        try await launcher.application().test(.router) { client in
            let response = try await client.execute(uri: "/api/events", method: .get)
            #expect(response.headers[.contentType] == "text/event-stream")
            let text = String(buffer: response.body)
            #expect(text.hasPrefix("retry: 1500\n\nevent: hello\ndata: {"))
        }
        await launcher.stop()
    }
}
