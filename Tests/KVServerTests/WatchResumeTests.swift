import Foundation
import HTTPTestSupport
import Testing

/// A watch resumed with `Last-Event-ID` after its node died delivers every acknowledged
/// write exactly once, in revision order (Docs/API.md, "Watch"), and a start older than the
/// retained history is refused with 410 instead of silently skipping changes.
@Suite("Watch resume and compaction")
struct WatchResumeTests {
    enum Victim { case follower, leader }

    @Test("kill -9 of the node serving a watch mid-stream: resumed on another node with Last-Event-ID, the events are exactly the acknowledged writes")
    func resumeAfterServingFollowerDies() async throws {
        try await resumeScenario(victim: .follower, resumeOnRestartedVictim: false)
    }

    @Test("a watch on the leader, the leader killed -9 mid-stream: resumed on a survivor, the events are exactly the acknowledged writes")
    func resumeAcrossLeaderFailover() async throws {
        try await resumeScenario(victim: .leader, resumeOnRestartedVictim: false)
    }

    @Test("the serving node killed -9 and restarted on its data: the watch resumed on it with Last-Event-ID misses and repeats nothing")
    func resumeOnRestartedNode() async throws {
        try await resumeScenario(victim: .follower, resumeOnRestartedVictim: true)
    }

    /// Watches a prefix on the victim while a writer keeps writing through another node,
    /// kills the victim after some events, resumes elsewhere (or on the restarted victim)
    /// from the last event id seen, and compares everything received with every write the
    /// writer got acknowledged.
    func resumeScenario(victim kind: Victim, resumeOnRestartedVictim: Bool) async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            let oldTerm = try await leader.client.status().term
            let followers = cluster.followers(of: leader)
            try #require(followers.count == 2)
            let victim = kind == .leader ? leader : followers[0]
            let writerNode = followers[1]
            let resumeNode = resumeOnRestartedVictim ? victim : (kind == .leader ? followers[0] : leader)

            let start = try await writerNode.client.putAcknowledged("before-watch", "x")
            // start_revision stays in the resumed URL: Last-Event-ID must override it.
            let query = "prefix=wr/&start_revision=\(start)"
            let first = try await eventually("a watch on \(victim.id)") { try await WatchFollower.start(victim.client.watchURL(query)) }
            defer { first.stop() }
            let writer = BackgroundWriter.start(writerNode.client, prefix: "wr/")
            defer { writer.cancel() }

            try await first.wait(for: "20 events before the kill") { $0.count >= 20 }
            try await victim.kill9()
            try await eventually("the stream from the killed \(victim.id) to end") { first.ended }
            let writtenAtKill = writer.count
            let resumeID = try #require(first.lastEventID, "the events before the kill carried ids")
            if kind == .leader { _ = try await cluster.leader(among: followers, newerThan: oldTerm) }
            if resumeOnRestartedVictim { try victim.start() }

            let second = try await eventually("the watch to resume on \(resumeNode.id) from \(resumeID)", timeout: .seconds(60)) {
                try await WatchFollower.start(resumeNode.client.watchURL(query), lastEventID: resumeID)
            }
            defer { second.stop() }
            try await writer.wait(forCount: writtenAtKill + 30)
            try await second.wait(for: "events after the resume") { !$0.isEmpty }
            let writes = try await writer.stop()
            let lastRevision = try #require(writes.last?.revision)
            try await second.wait(for: "the last acknowledged write, revision \(lastRevision)") { ($0.last?.revision ?? 0) >= lastRevision }

            let received = first.events + second.events
            let expected = BackgroundWriter.expectedEvents(writes)
            #expect(received == expected, "\(Self.difference(expected: expected, received: received))")
            #expect(first.malformed.isEmpty && second.malformed.isEmpty, "undecodable events: \(first.malformed + second.malformed)")
            #expect(first.progressRevisions.first.map { $0 >= start } == true, "the first event is progress: \(first.progressRevisions)")
            #expect(first.events.count >= 20 && second.events.count >= 1, "both streams carried events")
        }
    }

    /// A readable account of how two event lists differ: gaps, duplicates, order, fields.
    static func difference(expected: [WatchEvent], received: [WatchEvent]) -> String {
        let expectedRevisions = Set(expected.map(\.revision))
        var counts: [Int: Int] = [:]
        for event in received { counts[event.revision, default: 0] += 1 }
        let missing = expected.map(\.revision).filter { counts[$0] == nil }
        let duplicated = counts.filter { $0.value > 1 }.map(\.key).sorted()
        let unexpected = received.filter { !expectedRevisions.contains($0.revision) }
        let outOfOrder = zip(received, received.dropFirst()).filter { $0.revision >= $1.revision }.map { "\($0.revision)→\($1.revision)" }
        let expectedByRevision = Dictionary(expected.map { ($0.revision, $0) }, uniquingKeysWith: { a, _ in a })
        let wrongFields = received.compactMap { event -> String? in
            guard let want = expectedByRevision[event.revision], want != event else { return nil }
            return "got \(event) (create \(event.createRevision) v\(event.version)), want \(want) (create \(want.createRevision) v\(want.version))"
        }
        return "expected \(expected.count) events, received \(received.count); missing revisions \(missing.prefix(20)); "
            + "duplicated \(duplicated.prefix(20)); not written \(unexpected.prefix(5)); out of order \(outOfOrder.prefix(10)); "
            + "wrong fields \(wrongFields.prefix(5))"
    }

    @Test("after POST /compact a watch or Last-Event-ID older than the compaction is 410 with compact_revision on every node; a start at it replays what follows")
    func compactedStart() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            let follower = try #require(cluster.followers(of: leader).first)
            var revisions: [Int] = []
            for i in 0..<10 {
                revisions.append(Int(try await follower.client.putAcknowledged("cp/k\(i)", "v\(i)")))
            }
            let old = revisions[1]
            let compactAt = revisions[5]

            let compacted = try await follower.client.untilAnswered("POST /compact") { _ in try await follower.client.compact(compactAt) }
            try #require(compacted.status == 200, "\(compacted)")
            #expect(compacted.int("compact_revision") == compactAt, "\(compacted)")
            #expect(compacted.int("revision").map { $0 >= revisions[9] } == true, "\(compacted)")
            let again = try await leader.client.compact(old)
            #expect(again.status == 410 && again.int("compact_revision") == compactAt, "compacting below the compaction: \(again)")
            let future = try await leader.client.compact(revisions[9] + 1_000)
            #expect(future.status == 400, "compacting beyond the current revision: \(future)")

            func expectCompacted(_ reply: HTTPReply, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(reply.status == 410, "\(what): \(reply)", sourceLocation: sourceLocation)
                #expect(reply.object?["error"] as? String == "compacted", "\(what): \(reply)", sourceLocation: sourceLocation)
                #expect(reply.int("compact_revision") == compactAt, "\(what): \(reply)", sourceLocation: sourceLocation)
            }
            for node in cluster.nodes {
                let byQuery = try await EventStream.open(node.client.watchURL("prefix=cp/&start_revision=\(old)"))
                expectCompacted(byQuery.reply, "\(node.id) watch start_revision=\(old)")
                #expect(byQuery.stream == nil)
                let byHeader = try await EventStream.open(node.client.watchURL("prefix=cp/"), headers: ["Last-Event-ID": "\(old)"])
                expectCompacted(byHeader.reply, "\(node.id) watch Last-Event-ID: \(old)")
                let pastRead = try await HTTP.send("GET", "\(node.client.base)/kv/cp/k1?revision=\(old)")
                expectCompacted(pastRead, "\(node.id) GET ?revision=\(old)")
            }

            // History after the compaction is still served: a watch from it replays k6...k9.
            let replay = try await WatchFollower.start(follower.client.watchURL("prefix=cp/&start_revision=\(compactAt)"))
            defer { replay.stop() }
            let replayed = try await replay.wait(for: "the writes after the compaction") { $0.count >= 4 }
            #expect(replayed.map(\.revision) == Array(revisions[6...]), "\(replayed)")
            #expect(replayed.map(\.key) == (6..<10).map { "cp/k\($0)" })
            let kept = try await HTTP.send("GET", "\(follower.client.base)/kv/cp/k6?revision=\(revisions[6])")
            #expect(kept.status == 200 && kept.object?["value"] as? String == "v6", "a read at a retained revision: \(kept)")
        }
    }

    @Test("with --history-revisions 20 the leader compacts on its own: an old start is 410, a recent one replays")
    func automaticCompaction() async throws {
        try await TestCluster.with(size: 3, arguments: ["--history-revisions", "20"]) { cluster in
            let leader = try await cluster.leader()
            var revisions: [Int] = []
            for i in 0..<60 {
                revisions.append(Int(try await leader.client.putAcknowledged("ac/k\(i % 3)", "v\(i)")))
            }
            let follower = try #require(cluster.followers(of: leader).first)
            let refusal = try await eventually("the first writes to be compacted away", timeout: .seconds(60)) { () -> HTTPReply? in
                let opening = try await EventStream.open(follower.client.watchURL("prefix=ac/&start_revision=\(revisions[0])"))
                return opening.reply.status == 410 ? opening.reply : nil
            }
            let compactRevision = try #require(refusal.int("compact_revision"), "\(refusal)")
            #expect(compactRevision > revisions[0] && compactRevision <= revisions[59], "\(refusal)")
            let recentStart = revisions[55]
            let recent = try await WatchFollower.start(follower.client.watchURL("prefix=ac/&start_revision=\(recentStart)"))
            defer { recent.stop() }
            let replayed = try await recent.wait(for: "the last four writes") { $0.count >= 4 }
            #expect(replayed.map(\.revision) == Array(revisions[56...]), "\(replayed)")
        }
    }
}
