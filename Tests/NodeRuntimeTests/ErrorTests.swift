import KVStore
import NodeRuntime
import RaftCore
import RuntimeTestSupport
import Testing

extension RuntimeClusterTests {
    @Suite struct Errors {
        @Test func anInvalidKeyIsABadRequestOnEveryNode() async throws {
            try await withRuntimeCluster(voters: 3) { cluster in
                _ = try await cluster.leader()
                for node in cluster.runningNodes {
                    for key in ["", String(repeating: "k", count: KVCommand.maxKeySize + 1)] {
                        let outcome = await Self.outcome { try await node.runtime.submit(.put(key, Array("x".utf8))) }
                        guard case .failure(.badRequest) = outcome else {
                            Issue.record("\(node.id), a key of \(key.utf8.count) bytes: \(outcome)")
                            continue
                        }
                    }
                    let delete = await Self.outcome { try await node.runtime.submit(.delete("")) }
                    guard case .failure(.badRequest) = delete else {
                        Issue.record("\(node.id), deleting the empty key: \(delete)")
                        continue
                    }
                }
                // The longest valid key still goes through.
                let longest = String(repeating: "k", count: KVCommand.maxKeySize)
                _ = try await cluster.runningNodes[0].runtime.submit(.put(longest, Array("fits".utf8)))
                try await cluster.waitUntilEveryNode(has: longest, "fits")
            }
        }

        /// A leader left alone cannot commit: the write fails (unavailable, or timed out
        /// with its outcome unknown) instead of hanging, and so does a linearizable read.
        @Test func withoutAQuorumALeaderFailsWritesAndReads() async throws {
            var options = ClusterOptions()
            options.requestTimeoutMilliseconds = 500
            try await withRuntimeCluster(voters: 3, options: options) { cluster in
                let leader = try await cluster.leader()
                _ = try await leader.runtime.submit(.put("with-quorum", Array("ok".utf8)))
                for follower in try await cluster.followers() { try await cluster.crash(follower.id) }

                let runtime = leader.runtime
                let write = try await finishing("a write without quorum", within: .seconds(60)) {
                    await Self.outcome { try await runtime.submit(.put("without-quorum", Array("lost".utf8))) }
                }
                #expect(Self.isNoQuorum(write), "\(write)")
                let read = try await finishing("a read without quorum", within: .seconds(60)) {
                    await Self.outcome { try await runtime.linearizableBarrier() }
                }
                #expect(Self.isNoQuorum(read), "\(read)")
            }
        }

        /// A follower whose leader and other peer are gone has nowhere to forward to.
        @Test func withoutAQuorumAFollowerFailsWrites() async throws {
            var options = ClusterOptions()
            options.requestTimeoutMilliseconds = 500
            try await withRuntimeCluster(voters: 3, options: options) { cluster in
                let leader = try await cluster.leader()
                let followers = try await cluster.followers()
                let survivor = try #require(followers.first)
                _ = try await survivor.runtime.submit(.put("with-quorum", Array("ok".utf8)))
                try await cluster.crash(leader.id)
                for other in followers.dropFirst() { try await cluster.crash(other.id) }

                let runtime = survivor.runtime
                for attempt in 0..<3 {
                    let write = try await finishing("write \(attempt) without quorum", within: .seconds(60)) {
                        await Self.outcome { try await runtime.submit(.put("without-quorum", Array("lost".utf8))) }
                    }
                    #expect(Self.isNoQuorum(write), "attempt \(attempt): \(write)")
                }
                #expect(try survivor.localValue("without-quorum") == nil)
            }
        }

        static func outcome<T>(_ operation: () async throws -> T) async -> Result<T, RuntimeError> {
            do {
                return .success(try await operation())
            } catch let error as RuntimeError {
                return .failure(error)
            } catch {
                return .failure(.internalError("not a RuntimeError: \(error)"))
            }
        }

        static func isNoQuorum<T>(_ outcome: Result<T, RuntimeError>) -> Bool {
            switch outcome {
            case .failure(.unavailable), .failure(.timedOut): true
            default: false
            }
        }
    }
}
