import RaftCore

/// A hand-driven cluster for focused tests: nothing happens unless the test asks for it.
///
/// Unlike the seeded simulator, there is no random network here. Every message a node sends
/// waits in `inFlight` until the test delivers it (all of them, a chosen subset, or none),
/// so a test can build an exact scenario such as the paper's Figure 8 step by step.
///
/// Each node's `Ready` is handled exactly as the contract in `Ready.swift` says: stage
/// snapshot chunks, install a completed snapshot, append entries, store the hard state;
/// only then are the messages released; then committed entries are applied and the node
/// is advanced. While doing so the harness checks that nothing a message depends on is
/// missing from storage at the moment it would leave (`contractViolations`).
final class TestCluster {
    let ids: [NodeID]
    private(set) var nodes: [NodeID: RaftNode] = [:]
    private(set) var storages: [NodeID: MemoryStorage] = [:]
    private var configs: [NodeID: RaftConfig] = [:]
    /// Snapshot bytes staged durably from `Ready.snapshotChunks`, per node.
    private var staged: [NodeID: (metadata: SnapshotMetadata, bytes: [UInt8])] = [:]

    /// Messages sent and not yet delivered or dropped, oldest first.
    private(set) var inFlight: [Message] = []
    /// Every message any node ever sent (for assertions about what went on the wire).
    private(set) var sent: [Message] = []
    /// Every Ready each node handed out, in order.
    private(set) var readies: [NodeID: [Ready]] = [:]
    /// Entries applied on each node, in order (a snapshot install resets the sequence).
    private(set) var applied: [NodeID: [Entry]] = [:]
    private(set) var appliedIndex: [NodeID: UInt64] = [:]
    private(set) var readStates: [NodeID: [ReadState]] = [:]
    private(set) var abandonedReads: [NodeID: [UInt64]] = [:]
    /// Breaches of the persistence or apply contract seen while handling Ready values.
    private(set) var contractViolations: [String] = []

    private var takenEarly: [NodeID: [Entry]] = [:]
    private var isolated: Set<NodeID> = []
    private var cutLinks: Set<[NodeID]> = []

    /// Creates `voters.count` founding voters plus `spares` (empty nodes that wait to be
    /// added). `prepare` may write extra entries or hard state into a founder's storage
    /// after the bootstrap entries and before its `RaftNode` is created.
    init(voters: [NodeID], spares: [NodeID] = [],
         configure: (inout RaftConfig) -> Void = { _ in },
         prepare: (NodeID, MemoryStorage) -> Void = { _, _ in }) {
        ids = voters + spares
        let bootstrap = RaftNode.bootstrapEntries(voters: voters.map { ($0, []) })
        for (position, id) in ids.enumerated() {
            let storage = MemoryStorage()
            if voters.contains(id) {
                storage.append(bootstrap.entries)
                storage.setHardState(bootstrap.hardState)
                prepare(id, storage)
            }
            var config = RaftConfig(id: id, randomSeed: 0x5EED_0000 &+ UInt64(position) &* 7919)
            configure(&config)
            storages[id] = storage
            configs[id] = config
            nodes[id] = RaftNode(config: config, storage: storage)
            appliedIndex[id] = 0
        }
        // The bootstrap configuration entries are applied from the first Ready; only then
        // does a node know the membership.
        processAll()
    }

    convenience init(size: Int, spares: Int = 0,
                     configure: (inout RaftConfig) -> Void = { _ in },
                     prepare: (NodeID, MemoryStorage) -> Void = { _, _ in }) {
        let voters = (1...size).map { NodeID("n\($0)") }
        let spareIDs = spares == 0 ? [] : (size + 1...size + spares).map { NodeID("n\($0)") }
        self.init(voters: voters, spares: spareIDs, configure: configure, prepare: prepare)
    }

    subscript(id: NodeID) -> RaftNode { nodes[id]! }

    var leaders: [NodeID] { ids.filter { nodes[$0]!.isLeader } }

    // MARK: Driving nodes

    /// Runs `body` on a node, then handles whatever Ready it produced.
    @discardableResult
    func with<T, E: Error>(_ id: NodeID, _ body: (inout RaftNode) throws(E) -> T) throws(E) -> T {
        defer { process(id) }
        return try body(&nodes[id]!)
    }

    /// Runs `body` on a node and takes its Ready without handling it: the node's write is
    /// "under way" (messages may be injected meanwhile) until `complete(_:on:)`.
    func beginReady<T, E: Error>(_ id: NodeID, after body: (inout RaftNode) throws(E) -> T) throws(E) -> (T, Ready) {
        let result = try body(&nodes[id]!)
        return (result, start(id))
    }

    /// Takes what `id` committed while its Ready is out (`RaftNode.takeCommittedEntries`);
    /// `complete` applies it after that Ready's own entries, as the contract asks.
    @discardableResult
    func takeCommittedEntries(_ id: NodeID) -> [Entry] {
        let taken = nodes[id]!.takeCommittedEntries()
        takenEarly[id, default: []].append(contentsOf: taken)
        return taken
    }

    /// Finishes a Ready taken by `beginReady`, then handles whatever follows.
    func complete(_ ready: Ready, on id: NodeID) {
        finish(ready, on: id)
        process(id)
    }

    func tick(_ id: NodeID, times: Int = 1) {
        for _ in 0..<times { with(id) { $0.tick() } }
    }

    /// Ticks every node (in id order) `times` times without delivering anything.
    func tickAll(times: Int = 1, except skipped: Set<NodeID> = []) {
        for _ in 0..<times {
            for id in ids where !skipped.contains(id) { tick(id) }
        }
    }

    func campaign(_ id: NodeID) { with(id) { $0.campaign() } }

    func propose(_ id: NodeID, _ data: [UInt8]) throws(RaftError) -> ProposalReceipt {
        try with(id) { node throws(RaftError) in try node.propose(data) }
    }

    /// Hands `message` to its recipient as if it arrived over the network.
    func inject(_ message: Message) {
        with(message.to) { $0.step(message) }
    }

    /// Replaces a node by a fresh `RaftNode` over the same storage: a crash and restart
    /// that keeps only what was persisted (and the applied index, as a real state machine
    /// would). Messages still in flight to or from it are lost.
    func restart(_ id: NodeID) {
        inFlight.removeAll { $0.to == id || $0.from == id }
        var config = configs[id]!
        config.applied = appliedIndex[id]!
        nodes[id] = RaftNode(config: config, storage: storages[id]!)
        process(id)
    }

    // MARK: The network

    func isolate(_ id: NodeID) { isolated.insert(id) }
    func cut(_ a: NodeID, _ b: NodeID) { cutLinks.insert([a, b].sorted()) }
    func heal() {
        isolated = []
        cutLinks = []
    }

    func isBlocked(_ message: Message) -> Bool {
        isolated.contains(message.from) || isolated.contains(message.to)
            || cutLinks.contains([message.from, message.to].sorted())
    }

    /// Removes in-flight messages matching `predicate` without delivering them.
    @discardableResult
    func drop(where predicate: (Message) -> Bool = { _ in true }) -> [Message] {
        let dropped = inFlight.filter(predicate)
        inFlight.removeAll(where: predicate)
        return dropped
    }

    /// Delivers the messages in flight right now that match `predicate`, in the order they
    /// were sent; messages across a partition are dropped. Answers produced meanwhile stay
    /// in flight. Returns the messages delivered.
    @discardableResult
    func deliver(where predicate: (Message) -> Bool = { _ in true }) -> [Message] {
        let batch = inFlight.filter(predicate)
        inFlight.removeAll(where: predicate)
        var delivered: [Message] = []
        for message in batch where !isBlocked(message) && nodes[message.to] != nil {
            delivered.append(message)
            inject(message)
        }
        return delivered
    }

    /// Delivers until nothing is in flight (partitioned messages are dropped).
    func stabilize(maxRounds: Int = 1_000) {
        var rounds = 0
        while !inFlight.isEmpty {
            rounds += 1
            precondition(rounds <= maxRounds, "cluster did not quiesce: \(inFlight.prefix(5))")
            deliver()
        }
    }

    /// Makes `id` campaign and delivers everything; returns whether it became leader.
    @discardableResult
    func elect(_ id: NodeID) -> Bool {
        campaign(id)
        stabilize()
        return nodes[id]!.isLeader
    }

    /// Ticks every node once (in id order) and delivers everything, `times` times.
    func run(ticks times: Int, except skipped: Set<NodeID> = []) {
        for _ in 0..<times {
            tickAll(except: skipped)
            stabilize()
        }
    }

    // MARK: Ready handling

    func processAll() {
        for id in ids { process(id) }
    }

    /// Handles Ready values of `id` until it has none.
    func process(_ id: NodeID) {
        var rounds = 0
        while nodes[id]!.hasReady {
            rounds += 1
            precondition(rounds < 1_000, "\(id) keeps producing Ready values")
            finish(start(id), on: id)
        }
    }

    /// Takes the next Ready and releases the leader's replication, which may precede the write.
    private func start(_ id: NodeID) -> Ready {
        let ready = nodes[id]!.ready()
        readies[id, default: []].append(ready)
        checkReplicationMayPrecedeTheWrite(ready, on: id)
        sent.append(contentsOf: ready.replicationMessages)
        inFlight.append(contentsOf: ready.replicationMessages)
        return ready
    }

    /// Persist, send the rest, apply, advance.
    private func finish(_ ready: Ready, on id: NodeID) {
        persist(ready, on: id)
        checkMessagesAreBackedByStorage(ready, on: id)
        sent.append(contentsOf: ready.messages)
        inFlight.append(contentsOf: ready.messages)
        apply(ready, on: id)
        nodes[id]!.advance(ready)
    }

    private func persist(_ ready: Ready, on id: NodeID) {
        let storage = storages[id]!
        for chunk in ready.snapshotChunks {
            if chunk.offset == 0 || staged[id]?.metadata != chunk.metadata {
                staged[id] = (chunk.metadata, [])
            }
            staged[id]!.bytes.append(contentsOf: chunk.data)
        }
        if let metadata = ready.snapshotToInstall {
            guard let snapshot = staged[id], snapshot.metadata == metadata else {
                contractViolations.append("\(id): asked to install a snapshot that was never staged")
                return
            }
            storage.installSnapshot(metadata, data: snapshot.bytes)
            staged[id] = nil
            appliedIndex[id] = metadata.index
            applied[id] = []
        }
        storage.append(ready.entries)
        if let hardState = ready.hardState { storage.setHardState(hardState) }
    }

    /// Messages a leader sends before its own write: checked against storage as it was
    /// before this Ready. Their term must already be durable, and the commit index they
    /// carry must be stored on a majority of voters (the leader's own unwritten entries
    /// must not have counted).
    private func checkReplicationMayPrecedeTheWrite(_ ready: Ready, on id: NodeID) {
        let durableTerm = storages[id]!.hardState.term
        let voters = nodes[id]!.configuration.voters
        for message in ready.replicationMessages {
            if message.term != durableTerm {
                contractViolations.append("\(id) replicated in term \(message.term) before persisting it (durable \(durableTerm))")
            }
            let commit: UInt64
            switch message.body {
            case .append(let request): commit = request.leaderCommit
            case .heartbeat(let heartbeat): commit = heartbeat.commit
            default:
                contractViolations.append("\(id) sent \(message.body) ahead of its write")
                continue
            }
            let holders = voters.filter { (storages[$0]?.lastIndex() ?? 0) >= commit }.count
            if holders < voters.count / 2 + 1 {
                contractViolations.append("\(id) sent commit \(commit) held durably by only \(holders) of \(voters.count) voters")
            }
        }
    }

    /// "Hard state and new entries are durable before any message that depends on them
    /// leaves the node": checked against storage right after this Ready was persisted.
    private func checkMessagesAreBackedByStorage(_ ready: Ready, on id: NodeID) {
        let storage = storages[id]!
        let durable = storage.hardState
        for message in ready.messages {
            switch message.body {
            case .vote:
                if durable.term < message.term || (durable.term == message.term && durable.vote != id) {
                    contractViolations.append("\(id) asked for votes in term \(message.term) before persisting its own vote (\(durable))")
                }
            case .voteResponse(let response) where response.granted:
                if durable.term != message.term || durable.vote != message.to {
                    contractViolations.append("\(id) granted a vote to \(message.to) in term \(message.term) with durable \(durable)")
                }
            case .appendResponse(let response) where response.success:
                if storage.lastIndex() < response.index {
                    contractViolations.append("\(id) acknowledged index \(response.index) with only \(storage.lastIndex()) durable")
                }
            case .snapshotResponse(let response) where !response.rejected:
                if (staged[id]?.bytes.count).map(UInt64.init) ?? 0 < response.nextOffset {
                    contractViolations.append("\(id) acknowledged \(response.nextOffset) snapshot bytes before staging them")
                }
            default:
                break
            }
            if message.term > durable.term, !message.body.isPreVoteTraffic {
                contractViolations.append("\(id) sent \(message.body) in term \(message.term) with durable term \(durable.term)")
            }
        }
    }

    private func apply(_ ready: Ready, on id: NodeID) {
        for entry in ready.committedEntries + (takenEarly.removeValue(forKey: id) ?? []) {
            if entry.index != appliedIndex[id]! + 1 {
                contractViolations.append("\(id) was handed index \(entry.index) to apply after \(appliedIndex[id]!)")
            }
            if entry.index > storages[id]!.lastIndex() {
                contractViolations.append("\(id) was handed index \(entry.index) to apply before it was durable")
            }
            appliedIndex[id] = entry.index
            applied[id, default: []].append(entry)
        }
        readStates[id, default: []].append(contentsOf: ready.readStates)
        abandonedReads[id, default: []].append(contentsOf: ready.abandonedReads)
    }

    // MARK: Inspection

    /// The node's durable log (what survives a crash), from its first index.
    func log(of id: NodeID) -> [Entry] {
        let storage = storages[id]!
        let first = storage.firstIndex(), last = storage.lastIndex()
        guard first <= last else { return [] }
        return (try? storage.entries(from: first, to: last + 1, maxBytes: .max)) ?? []
    }

    func term(of id: NodeID, at index: UInt64) -> UInt64? {
        try? storages[id]!.term(at: index)
    }

    /// Messages sent by `from` (to `to`, if given) since the start of the test.
    func sent(from: NodeID, to: NodeID? = nil) -> [Message] {
        sent.filter { $0.from == from && (to == nil || $0.to == to) }
    }
}
