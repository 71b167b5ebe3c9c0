import KVStore
@testable import NodeRuntime
import RaftCore
import RuntimeTestSupport
import Synchronization
import Testing

/// Plain puts are answered when their entry commits, before it is applied
/// (`NodeRuntime.takeProposals`); a stale read on the node that answered still sees them
/// (`AcknowledgedWrites`, Docs/API.md "Consistency").
@Suite struct AnswersAtCommitTests {
    @Test func onlyAPlainPutWithoutARequestIDHasItsResultAtCommit() {
        #expect(KVCommand.put("k", [1]).resultIsKnownAtCommit)
        #expect(!KVCommand.put("k", [1], requestID: ClientRequestID(clientID: 1, sequence: 1)).resultIsKnownAtCommit)
        #expect(!KVCommand.delete("k").resultIsKnownAtCommit)
        #expect(!KVCommand(.leaseGrant(ttlSeconds: 5)).resultIsKnownAtCommit)
    }

    @Test func waitersRunOnceWhatWasAcknowledgedBeforeThemIsApplied() {
        let writes = AcknowledgedWrites()
        let ran = Mutex<[String]>([])
        writes.whenApplied { ran.withLock { $0.append("nothing outstanding") } }
        #expect(ran.withLock { $0 } == ["nothing outstanding"])

        writes.acknowledged(10)
        #expect(!writes.allApplied && writes.highestAcknowledged == 10)
        writes.whenApplied { ran.withLock { $0.append("through 10") } }
        writes.acknowledged(12)
        writes.whenApplied { ran.withLock { $0.append("through 12") } }
        writes.applied(through: 9)
        #expect(ran.withLock { $0.count } == 1)
        writes.applied(through: 11)
        #expect(ran.withLock { $0 } == ["nothing outstanding", "through 10"])
        writes.applied(through: 12)
        #expect(writes.allApplied)
        #expect(ran.withLock { $0 } == ["nothing outstanding", "through 10", "through 12"])

        // A node whose applies stopped (full disk, shutdown) keeps nobody waiting.
        writes.acknowledged(20)
        writes.whenApplied { ran.withLock { $0.append("released") } }
        writes.setReleased(true)
        #expect(ran.withLock { $0.last } == "released" && writes.allApplied)
        writes.setReleased(false)
        #expect(!writes.allApplied)
    }

    /// Each answer carries its entry's index, the node reports at least that revision at
    /// once, and a stale read after its barrier sees the value, while other writes keep the
    /// write thread busy.
    @Test func aStaleReadOnTheAnsweringNodeSeesEveryPlainPutItAnswered() async throws {
        try await withRuntimeCluster(voters: 3) { cluster in
            let leader = try await cluster.leader()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        for round in 0..<40 {
                            let key = "w\(writer)"
                            let value = Array("\(round)".utf8)
                            let written = try await leader.runtime.submit(.put(key, value))
                            #expect(leader.runtime.answerRevision() >= written.revision)
                            await leader.runtime.staleReadBarrier()
                            let record = try leader.store.stateMachine.get(key)
                            #expect(record?.value == value && record?.revision == written.revision, "\(key) round \(round)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            // Through a follower (forwarded, answered by the leader at commit) the same write
            // is readable after a linearizable barrier anywhere.
            let follower = try #require(try await cluster.followers().first)
            let forwarded = try await follower.runtime.submit(.put("forwarded", Array("f".utf8)))
            try await follower.runtime.linearizableBarrier()
            #expect(try follower.store.stateMachine.get("forwarded")?.revision == forwarded.revision)
        }
    }
}
