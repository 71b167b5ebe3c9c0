import KVStore
import NodeRuntime
import RaftCore
import RuntimeTestSupport
import Synchronization
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

        /// Writes that reach a follower together travel to the leader together
        /// (`proposeBatch`): each is still applied exactly once, in the order submitted, and
        /// answered with its own revision.
        @Test func writesGatheredOnAFollowerAreForwardedInBatchesAndEachAppliedOnce() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                let follower = try #require(try await cluster.followers().first)
                let count = 300
                let answers = AnswerBox(count: count)
                // One tight loop: the follower's actor drains what gathered meanwhile in one
                // turn, so far fewer requests than writes leave it.
                for i in 0..<count {
                    follower.runtime.submit(.put("batched-\(i)", Array("value \(i)".utf8)),
                                            identity: i % 2 == 0 ? "app" : nil) { answers.set(i, $0) }
                }
                let results = try await eventually("every forwarded write answered") { answers.all }
                var revisions: [UInt64] = []
                for (i, result) in results.enumerated() {
                    let revision = try result.get().revision
                    revisions.append(revision)
                    try await cluster.waitUntilEveryNode(has: "batched-\(i)", "value \(i)")
                    #expect(try follower.store.stateMachine.get("batched-\(i)")?.revision == revision)
                }
                #expect(Set(revisions).count == count, "each write at a revision of its own")
                #expect(revisions == revisions.sorted(), "applied in the order submitted")
                let leader = try await cluster.leader()
                let carrying = try Self.entries(in: leader.store).filter { entry in
                    guard entry.kind == .normal, case .put(let key, _)? = (try? KVCommand(decoding: entry.data))?.operation else {
                        return false
                    }
                    return key.hasPrefix("batched-")
                }
                #expect(carrying.count == count, "no write proposed twice")
                let metrics = follower.metrics.snapshot
                #expect(metrics.forwardedWrites == UInt64(count))
                #expect(metrics.forwardRequests < UInt64(count), "\(metrics.forwardRequests) requests for \(count) writes")
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

/// Answers that arrive on any thread, by submission index.
final class AnswerBox: Sendable {
    private let state: Mutex<[Result<KVResult, RuntimeError>?]>

    init(count: Int) { state = Mutex(Array(repeating: nil, count: count)) }

    func set(_ index: Int, _ result: Result<KVResult, RuntimeError>) { state.withLock { $0[index] = result } }

    /// Every answer, once all are in.
    var all: [Result<KVResult, RuntimeError>]? {
        state.withLock { answers in answers.allSatisfy { $0 != nil } ? answers.compactMap { $0 } : nil }
    }
}
