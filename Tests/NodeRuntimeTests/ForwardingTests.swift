import KVStore
import NodeRuntime
import RaftCore
import RuntimeTestSupport
import Testing

extension RuntimeClusterTests {
    @Suite struct Forwarding {
        @Test func aWriteOnAFollowerIsAppliedOnceAndSeenEverywhere() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                let follower = try #require(try await cluster.followers().first)
                var revisions: [UInt64] = []
                for i in 0..<5 {
                    let command = KVCommand.put("forwarded-\(i)", Array("via \(follower.id)".utf8))
                    let result = try await follower.runtime.submit(command)
                    revisions.append(result.revision)
                    try await cluster.waitUntilEveryNode(has: "forwarded-\(i)", "via \(follower.id)")
                    for node in cluster.runningNodes {
                        #expect(try node.store.stateMachine.get("forwarded-\(i)")?.revision == result.revision)
                    }
                    // Exactly one entry in the log carries the command: the follower's forward
                    // was proposed once, at the index the answer names.
                    let leader = try await cluster.leader()
                    let carrying = try Self.entries(in: leader.store).filter {
                        $0.kind == .normal && (try? KVCommand(decoding: $0.data)) == command
                    }
                    #expect(carrying.map(\.index) == [result.revision])
                }
                #expect(revisions == revisions.sorted() && Set(revisions).count == revisions.count)
            }
        }

        /// Every entry the store's log still holds.
        static func entries(in store: DurableStore) throws -> [Entry] {
            var all: [Entry] = []
            var next = store.log.firstIndex()
            let end = store.log.lastIndex() + 1
            while next < end {
                let batch = try store.log.entries(from: next, to: end, maxBytes: 1 << 20)
                all += batch
                next += UInt64(batch.count)
            }
            return all
        }
    }
}
