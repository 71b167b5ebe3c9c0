import KVStore
import NodeRuntime
import RaftCore
import RuntimeTestSupport
import Synchronization
import Testing

extension RuntimeClusterTests {
    @Suite struct LinearizableReads {
        /// For every ordered pair of nodes: a write acknowledged by one is what the other
        /// reads right after its barrier, with no waiting for replication in between.
        @Test func aBarrierOnAnyNodeSeesEveryAcknowledgedWrite() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                _ = try await cluster.leader()
                let nodes = cluster.runningNodes
                for writer in nodes {
                    for reader in nodes where reader.id != writer.id {
                        let key = "\(writer.id)-to-\(reader.id)"
                        let written = try await writer.runtime.submit(.put(key, Array("from \(writer.id)".utf8)))
                        try await reader.runtime.linearizableBarrier()
                        let record = try reader.store.stateMachine.get(key)
                        #expect(record?.value == Array("from \(writer.id)".utf8), "\(key)")
                        #expect(record?.revision == written.revision, "\(key)")
                    }
                }
                // An overwrite and a delete are seen the same way.
                let (first, second) = (nodes[0], nodes[1])
                _ = try await first.runtime.submit(.put("shared", Array("one".utf8)))
                _ = try await second.runtime.submit(.put("shared", Array("two".utf8)))
                try await first.runtime.linearizableBarrier()
                #expect(try first.localValue("shared") == "two")
                _ = try await first.runtime.submit(.delete("shared"))
                try await second.runtime.linearizableBarrier()
                #expect(try second.localValue("shared") == nil)
            }
        }

        /// Reads that reach a follower together share read indexes (NodeRuntime+Reads.swift),
        /// and each still sees every write acknowledged before it began.
        @Test func concurrentReadsOnAFollowerShareReadIndexesAndSeeEveryAcknowledgedWrite() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                let leader = try await cluster.leader()
                let follower = try #require(try await cluster.followers().first)
                let acknowledged = HighestAcknowledged()
                _ = try await leader.runtime.submit(.put("counter", Array("0".utf8)))
                let readers = 200
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for value in 1...30 {
                            _ = try await leader.runtime.submit(.put("counter", Array("\(value)".utf8)))
                            acknowledged.value.store(value, ordering: .sequentiallyConsistent)
                        }
                    }
                    for _ in 0..<readers {
                        group.addTask {
                            let floor = acknowledged.value.load(ordering: .sequentiallyConsistent)
                            try await follower.runtime.linearizableBarrier()
                            let seen = try #require(Int(try follower.localValue("counter") ?? ""))
                            #expect(seen >= floor, "read \(seen) after \(floor) was acknowledged")
                        }
                    }
                    try await group.waitForAll()
                }
                let metrics = follower.metrics.snapshot
                #expect(metrics.linearizableReads == UInt64(readers))
                #expect(metrics.readIndexRequests < UInt64(readers), "\(metrics.readIndexRequests) read indexes for \(readers) reads")
            }
        }
    }
}

/// The newest counter value a writer has had acknowledged, shared with concurrent readers.
private final class HighestAcknowledged: Sendable {
    let value = Atomic<Int>(0)
}
