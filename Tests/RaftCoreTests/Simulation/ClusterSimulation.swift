import RaftCore

/// A whole Raft cluster in one deterministic loop: simulated time, a faulty network,
/// crashes that keep only what was persisted, client writes and reads, and (optionally)
/// snapshots, membership changes and leadership transfers at random points. One seed
/// decides everything, so any failure replays exactly.
struct ClusterSimulation {
    struct Options {
        var voters = 3
        /// Extra node ids that membership changes may add.
        var spareNodes = 2
        var steps = 4_000
        var snapshots = true
        var membershipChanges = true
        var leadershipTransfers = true
        var reads = true
        /// Multiplies crash, restart and partition rates: high churn makes rare histories
        /// (like the paper's Figure 8) common.
        var churn = 1
        /// Steps allowed after the faults stop for the cluster to converge.
        var convergenceSteps = 4_000
        /// Mix `HostileTraffic` into the network: forged messages that every node must drop.
        var hostileTraffic = false
    }

    /// Simulated time advances in steps; every node ticks once per `stepsPerTick` steps.
    static let stepsPerTick = 10

    let seed: UInt64
    let options: Options
    private var random: SplitMix64
    private var network = SimulatedNetwork()
    private var nodes: [NodeID: SimulatedNode] = [:]
    private var checker = SafetyChecker()
    private var now = 0
    private var faultsActive = true

    // Client bookkeeping.
    private var nextCommand: UInt64 = 0
    private var outstandingWrites: [(node: NodeID, receipt: ProposalReceipt, data: [UInt8])] = []
    private var acknowledgedWrites: [(index: UInt64, data: [UInt8])] = []
    private var highestAcknowledged: UInt64 = 0
    private var nextReadID: UInt64 = 0
    /// Read id → (node asked, the applied index every completed write needs).
    private var outstandingReads: [UInt64: (node: NodeID, mustSee: UInt64)] = [:]
    private(set) var servedReads = 0
    /// Hostile messages injected, and how many of them (or anything else) nodes dropped.
    private(set) var hostileSent = 0
    private(set) var hostileDropped = 0
    /// Nodes added as learners whose change the leader has not applied yet.
    private var joining: Set<NodeID> = []
    private var retired: Set<NodeID> = []

    init(seed: UInt64, options: Options = Options()) {
        self.seed = seed
        self.options = options
        self.random = SplitMix64(seed: seed)
        let founders = (1...options.voters).map { NodeID("n\($0)") }
        let bootstrap = RaftNode.bootstrapEntries(voters: founders.map { ($0, []) })
        for id in founders {
            let node = SimulatedNode(id: id)
            node.storage.append(bootstrap.entries)
            node.storage.setHardState(bootstrap.hardState)
            nodes[id] = node
            node.start(config: config(for: id))
        }
    }

    private func config(for id: NodeID) -> RaftConfig {
        let node = nodes[id]
        var config = RaftConfig(id: id, randomSeed: seed &* 31 &+ UInt64(abs(id.rawValue.hashValueStable)) &+ UInt64(node?.restarts ?? 0))
        config.electionTicks = 10
        config.heartbeatTicks = 2
        // Small limits so batching, flow control and chunking are exercised constantly. Some
        // seeds send one entry per message, which lets a leader's no-op trail the entries
        // before it (the situation the Figure 8 rule exists for).
        config.maxMessageBytes = [1, 256, 4_096][Int(seed % 3)]
        config.maxInflightMessages = 4
        config.snapshotChunkBytes = 1_024
        config.maxUncommittedBytes = 4_096
        return config
    }

    private var sortedNodes: [SimulatedNode] { nodes.keys.sorted().map { nodes[$0]! } }

    // MARK: Running

    mutating func run() throws(SimulationFailure) {
        for _ in 0..<options.steps {
            try step()
            randomFault()
            randomClientActivity()
            if options.hostileTraffic { injectHostileTraffic() }
            try processReadies()
        }
        try converge()
    }

    /// Hands a live node a forged message now and then, as an attacker on the network would.
    private mutating func injectHostileTraffic() {
        guard chance(5), let id = pick(nodes.keys.sorted().filter({ nodes[$0]!.isUp })),
              let target = nodes[id]?.raft else { return }
        let members = target.configuration.members.sorted()
        let message = HostileTraffic.message(to: target, members: members, random: &random)
        hostileSent += 1
        let droppedBefore = target.droppedMessages.total
        nodes[id]!.raft!.step(message)
        if nodes[id]!.raft!.droppedMessages.total > droppedBefore { hostileDropped += 1 }
    }

    private mutating func step() throws(SimulationFailure) {
        now += 1
        for node in sortedNodes where node.isUp {
            // Nodes tick at staggered offsets so their timers are not in lockstep.
            if (now + Int(node.id.rawValue.hashValueStable % 7)) % Self.stepsPerTick == 0 {
                node.raft!.tick()
            }
        }
        for message in network.deliverable(now: now) {
            guard let node = nodes[message.to], node.isUp else { continue }
            node.raft!.step(message)
        }
        try processReadies()
    }

    private mutating func processReadies() throws(SimulationFailure) {
        var progressed = true
        var rounds = 0
        while progressed {
            progressed = false
            rounds += 1
            for node in sortedNodes where node.raft?.hasReady == true {
                if rounds > 1_000 {
                    throw SimulationFailure("\(node.id) keeps producing Ready values: \(node.raft!.ready())")
                }
                progressed = true
                try handleReady(of: node)
            }
        }
        try checker.check(sortedNodes)
    }

    private mutating func handleReady(of node: SimulatedNode) throws(SimulationFailure) {
        let ready = node.raft!.ready()
        // A leader replicates while its own write is under way.
        network.send(ready.replicationMessages, now: now, random: &random)
        // Sometimes messages arrive while the batch is being persisted (group commit), and
        // the node takes what they committed at once, as kv-node does during its write.
        // The write takes a few steps: what is due in them arrives meanwhile.
        var committedMeanwhile: [Entry] = []
        if faultsActive && chance(10) {
            for message in network.deliverable(now: now + 3) {
                guard let target = nodes[message.to], target.isUp else { continue }
                target.raft!.step(message)
            }
            if chance(50) { committedMeanwhile = node.raft!.takeCommittedEntries() }
        }
        // A crash before the batch is durable loses all of it but what already left.
        if faultsActive && chance(1) && (ready.mustSync || !ready.committedEntries.isEmpty) {
            crash(node)
            return
        }
        node.persist(ready)
        network.send(ready.messages, now: now, random: &random)
        let applied = ready.committedEntries + committedMeanwhile
        if let failure = node.apply(applied) { throw failure }
        if ready.mustSync { node.synced() }
        acknowledgeWrites(on: node, applied: applied)
        node.confirmedReads.append(contentsOf: ready.readStates)
        for abandoned in ready.abandonedReads { outstandingReads[abandoned] = nil }
        node.raft!.advance(ready)
        try serveReads(on: node)
        retireRemovedNodes()
    }

    // MARK: Faults and operations

    private mutating func randomFault() {
        guard faultsActive else { return }
        let ids = nodes.keys.sorted()
        if chance(2 * options.churn, per: 1_000), let victim = pick(ids.filter { nodes[$0]!.isUp }) {
            crash(nodes[victim]!)
        }
        if chance(20 * options.churn, per: 1_000), let sleeper = pick(ids.filter { !nodes[$0]!.isUp }) {
            restart(nodes[sleeper]!)
        }
        if chance(3 * options.churn, per: 1_000) {
            if network.isPartitioned {
                network.heal()
            } else {
                let shuffled = ids.shuffled(using: &random)
                let cut = 1 + Int(random.next() % UInt64(max(1, shuffled.count - 1)))
                network.split([Array(shuffled[..<cut]), Array(shuffled[cut...])])
            }
        }
        if options.snapshots && chance(5, per: 1_000), let id = pick(ids) {
            nodes[id]!.takeSnapshot()
        }
        guard let leader = currentLeader() else { return }
        if options.leadershipTransfers && chance(2, per: 1_000),
           let target = pick(leader.raft!.configuration.voters.sorted().filter { $0 != leader.id }) {
            try? leader.raft!.transferLeadership(to: target)
        }
        if options.membershipChanges && chance(5, per: 1_000) {
            changeMembership(through: leader)
        }
    }

    private mutating func changeMembership(through leader: SimulatedNode) {
        let conf = leader.raft!.configuration
        let pool = (1...(options.voters + options.spareNodes)).map { NodeID("n\($0)") }
        switch random.next() % 3 {
        case 0:
            // Add a brand-new node as a learner; it starts empty and catches up.
            guard let newcomer = pick(pool.filter { !conf.isMember($0) && nodes[$0] == nil && !retired.contains($0) }) else { return }
            guard (try? leader.raft!.proposeConfChange(ConfChange(kind: .addLearner, node: newcomer))) != nil else { return }
            let node = SimulatedNode(id: newcomer)
            nodes[newcomer] = node
            joining.insert(newcomer)
            node.start(config: config(for: newcomer))
        case 1:
            // Promote a learner that has caught up.
            guard let learner = pick(conf.learners.sorted().filter { leader.raft!.isCaughtUp($0, within: 2) }) else { return }
            _ = try? leader.raft!.proposeConfChange(ConfChange(kind: .addVoter, node: learner))
        default:
            // Remove a member (possibly the leader itself), keeping at least three voters.
            let removable = conf.learners.sorted() + (conf.voters.count > 3 ? conf.voters.sorted() : [])
            guard let victim = pick(removable) else { return }
            _ = try? leader.raft!.proposeConfChange(ConfChange(kind: .remove, node: victim))
        }
    }

    /// A node removed by a change the leader applied leaves the simulation for good (its id
    /// is never reused: a new incarnation could cast a second vote in a term the old one
    /// already voted in).
    private mutating func retireRemovedNodes() {
        checker.advanceCommittedConf()
        let conf = checker.committedConf
        guard !conf.voters.isEmpty else { return }
        joining.subtract(conf.members)
        for id in nodes.keys.sorted() where !conf.isMember(id) && !joining.contains(id) {
            nodes[id] = nil
            retired.insert(id)
        }
    }

    private mutating func crash(_ node: SimulatedNode) {
        node.crash(losingUnsyncedWrites: chance(50))
        outstandingReads = outstandingReads.filter { $0.value.node != node.id }
        outstandingWrites.removeAll { $0.node == node.id }
    }

    private mutating func restart(_ node: SimulatedNode) {
        node.restarts += 1
        node.start(config: config(for: node.id))
    }

    // MARK: Clients

    private mutating func randomClientActivity() {
        if chance(30, per: 100), let leader = currentLeader() {
            nextCommand += 1
            var data = withUnsafeBytes(of: nextCommand.littleEndian) { Array($0) }
            data.append(contentsOf: (0..<Int(random.next() % 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            if let receipt = try? leader.raft!.propose(data) {
                outstandingWrites.append((leader.id, receipt, data))
            }
        }
        if options.reads && chance(10, per: 100), let reader = pick(nodes.keys.sorted().filter({ nodes[$0]!.isUp })) {
            nextReadID += 1
            if (try? nodes[reader]!.raft!.readIndex(requestID: nextReadID)) != nil {
                outstandingReads[nextReadID] = (reader, highestAcknowledged)
            }
        }
    }

    /// A write is acknowledged when the node it was proposed to applies it at the receipt's
    /// index and term; if another entry landed there, the write failed (the client retries).
    private mutating func acknowledgeWrites(on node: SimulatedNode, applied: [Entry]) {
        for entry in applied {
            outstandingWrites.removeAll { write in
                guard write.node == node.id, write.receipt.index == entry.index else { return false }
                if write.receipt.term == entry.term {
                    precondition(write.data == entry.data)
                    acknowledgedWrites.append((entry.index, entry.data))
                    highestAcknowledged = max(highestAcknowledged, entry.index)
                }
                return true
            }
        }
    }

    /// Serves confirmed reads once applied far enough, checking linearizability: the state
    /// read includes every write acknowledged before the read began.
    private mutating func serveReads(on node: SimulatedNode) throws(SimulationFailure) {
        let applied = node.stateMachine.appliedIndex
        let ready = node.confirmedReads.filter { $0.index <= applied }
        node.confirmedReads.removeAll { $0.index <= applied }
        for read in ready {
            guard let request = outstandingReads.removeValue(forKey: read.requestID) else { continue }
            if applied < request.mustSee {
                throw SimulationFailure("stale read \(read.requestID) on \(node.id): state at \(applied) misses a write acknowledged at \(request.mustSee)")
            }
            servedReads += 1
        }
    }

    // MARK: Convergence

    /// Heals everything and checks liveness: a leader emerges and every member applies
    /// every committed entry, within a bounded number of steps.
    private mutating func converge() throws(SimulationFailure) {
        faultsActive = false
        network.heal()
        network.dropPercent = 0
        network.duplicatePercent = 0
        // A healed network delivers in order, as TCP does; with one-entry messages a
        // reordering network would let a far-behind learner catch up only one entry per
        // round trip.
        network.maxDelay = 1
        for node in sortedNodes where !node.isUp { restart(node) }
        for _ in 0..<options.convergenceSteps {
            try step()
            if isConverged() { break }
        }
        if isConverged() {
            // Newcomers whose admission never committed are not part of the cluster.
            joining = []
            retireRemovedNodes()
        }
        guard isConverged() else {
            let states = sortedNodes.map { node in
                let r = node.raft!
                let progress = r.status.progress.sorted { $0.key < $1.key }
                    .map { "\($0.key)=\($0.value.state.rawValue)(match \($0.value.matchIndex) next \($0.value.nextIndex))" }.joined(separator: " ")
                return "\(node.id): \(r.currentRole) term \(r.currentTerm) commit \(r.commitIndex) applied \(r.appliedIndex) last \(r.lastIndex) first \(r.status.firstIndex) conf \(r.configuration.voters.sorted())/\(r.configuration.learners.sorted()) \(progress)"
            }
            throw SimulationFailure("no convergence after faults healed:\n  " + states.joined(separator: "\n  "))
        }
        try checker.checkHistories(sortedNodes)
        let reference = currentLeader()!.stateMachine
        for node in sortedNodes where node.stateMachine != reference {
            throw SimulationFailure("\(node.id) state differs from the leader's after convergence")
        }
        for write in acknowledgedWrites {
            guard checker.committed[write.index]?.data == write.data else {
                throw SimulationFailure("acknowledged write at \(write.index) is missing from the committed log")
            }
        }
    }

    private func isConverged() -> Bool {
        guard let leader = currentLeader() else { return false }
        let raft = leader.raft!
        guard raft.commitIndex == raft.lastIndex, raft.appliedIndex == raft.commitIndex else { return false }
        for id in raft.configuration.members.sorted() {
            guard let node = nodes[id], let follower = node.raft else { return false }
            if follower.currentLeader != leader.id || follower.appliedIndex != raft.commitIndex { return false }
        }
        return true
    }

    private func currentLeader() -> SimulatedNode? {
        let leaders = sortedNodes.filter { $0.raft?.isLeader == true }
        return leaders.max { $0.raft!.currentTerm < $1.raft!.currentTerm }
    }

    // MARK: Randomness

    private mutating func chance(_ count: Int, per total: Int = 100) -> Bool {
        Int(random.next() % UInt64(total)) < count
    }

    private mutating func pick<T>(_ items: [T]) -> T? {
        items.isEmpty ? nil : items[Int(random.next() % UInt64(items.count))]
    }
}

extension String {
    /// A hash that is the same in every process (Swift's `hashValue` is seeded per run).
    var hashValueStable: Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return Int(truncatingIfNeeded: hash & 0x7FFF_FFFF)
    }
}
