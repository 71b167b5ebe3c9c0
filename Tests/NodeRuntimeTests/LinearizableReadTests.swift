import KVStore
import NodeRuntime
import RaftCore
import RuntimeTestSupport
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
    }
}
