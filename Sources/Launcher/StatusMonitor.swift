import ClusterAPI
import Foundation
import Logging

/// Polls every running node's `/cluster/status` about twice a second, turns the answers into
/// `NodeView`s, notices what changed (leader, term, membership, reachability) for the timeline,
/// and measures writes per second from commit index deltas.
public actor StatusMonitor {
    /// A node counts as online while its last successful poll is younger than this: a few
    /// polls, so one slow answer on a busy machine does not flap the dashboard.
    public static let onlineWindow: TimeInterval = 2.5

    struct Observation {
        /// The process the answers came from; a restarted node starts a new observation.
        var pid: Int32?
        var current: NodeStatus?
        var lastKnown: NodeStatus?
        var lastSuccess: Date?
        var online = false
    }

    private let supervisor: Supervisor
    private let api: any NodeAPI
    private let events: EventHub
    private let logger: Logger
    public nonisolated let interval: Duration

    private var observations: [NodeID: Observation] = [:]
    /// The member list last reported by a leader: the voters for quorum checks.
    private var members: [MemberStatus] = []
    private var membersFromLeader = false
    private var lastLeader: NodeID?
    private var lastTerm: UInt64 = 0
    private var throughputAnchor: (time: ContinuousClock.Instant, commit: UInt64)?
    private var lastSnapshot: ClusterSnapshot?
    /// Polls from the loop and from control actions take turns, so their updates never interleave.
    private let gate = SerialGate()

    public init(supervisor: Supervisor, api: any NodeAPI, events: EventHub, logger: Logger, interval: Duration = .milliseconds(500)) {
        self.supervisor = supervisor
        self.api = api
        self.events = events
        self.logger = logger
        self.interval = interval
    }

    /// Polls until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            let started = ContinuousClock.now
            await pollOnce()
            let remaining = interval - (ContinuousClock.now - started)
            if remaining > .zero { try? await Task.sleep(for: remaining) }
        }
    }

    /// One round: poll, update, publish. Control actions call it so their answer and the event
    /// stream show the effect at once; tests call it to step the monitor deterministically.
    public func pollOnce() async {
        await gate.acquire()
        await poll()
        await gate.release()
    }

    private func poll() async {
        let snapshot = await supervisor.snapshot()
        let targets = snapshot.config.nodes.compactMap { node -> (NodeID, Int, Int32)? in
            let record = snapshot.record(node.id)
            guard record.state == .running, let pid = record.pid else { return nil }
            return (node.id, node.apiPort, pid)
        }
        let api = self.api
        let answers = await withTaskGroup(of: (NodeID, Int32, NodeStatus?).self) { group in
            for (id, port, pid) in targets {
                group.addTask { (id, pid, try? await api.status(apiPort: port)) }
            }
            var answers: [(NodeID, Int32, NodeStatus?)] = []
            for await answer in group { answers.append(answer) }
            return answers
        }
        let now = Date()
        for (id, pid, status) in answers {
            var observation = observations[id] ?? Observation()
            if observation.pid != pid {
                observation.pid = pid
                observation.current = nil
                observation.lastSuccess = nil
            }
            if let status {
                observation.current = status
                observation.lastKnown = status
                observation.lastSuccess = now
            }
            observations[id] = observation
        }
        await update(snapshot: snapshot, now: now)
    }

    private func update(snapshot: SupervisorSnapshot, now: Date) async {
        // Reachability.
        for node in snapshot.config.nodes {
            let record = snapshot.record(node.id)
            var observation = observations[node.id] ?? Observation()
            let fresh = observation.lastSuccess.map { now.timeIntervalSince($0) < StatusMonitor.onlineWindow } ?? false
            let online = record.state == .running && record.pid == observation.pid && fresh
            if online && !observation.online {
                events.record(.nodeOnline, node: node.id, "\(node.id) is answering (\(observation.current?.role ?? "unknown"))", severity: .success)
            } else if !online && observation.online && record.state == .running {
                events.record(.nodeUnreachable, node: node.id, "\(node.id) stopped answering", severity: .warning)
            }
            observation.online = online
            if !online { observation.current = nil }
            observations[node.id] = observation
        }
        observations = observations.filter { id, _ in snapshot.config.node(id) != nil }

        let leaderStatus = currentLeaderStatus()
        if let leaderStatus {
            diffMembership(old: membersFromLeader ? members : nil, new: leaderStatus.members)
            members = leaderStatus.members
            membersFromLeader = true
        } else if members.isEmpty, let any = observations.values.compactMap(\.current).first(where: { !$0.members.isEmpty }) {
            members = any.members
        }
        let leader = leaderStatus.flatMap { NodeID($0.id) }
        let term = observations.values.compactMap(\.current?.term).max() ?? lastTerm
        if leader != lastLeader {
            if let leader {
                events.record(.leaderElected, node: leader, "\(leader) is the leader (term \(leaderStatus?.term ?? term))", severity: .success)
                await supervisor.markBootstrapped()
            } else if let lastLeader {
                events.record(.leaderLost, node: lastLeader, "No leader: \(lastLeader) no longer leads", severity: .error)
            }
        } else if term > lastTerm && lastTerm > 0 {
            events.record(.termChanged, "Term \(lastTerm) → \(term): an election is under way", severity: .warning)
        }
        lastLeader = leader
        lastTerm = max(lastTerm, term)

        let cluster = makeSnapshot(from: snapshot, leader: leader, term: lastTerm, now: now)
        lastSnapshot = cluster
        events.publish(cluster)
        sampleThroughput()
    }

    /// The answering leader with the highest term (two can briefly claim it across a partition).
    private func currentLeaderStatus() -> NodeStatus? {
        observations.values.compactMap(\.current).filter(\.isLeader).max { $0.term < $1.term }
    }

    private func diffMembership(old: [MemberStatus]?, new: [MemberStatus]) {
        guard let old else { return }
        let before = Dictionary(old.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let after = Dictionary(new.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for (id, member) in after.sorted(by: { $0.key < $1.key }) {
            let nodeID = NodeID(id)
            if let previous = before[id] {
                if !previous.voter && member.voter {
                    events.record(.nodePromoted, node: nodeID, "\(id) caught up and is now a voter", severity: .success)
                }
            } else {
                let role = member.voter ? "a voter" : "a learner"
                events.record(.nodeJoined, node: nodeID, "\(id) joined the cluster as \(role)", severity: .success)
            }
        }
        for id in before.keys.sorted() where after[id] == nil {
            events.record(.nodeRemoved, node: NodeID(id), "\(id) left the Raft configuration", severity: .warning)
        }
    }

    private func sampleThroughput() {
        let now = ContinuousClock.now
        let commit = observations.values.compactMap(\.current?.commitIndex).max()
        guard let anchor = throughputAnchor else {
            if let commit { throughputAnchor = (now, commit) }
            return
        }
        let elapsed = now - anchor.time
        guard elapsed >= .seconds(1) else { return }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let current = commit ?? anchor.commit
        let rate = (current > anchor.commit ? Double(current - anchor.commit) : 0) / seconds
        throughputAnchor = (now, max(current, anchor.commit))
        events.publish(ThroughputSample(time: Date().millisecondsSince1970, writesPerSecond: rate, commitIndex: Int(clamping: current)))
    }

    // MARK: Queries

    /// Voters from the leader's member list; before any node
    /// reported members, the founders.
    public func voters(config: ClusterConfig) -> Set<NodeID> {
        if members.isEmpty { return Set(config.nodes.filter(\.founder).map(\.id)) }
        return Set(members.filter(\.voter).compactMap { NodeID($0.id) })
    }

    public func onlineNodes() -> Set<NodeID> {
        Set(observations.filter { $0.value.online }.map(\.key))
    }

    public func isMember(_ id: NodeID) -> Bool {
        members.contains { $0.id == id.rawValue }
    }

    /// Whether `isMember` rests on a leader's member list (rather than on nothing yet).
    public func knowsMembership() -> Bool { membersFromLeader }

    public func knownLeader() -> NodeID? { lastLeader }

    public func latestSnapshot() async -> ClusterSnapshot {
        if let lastSnapshot { return lastSnapshot }
        let snapshot = await supervisor.snapshot()
        return makeSnapshot(from: snapshot, leader: nil, term: 0, now: Date())
    }

    /// Views built from the supervisor's state now and the latest poll answers, so a control
    /// action's effect on the process shows at once.
    public func views() async -> [NodeView] {
        let snapshot = await supervisor.snapshot()
        return buildViews(from: snapshot, leader: lastLeader)
    }

    public func assess(_ action: DisruptiveAction, target: NodeID) async -> QuorumAssessment {
        let snapshot = await supervisor.snapshot()
        let up = onlineNodes().filter { snapshot.record($0).state == .running }
        return QuorumAssessment.assess(action, target: target, voters: voters(config: snapshot.config), up: up)
    }

    private func makeSnapshot(from snapshot: SupervisorSnapshot, leader: NodeID?, term: UInt64, now: Date) -> ClusterSnapshot {
        let views = buildViews(from: snapshot, leader: leader)
        let voters = voters(config: snapshot.config)
        let up = onlineNodes().intersection(voters).count
        return ClusterSnapshot(
            time: now.millisecondsSince1970, nodes: views, leader: leader?.rawValue, term: Int(clamping: term),
            voters: voters.count, votersUp: up,
            hasQuorum: !voters.isEmpty && up >= QuorumAssessment.majority(of: voters.count))
    }

    private func buildViews(from snapshot: SupervisorSnapshot, leader: NodeID?) -> [NodeView] {
        let memberByID = Dictionary(members.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return snapshot.config.nodes.map { node in
            let record = snapshot.record(node.id)
            let observation = observations[node.id]
            // The process state is newer than the last poll: a node killed a moment ago is offline now.
            let answering = observation?.online == true && record.state == .running && record.pid == observation?.pid
            let current = answering ? observation?.current : nil
            let known = observation?.lastKnown
            let member = memberByID[node.id.rawValue]
            let isLeader = current?.isLeader == true && leader == node.id
            return NodeView(
                id: node.id.rawValue, apiPort: node.apiPort, raftPort: node.raftPort,
                status: current != nil ? .online : .offline,
                role: current?.role ?? "unknown", isLeader: isLeader,
                term: Int(clamping: known?.term ?? 0), commitIndex: Int(clamping: known?.commitIndex ?? 0),
                appliedIndex: Int(clamping: known?.appliedIndex ?? 0),
                pid: record.pid.map(Int.init), state: record.state,
                exitCode: record.lastExit?.exitCode.map(Int.init), exitSignal: record.lastExit?.signal.map(Int.init),
                voter: member?.voter, member: member != nil,
                matchIndex: (isLeader ? known?.commitIndex : member?.matchIndex).map(Int.init(clamping:)),
                lag: isLeader ? 0 : member?.lag.map(Int.init(clamping:)), lastContactMilliseconds: isLeader ? 0 : member?.lastContactMilliseconds,
                leader: current?.leader, founder: node.founder,
                startedAt: record.startedAt?.millisecondsSince1970,
                lastSeen: observation?.lastSuccess?.millisecondsSince1970,
                dataDirectory: supervisor.dataDirectory.appendingPathComponent(node.id.rawValue).path)
        }
    }
}
