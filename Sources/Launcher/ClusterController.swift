import Foundation
import Logging
import NIOCore

/// The control API's operations: start, stop, kill, pause, resume, restart, add and
/// decommission nodes, with the quorum check in front of the disruptive ones.
///
/// Actions run one at a time (see `SerialGate`); reads (`nodes`, `quorum`, `logs`) do not wait.
public actor ClusterController {
    public nonisolated let supervisor: Supervisor
    public nonisolated let monitor: StatusMonitor
    private let api: any NodeAPI
    private let events: EventHub
    private let logger: Logger
    private let gate = SerialGate()

    public init(supervisor: Supervisor, monitor: StatusMonitor, api: any NodeAPI, events: EventHub, logger: Logger) {
        self.supervisor = supervisor
        self.monitor = monitor
        self.api = api
        self.events = events
        self.logger = logger
    }

    /// Starts every configured node: founders bootstrap on the first start, later starts only resume.
    public func startAll() async {
        let snapshot = await supervisor.snapshot()
        for node in snapshot.config.nodes where !snapshot.record(node.id).state.hasProcess {
            do {
                try await supervisor.start(node.id, joinAddress: await joinAddress(excluding: node.id))
            } catch {
                logger.error("cannot start \(node.id): \(error)")
            }
        }
    }

    public func shutdown() async {
        await gate.acquire()
        await supervisor.stopAll()
        await gate.release()
    }

    // MARK: Reads

    public func nodes() async -> [NodeView] { await monitor.views() }

    public func node(_ raw: String) async throws(ControlError) -> NodeView {
        let id = try ControlError.validID(raw)
        guard let view = await monitor.views().first(where: { $0.id == id.rawValue }) else {
            throw .notFound("no node \(id)")
        }
        return view
    }

    public func quorum(_ action: DisruptiveAction, _ raw: String) async throws(ControlError) -> QuorumAssessment {
        let id = try await existing(raw)
        return await monitor.assess(action, target: id)
    }

    public func logs(_ raw: String, lines: Int) async throws(ControlError) -> [String] {
        let id = try await existing(raw)
        return LogTail.lines(atPath: await supervisor.logPath(for: id), count: min(max(lines, 1), 2000))
    }

    // MARK: Actions

    public func start(_ raw: String) async throws(ControlError) -> NodeView {
        try await act(on: raw) { id throws(ControlError) in
            try await supervisor.start(id, joinAddress: await joinAddress(excluding: id))
        }
    }

    /// The view afterwards, and whether there was a process to stop.
    public func stop(_ raw: String, force: Bool) async throws(ControlError) -> (NodeView, Bool) {
        var stopped = false
        let view = try await act(on: raw) { id throws(ControlError) in
            if await supervisor.snapshot().record(id).state.hasProcess { try await checkQuorum(.stop, id, force: force) }
            stopped = try await supervisor.stop(id)
        }
        return (view, stopped)
    }

    public func restart(_ raw: String, force: Bool) async throws(ControlError) -> NodeView {
        try await act(on: raw) { id throws(ControlError) in
            if await supervisor.snapshot().record(id).state.hasProcess {
                try await checkQuorum(.restart, id, force: force)
                try await supervisor.stop(id)
            }
            try await supervisor.start(id, joinAddress: await joinAddress(excluding: id))
        }
    }

    public func kill(_ raw: String, force: Bool) async throws(ControlError) -> NodeView {
        try await act(on: raw) { id throws(ControlError) in
            try await checkQuorum(.kill, id, force: force)
            try await supervisor.kill(id)
        }
    }

    public func pause(_ raw: String, force: Bool) async throws(ControlError) -> NodeView {
        try await act(on: raw) { id throws(ControlError) in
            try await checkQuorum(.pause, id, force: force)
            try await supervisor.pause(id)
        }
    }

    public func resume(_ raw: String) async throws(ControlError) -> NodeView {
        try await act(on: raw) { id throws(ControlError) in try await supervisor.resume(id) }
    }

    /// Reserves ports for a new node and starts it with `--join`; the leader admits it as a
    /// learner and promotes it once it has caught up. Without a name the next nodeN is used.
    public func add(_ raw: String?) async throws(ControlError) -> NodeView {
        let requested = try raw.map { (s: String) throws(ControlError) -> NodeID in try ControlError.validID(s) }
        return try await serialized { () async throws(ControlError) -> NodeView in
            let id: NodeID
            if let requested { id = requested } else { id = await supervisor.suggestedName() }
            _ = try await supervisor.addNode(id)
            do throws(ControlError) {
                try await supervisor.start(id, joinAddress: await joinAddress(excluding: id))
            } catch {
                // Keep the configuration honest: a node that never ran is not left behind.
                try? await supervisor.forget(id)
                throw error
            }
            return try await refreshed(id)
        }
    }

    /// Removes the node from the Raft configuration through the leader (also when the node is
    /// already stopped), stops it, and deletes its data directory.
    public func delete(_ raw: String, force: Bool) async throws(ControlError) {
        let id = try await existing(raw)
        try await serialized { () async throws(ControlError) in
            try await checkQuorum(.delete, id, force: force)
            // Only a node a leader has never listed (an added node that was never admitted)
            // skips the removal; when in doubt, ask: a non-member answers 404, which is fine.
            let listed = await monitor.isMember(id)
            let known = await monitor.knowsMembership()
            if listed || !known {
                try await removeThroughLeader(id)
            }
            try await supervisor.stop(id)
            try await supervisor.forget(id)
            await monitor.pollOnce()
            events.record(.nodeRemoved, node: id, "\(id) decommissioned: removed from the cluster and its data deleted", severity: .warning)
        }
    }

    /// Asks the leader to hand leadership to `raw` (`POST /cluster/transfer-leader`) and
    /// returns once `raw` leads, with the term it leads in. A learner, a voter that is not
    /// caught up, or an unknown member is the node's 409 or 404, passed on.
    public func transferLeader(to raw: String) async throws(ControlError) -> (NodeView, UInt64) {
        try await serialized { () async throws(ControlError) -> (NodeView, UInt64) in
            let id = try await existing(raw)
            let candidates = await leaderFirst()
            guard !candidates.isEmpty else { throw .unavailable("no node answers, so no leader can hand over to \(id)") }
            let body = ByteBuffer(string: #"{"to":"\#(id.rawValue)"}"#)
            var lastError = ControlError.unavailable("no node answered")
            for node in candidates {
                let response: NodeResponse
                do {
                    response = try await api.send(NodeRequest(method: "POST", target: "/cluster/transfer-leader", body: body),
                                                  apiPort: node.apiPort)
                } catch {
                    lastError = .unavailable("\(node.id): \(error)")
                    continue
                }
                if response.status == 200 {
                    let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any]
                    let term = (object?["term"] as? NSNumber)?.uint64Value ?? 0
                    return (try await refreshed(id), term)
                }
                lastError = KVGateway.error(from: response, node: node.id)
                // The leader's refusal stands; only an unavailable node is worth asking past.
                if response.status != 503 { break }
            }
            throw lastError
        }
    }

    // MARK: Helpers

    private func serialized<T>(_ body: () async throws(ControlError) -> T) async throws(ControlError) -> T {
        await gate.acquire()
        do {
            let result = try await body()
            await gate.release()
            return result
        } catch {
            await gate.release()
            throw error
        }
    }

    /// What every process action shares: the node must be configured, actions take turns, and
    /// the answer is the node as polled after `body` ran.
    private func act(on raw: String, _ body: (NodeID) async throws(ControlError) -> Void) async throws(ControlError) -> NodeView {
        let id = try await existing(raw)
        return try await serialized { () async throws(ControlError) -> NodeView in
            try await body(id)
            return try await refreshed(id)
        }
    }

    /// Views after an action, polled afresh so the answer and the event stream agree.
    private func refreshed(_ id: NodeID) async throws(ControlError) -> NodeView {
        await monitor.pollOnce()
        return try await node(id.rawValue)
    }

    private func existing(_ raw: String) async throws(ControlError) -> NodeID {
        let id = try ControlError.validID(raw)
        guard await supervisor.snapshot().config.node(id) != nil else { throw .notFound("no node \(id)") }
        return id
    }

    private func checkQuorum(_ action: DisruptiveAction, _ id: NodeID, force: Bool) async throws(ControlError) {
        let assessment = await monitor.assess(action, target: id)
        if !assessment.keepsQuorum && !force { throw .quorum(assessment) }
    }

    /// The API address a joining node should contact: the leader's, else any other node that
    /// answers, else any other configured node (kv-node keeps retrying until admitted).
    private func joinAddress(excluding id: NodeID) async -> String? {
        let config = await supervisor.snapshot().config
        guard config.node(id)?.founder == false else { return nil }
        let online = await monitor.onlineNodes()
        let others = config.nodes.filter { $0.id != id }
        let chosen: NodeConfig? =
            if let leader = await monitor.knownLeader(), let node = config.node(leader), leader != id { node }
            else { others.first { online.contains($0.id) } ?? others.first }
        return chosen.map { "\(NodeArguments.nodeHost):\($0.apiPort)" }
    }

    /// Nodes to send a leader-only request to, in order: the known leader (answering or not),
    /// then every other node that answers.
    private func leaderFirst() async -> [NodeConfig] {
        let config = await supervisor.snapshot().config
        let online = await monitor.onlineNodes()
        var candidates: [NodeConfig] = []
        if let leader = await monitor.knownLeader(), let node = config.node(leader) { candidates.append(node) }
        candidates += config.nodes.filter { online.contains($0.id) && !candidates.map(\.id).contains($0.id) }
        return candidates
    }

    private func removeThroughLeader(_ id: NodeID) async throws(ControlError) {
        // Ask the leader; a follower would redirect there anyway, so any answering node will do.
        let candidates = await leaderFirst()
        guard !candidates.isEmpty else {
            throw .unavailable("no node answers, so \(id) cannot be removed from the Raft configuration; start a voter first")
        }
        let body = ByteBuffer(string: #"{"id":"\#(id.rawValue)"}"#)
        var lastError = "no answer"
        for node in candidates {
            do {
                let response = try await api.send(
                    NodeRequest(method: "POST", target: "/cluster/remove", body: body), apiPort: node.apiPort)
                if (200..<300).contains(response.status) { return }
                let message = String(buffer: response.body)
                if response.status == 404 { return }  // not a member: nothing to remove
                lastError = "\(node.id) answered \(response.status): \(message)"
                if response.status == 400 || response.status == 409 { break }
            } catch {
                lastError = "\(node.id): \(error)"
            }
        }
        throw .unavailable("could not remove \(id) from the Raft configuration: \(lastError)")
    }
}
