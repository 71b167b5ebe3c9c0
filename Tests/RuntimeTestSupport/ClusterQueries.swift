import KVStore
import NodeRuntime
import RaftCore

/// Questions tests ask of the whole cluster, each polled until it holds or its deadline passes.
extension RuntimeCluster {
    /// The leader every running node agrees on: exactly one running node leads, and every
    /// running node reports it, in the same term.
    public func leader(timeout: Duration = .seconds(30)) async throws -> RuntimeNode {
        try await eventually("one leader every running node agrees on", timeout: timeout) { () async throws -> RuntimeNode? in
            var statuses: [(RuntimeNode, ClusterStatus)] = []
            for node in runningNodes { statuses.append((node, await node.runtime.status())) }
            let leaders = statuses.filter { $0.1.role == .leader }
            guard leaders.count == 1, let (leader, status) = leaders.first else {
                throw HarnessError("leaders: \(leaders.map(\.0.id))")
            }
            guard statuses.allSatisfy({ $0.1.leader == leader.id && $0.1.term == status.term }) else {
                throw HarnessError("views: \(statuses.map { "\($0.0.id): \($0.1.leader.map(\.rawValue) ?? "none")@\($0.1.term)" })")
            }
            return leader
        }
    }

    /// Running nodes other than the current leader.
    public func followers() async throws -> [RuntimeNode] {
        let leader = try await leader()
        return runningNodes.filter { $0.id != leader.id }
    }

    /// Runs `operation` on whichever node leads, retrying (on the new leader, if it moved)
    /// until it succeeds: for calls only a leader takes, such as `join` and `remove`.
    public func onLeader<T>(_ what: String, timeout: Duration = .seconds(30),
                            _ operation: (RuntimeNode) async throws -> T) async throws -> T {
        try await eventually(what, timeout: timeout) { () async throws -> T? in
            for node in runningNodes where await node.runtime.isLeader {
                return try await operation(node)
            }
            throw HarnessError("no running node leads")
        }
    }

    /// Waits until every running node's state machine holds `value` for `key` (nil: absent).
    public func waitUntilEveryNode(has key: String, _ value: String?, timeout: Duration = .seconds(30)) async throws {
        try await eventually("every running node to hold \(key) = \(value ?? "nothing")", timeout: timeout) { () async throws -> Bool? in
            for node in runningNodes {
                let held = try node.localValue(key)
                guard held == value else { throw HarnessError("\(node.id) holds \(held ?? "nothing")") }
            }
            return true
        }
    }

    /// Writes `count` keys `prefix0...` through `node`, each acknowledged before the next.
    /// Plain puts, one after the other; on return they are applied on `node` too (a plain put
    /// is answered when it commits, a moment before its node applies it), so its store's
    /// revision covers them.
    public func write(_ count: Int, keysPrefixed prefix: String, through node: RuntimeNode) async throws {
        for i in 0..<count {
            _ = try await node.runtime.submit(.put("\(prefix)\(i)", Array("value-\(i)".utf8)))
        }
        await node.runtime.staleReadBarrier()
    }
}
