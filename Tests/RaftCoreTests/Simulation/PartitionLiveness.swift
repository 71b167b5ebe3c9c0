import RaftCore

/// Partitions the way a real network makes them, and what must hold after each heal.
///
/// A partition that drops packets does not drop TCP's messages: they wait in the sender's
/// socket and arrive together when the link heals, long after they were sent. The receiving
/// node also pays for every message (decoding, stepping, encoding answers) on one event loop,
/// so a burst of heavy messages delays everything behind it. This simulation models both: each
/// link delivers in order with a small delay, a cut link holds its messages and releases them
/// in one burst at the heal, the sender's transport reports the peer unreachable once messages
/// have waited a while, and each node works through its inbox within a per-step budget of cost
/// units proportional to message bytes.
///
/// Partitions alternate between cutting off the leader and cutting off one follower, with a
/// steady stream of writes. After every heal it checks liveness, not only safety:
/// - a write proposed after the heal commits within `writeBound` ticks;
/// - a leader cut off from the majority steps down within one election timeout (plus the
///   heartbeat interval that notices it) after the last answer it could have counted;
/// - the entry bytes the leader sends a cut-off follower until it is caught up stay within
///   3× the bytes of the entries it lacked (plus a few probes).
struct PartitionLivenessSimulation {
    struct Options {
        var voters = 3
        var partitions = 6
        /// Ticks each partition lasts, and ticks between a heal and the next cut.
        var partitionTicks = 60
        var settleTicks = 60
        /// Cost units a node may spend per step; a message costs 1 + entry bytes / 256.
        var budgetPerStep = 8
        /// Ticks after a heal by which a newly proposed write must have committed.
        var writeBound = 40
    }

    let seed: UInt64
    let options: Options
    private var random: SplitMix64
    private var nodes: [NodeID: SimulatedNode] = [:]
    private var ids: [NodeID] = []
    private var checker = SafetyChecker()
    private var now = 0
    private let stepsPerTick = 10
    private let electionTicks = 10
    private let heartbeatTicks = 2

    // The network: per directed link, messages in order with the step they are due.
    private var links: [[NodeID]: [(due: Int, message: Message)]] = [:]
    private var cut: Set<[NodeID]> = []
    private var cutSince = 0
    private var reportedUnreachable: Set<[NodeID]> = []
    // Per node: messages received and waiting for the node's budget, and cost owed.
    private var inbox: [NodeID: [Message]] = [:]
    private var debt: [NodeID: Int] = [:]

    /// Entry bytes each leader sent each peer (counted as they leave).
    private var entryBytesSent: [[NodeID]: Int] = [:]
    private(set) var maxResendRatio = 0.0

    init(seed: UInt64, options: Options = Options()) {
        self.seed = seed
        self.options = options
        self.random = SplitMix64(seed: seed)
        ids = (1...options.voters).map { NodeID("n\($0)") }
        let bootstrap = RaftNode.bootstrapEntries(voters: ids.map { ($0, []) })
        for id in ids {
            let node = SimulatedNode(id: id)
            node.storage.append(bootstrap.entries)
            node.storage.setHardState(bootstrap.hardState)
            nodes[id] = node
            var config = RaftConfig(id: id, randomSeed: seed &* 7_919 &+ UInt64(id.rawValue.hashValueStable))
            config.electionTicks = electionTicks
            config.heartbeatTicks = heartbeatTicks
            config.maxMessageBytes = 16 * 1_024
            config.maxInflightMessages = 64
            node.start(config: config)
        }
    }

    // MARK: Running

    mutating func run() throws(SimulationFailure) {
        try runTicks(options.settleTicks)
        for round in 0..<options.partitions {
            guard let leader = currentLeader() else { throw SimulationFailure("no leader before partition \(round)") }
            let cutLeader = round % 2 == 0
            let victim = cutLeader ? leader : pick(ids.filter { $0 != leader })
            try partition(isolating: victim, leader: leader, cutLeader: cutLeader)
        }
        try checker.checkHistories(ids.map { nodes[$0]! })
    }

    private mutating func partition(isolating victim: NodeID, leader: NodeID, cutLeader: Bool) throws(SimulationFailure) {
        for other in ids where other != victim {
            cut.insert([victim, other])
            cut.insert([other, victim])
        }
        cutSince = now
        reportedUnreachable = []
        // The last moment an answer the old leader could count was sent to it.
        let cutAt = now
        var steppedDownAt: Int?
        for _ in 0..<(options.partitionTicks * stepsPerTick) {
            try step()
            if cutLeader, steppedDownAt == nil, nodes[victim]!.raft!.isLeader == false { steppedDownAt = now }
        }
        if cutLeader {
            let bound = (electionTicks + 2 * heartbeatTicks) * stepsPerTick
            guard let down = steppedDownAt, down - cutAt <= bound else {
                throw SimulationFailure("leader \(victim) cut off at step \(cutAt) still led \(steppedDownAt.map { "until step \($0)" } ?? "at the heal") (bound \(bound) steps)")
            }
        }

        // Heal: everything held is released at once.
        let newLeader = currentLeader() ?? leader
        let lacked = cutLeader ? 0 : lackedBytes(of: victim, leader: newLeader)
        let target = nodes[newLeader]!.raft!.lastIndex
        cut = []
        let healedAt = now
        let sentBefore = entryBytesSent[[newLeader, victim], default: 0]
        var committedWrite = false
        var caughtUpAt: Int?
        var firstWrite: (node: NodeID, receipt: ProposalReceipt)?
        for _ in 0..<(options.settleTicks * stepsPerTick) {
            try step()
            if firstWrite == nil || !stillPossible(firstWrite!) {
                if let l = currentLeader(), let receipt = try? nodes[l]!.raft!.propose(payload(now)) { firstWrite = (l, receipt) }
            }
            if let write = firstWrite, !committedWrite, isCommitted(write) {
                committedWrite = true
                if now - healedAt > options.writeBound * stepsPerTick {
                    throw SimulationFailure("first write after the heal at step \(healedAt) committed only at step \(now)")
                }
            }
            if caughtUpAt == nil, !cutLeader, let raft = nodes[victim]!.raft, raft.commitIndex >= target { caughtUpAt = now }
        }
        guard committedWrite else { throw SimulationFailure("no write committed within \(options.settleTicks) ticks of the heal at step \(healedAt)") }
        if !cutLeader {
            guard caughtUpAt != nil else { throw SimulationFailure("\(victim) never caught up after the heal at step \(healedAt)") }
            let sent = entryBytesSent[[newLeader, victim], default: 0] - sentBefore
            let allowance = 3 * lacked + 8 * 1_024
            maxResendRatio = max(maxResendRatio, Double(sent) / Double(max(lacked, 1)))
            if sent > allowance {
                throw SimulationFailure("leader \(newLeader) sent \(sent) entry bytes to \(victim) after the heal at step \(healedAt) to deliver \(lacked) (allowed \(allowance))")
            }
        }
    }

    private mutating func runTicks(_ ticks: Int) throws(SimulationFailure) {
        for _ in 0..<(ticks * stepsPerTick) { try step() }
    }

    private mutating func step() throws(SimulationFailure) {
        now += 1
        // A steady stream of writes at the leader.
        if let leader = currentLeader() {
            _ = try? nodes[leader]!.raft!.propose(payload(now))
        }
        for id in ids where (now + Int(id.rawValue.hashValueStable % 7)) % stepsPerTick == 0 {
            nodes[id]!.raft!.tick()
        }
        deliverDue()
        reportStalledLinks()
        for id in ids { work(id) }
        for id in ids { try handleReadies(id) }
        try checker.check(ids.map { nodes[$0]! })
    }

    /// Links that are not cut hand their due messages to the receiver's inbox, in order.
    private mutating func deliverDue() {
        for (link, queue) in links where !cut.contains(link) {
            let due = queue.prefix { $0.due <= now }
            guard !due.isEmpty else { continue }
            inbox[link[1], default: []].append(contentsOf: due.map(\.message))
            links[link] = Array(queue.dropFirst(due.count))
        }
    }

    /// After messages have waited on a cut link for a few heartbeats, the sender's transport
    /// reports the peer unreachable (once per partition).
    private mutating func reportStalledLinks() {
        guard !cut.isEmpty, now - cutSince >= 3 * heartbeatTicks * stepsPerTick else { return }
        for link in cut.sorted(by: { $0.lexicographicallyPrecedes($1) })
        where !reportedUnreachable.contains(link) && !(links[link]?.isEmpty ?? true) {
            reportedUnreachable.insert(link)
            nodes[link[0]]!.raft!.reportUnreachable(link[1])
        }
    }

    /// The node steps messages from its inbox while its budget lasts; what it sent earlier
    /// is paid first.
    private mutating func work(_ id: NodeID) {
        var budget = options.budgetPerStep - debt[id, default: 0]
        var queue = inbox[id, default: []]
        var taken = 0
        while budget > 0, taken < queue.count {
            let message = queue[taken]
            taken += 1
            budget -= Self.cost(message)
            nodes[id]!.raft!.step(message)
        }
        queue.removeFirst(taken)
        inbox[id] = queue
        debt[id] = max(0, -budget)
    }

    private mutating func handleReadies(_ id: NodeID) throws(SimulationFailure) {
        let node = nodes[id]!
        var rounds = 0
        while node.raft!.hasReady {
            rounds += 1
            if rounds > 100 { throw SimulationFailure("\(id) keeps producing Ready values") }
            let ready = node.raft!.ready()
            node.persist(ready)
            if ready.mustSync { node.synced() }
            send(ready.replicationMessages + ready.messages, from: id)
            if let failure = node.apply(ready.committedEntries) { throw failure }
            node.raft!.advance(ready)
        }
    }

    private mutating func send(_ messages: [Message], from id: NodeID) {
        for message in messages {
            let link = [message.from, message.to]
            let delay = 1 + Int(random.next() % 3)
            let lastDue = links[link]?.last?.due ?? 0
            links[link, default: []].append((max(now + delay, lastDue), message))
            debt[id, default: 0] += Self.cost(message)
            if case .append(let request) = message.body {
                entryBytesSent[link, default: 0] += request.entries.reduce(0) { $0 + $1.data.count }
            }
        }
    }

    // MARK: Helpers

    private static func cost(_ message: Message) -> Int {
        guard case .append(let request) = message.body else { return 1 }
        return 1 + request.entries.reduce(0) { $0 + $1.data.count } / 256
    }

    private func lackedBytes(of follower: NodeID, leader: NodeID) -> Int {
        guard let have = nodes[follower]?.raft?.lastIndex, let raft = nodes[leader]?.raft, raft.lastIndex > have else { return 0 }
        let storage = nodes[leader]!.storage
        let entries = (try? storage.entries(from: have + 1, to: storage.lastIndex() + 1, maxBytes: .max)) ?? []
        return entries.reduce(0) { $0 + $1.data.count }
    }

    private func isCommitted(_ write: (node: NodeID, receipt: ProposalReceipt)) -> Bool {
        checker.committed[write.receipt.index]?.term == write.receipt.term
    }

    /// False once another entry took the write's place (its leader lost the log position).
    private func stillPossible(_ write: (node: NodeID, receipt: ProposalReceipt)) -> Bool {
        if let entry = checker.committed[write.receipt.index] { return entry.term == write.receipt.term }
        return nodes[write.node]?.raft?.isLeader == true && nodes[write.node]!.raft!.currentTerm == write.receipt.term
    }

    private func currentLeader() -> NodeID? {
        ids.filter { nodes[$0]!.raft!.isLeader }.max { nodes[$0]!.raft!.currentTerm < nodes[$1]!.raft!.currentTerm }
    }

    /// A write of ~100 bytes, unique per step.
    private func payload(_ step: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt64(step).littleEndian) { Array($0) } + [UInt8](repeating: 0x61, count: 92)
    }

    private mutating func pick<T>(_ items: [T]) -> T {
        items[Int(random.next() % UInt64(items.count))]
    }
}
