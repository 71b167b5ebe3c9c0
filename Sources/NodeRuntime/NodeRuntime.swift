import FoundationEssentials
import KVStore
import Logging
import RaftCore
import Transport

/// Owns one RaftNode and serialises everything that touches it.
///
/// A single driver loop turns each `Ready` into work in the order the persistence contract
/// demands (`processReady`): send the leader's replication; queue the entries already
/// committed (durable in earlier batches) to LMDB's write thread, which applies them and
/// answers their writers while the next step runs; make new entries, term and vote durable
/// in the write-ahead log (one flush) and only then send the rest; queue the batch's copy
/// into LMDB; take up membership, leadership and read changes; advance. Snapshot data takes
/// another route: it is made durable in LMDB itself before anything is sent.
/// While a batch is being persisted the actor is free, so messages and proposals that
/// arrive meanwhile step the node and land in the next batch: that is the group commit.
///
/// The actor and its loops run on the transport's event loop (`RaftTransport.executor`), not
/// on Swift's shared pool: a message is stepped on the thread that read it, and moving
/// between the loops and the actor never wakes another thread.
public actor NodeRuntime {
    public nonisolated let config: RuntimeConfig
    /// The transport's event loop, as this actor's executor and its tasks' preference. A
    /// caller's task that mostly talks to the runtime may prefer it too.
    public nonisolated let executor: EventLoopExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    public let store: DurableStore
    public let transport: RaftTransport
    public let metrics: NodeMetrics
    /// Serves the watches of this node's clients from what it applies.
    public nonisolated let watchHub: WatchHub
    /// Writes answered at commit that stale reads wait for (`takeProposals`).
    nonisolated let acknowledgedWrites = AcknowledgedWrites()
    let logger: Logger
    var raft: RaftNode
    /// Addresses of the members, from the replicated configuration.
    var members: [NodeID: MemberAddress] = [:]

    // Requests waiting on the log (see NodeRuntime+Requests.swift).
    var proposals: [UInt64: [PendingProposal]] = [:]
    /// Reads since the Ready loop last asked for a read index, then each batch by the
    /// request id it was asked under, then by the index it waits to see applied
    /// (NodeRuntime+Reads.swift).
    var gatheredReads: [PendingRead] = []
    var reads: [UInt64: [PendingRead]] = [:]
    var readsAwaitingApply: [(index: UInt64, waiters: [PendingRead])] = []
    var leaderWaiters: [LeaderWaiter] = []
    /// Writes on their way in (NodeRuntime+Writes.swift): handed over from other threads,
    /// waiting for a leader to be known, or parked until the next tick.
    nonisolated let inbox = ProposalInbox()
    var writesAwaitingLeader: [PendingWrite] = []
    var writesAwaitingTick: [PendingWrite] = []
    /// Writes for the leader, gathered during one turn of the actor and sent together by
    /// `flushForwards` (NodeRuntime+Forwarding.swift).
    var forwardQueue: [NodeID: [PendingWrite]] = [:]
    var nextRequestID: UInt64 = 1

    var storageFull = false
    /// The highest index LMDB has applied and committed: what local reads see. RaftCore's
    /// applied index runs ahead of it by the batches queued to the write thread.
    var lmdbApplied: UInt64
    /// Batches queued to LMDB and not yet committed, and the bytes of their entries.
    var appliesInFlight = (batches: 0, bytes: 0)
    var applyRoom: [CheckedContinuation<Void, Never>] = []
    private var applyEvents: AsyncStream<ApplyEvent>.Continuation?
    private var applyEventsTask: Task<Void, Never>?
    /// The Ready loop waits for its write-ahead log append, and entries that commit meanwhile
    /// may be queued to LMDB at once (see `applyCommittedMeanwhile`).
    var takesCommittedMeanwhile = false
    var snapshotInFlight = false
    /// The applied index at the last log compaction or snapshot.
    var lastCompactionIndex: UInt64
    var lastLeader: NodeID?
    /// Members whose connection was reset for silence and not heard from since.
    var peersResetForSilence: Set<NodeID> = []
    /// Lease deadlines on this node's clock (NodeRuntime+Leases.swift).
    var leaseClock = LeaseClock()
    var leaseTicks = 0
    /// When the leader compacts history (NodeRuntime+Compaction.swift).
    var historyCompactor = HistoryCompactor(retention: HistoryRetention())
    private var wakeup: AsyncStream<Void>.Continuation?
    private var tasks: [Task<Void, Never>] = []
    private(set) var isStopped = false

    public init(config: RuntimeConfig, store: DurableStore, transport: RaftTransport,
                metrics: NodeMetrics = NodeMetrics(), logger: Logger) throws(KVStoreError) {
        self.config = config
        self.store = store
        self.transport = transport
        self.executor = transport.executor
        self.metrics = metrics
        self.watchHub = WatchHub(stateMachine: store.stateMachine, limits: config.watchLimits)
        self.logger = logger
        let applied = try store.stateMachine.appliedPosition()
        self.raft = RaftNode(config: config.raftConfig(applied: applied.index), storage: store.log)
        self.lmdbApplied = applied.index
        self.lastCompactionIndex = store.log.initialState().snapshot.index
        var known: [NodeID: MemberAddress] = [:]
        for member in try store.stateMachine.members() {
            if let address = MemberAddress(context: member.context) { known[member.id] = address }
        }
        self.members = known
        self.historyCompactor = HistoryCompactor(retention: config.historyRetention)
    }

    /// Writes the founding configuration if this data directory holds no Raft state yet.
    /// A node that has state never bootstraps again, so restarts cannot fork the cluster.
    /// Returns whether it bootstrapped.
    public static func bootstrapIfEmpty(store: DurableStore, voters: [(NodeID, MemberAddress)]) async throws(KVStoreError) -> Bool {
        guard !store.hasRaftState else { return false }
        let founding = RaftNode.bootstrapEntries(voters: voters.map { ($0.0, $0.1.context) })
        try await store.persist(hardState: founding.hardState, entries: founding.entries)
        return true
    }

    // MARK: Lifecycle

    public func start() {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        wakeup = continuation
        let (applyStream, applyContinuation) = AsyncStream<ApplyEvent>.makeStream()
        applyEvents = applyContinuation
        store.storageFull = { full in applyContinuation.yield(.storage(full: full)) }
        applyEventsTask = Task(executorPreference: executor) { [weak self] in
            for await event in applyStream {
                guard let self else { return }
                await self.handle(event)
            }
        }
        updateTransportPeers()
        watchHub.start()
        startLeaseClock()
        tasks.append(Task(executorPreference: executor) { [weak self] in
            for await _ in stream {
                guard let self else { return }
                await self.drainReady()
            }
        })
        tasks.append(Task(executorPreference: executor) { [weak self, tick = config.tickMilliseconds] in
            let clock = ContinuousClock()
            var next = clock.now
            while !Task.isCancelled {
                next = next.advanced(by: .milliseconds(tick))
                try? await clock.sleep(until: next)
                guard let self else { return }
                await self.tick()
            }
        })
        tasks.append(Task(executorPreference: executor) { [weak self, events = transport.events] in
            for await event in events {
                guard let self else { return }
                await self.handle(event)
            }
        })
        wake()
        logger.info("node started", metadata: ["id": "\(config.id)", "term": "\(raft.currentTerm)",
                                                "commit": "\(raft.commitIndex)", "applied": "\(raft.appliedIndex)"])
    }

    /// Stops taking work, fails what is waiting, and lets the current batch finish.
    public func stop() async {
        guard !isStopped else { return }
        isStopped = true
        acknowledgedWrites.setReleased(true)
        failAllWaiters(.shuttingDown)
        watchHub.close()
        for task in tasks { task.cancel() }
        wakeup?.finish()
        let waiting = applyRoom
        applyRoom = []
        for continuation in waiting { continuation.resume() }
        for task in tasks { await task.value }
        tasks = []
        // Batches already queued to LMDB still commit; their answers go out before we stop.
        await store.waitForQueuedApplies()
        applyEvents?.finish()
        await applyEventsTask?.value
        applyEventsTask = nil
    }

    func wake() { wakeup?.yield() }

    // MARK: Inputs

    func tick() {
        guard !isStopped else { return }
        raft.tick()
        resetSilentPeers()
        expireOverdueWaiters()
        retryWritesAwaitingTick()
        tickLeases()
        tickCompaction()
        wake()
    }

    func handle(_ event: TransportEvent) {
        guard !isStopped else { return }
        switch event {
        case .message(let message):
            // Stepped at once even while the Ready loop waits on the disk: a heartbeat must
            // reset the election timer however slow a flush is.
            raft.step(message)
            applyCommittedMeanwhile()
        case .request(let incoming):
            serveForwarded(incoming)
        case .unreachable(let peer):
            raft.reportUnreachable(peer)
        case .refused(let peer, let reason):
            logger.warning("peer refused our handshake", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
        }
        wake()
    }

    /// A leader that has heard nothing from a member for an election timeout drops its
    /// connection to it and redials, once per silence: whatever waits in that connection
    /// would arrive stale after a heal, and a fresh dial finds the healed link sooner than
    /// TCP's growing retransmission gaps. RaftCore is told, so it probes the member again.
    private func resetSilentPeers() {
        let silent = Set(raft.silentMembers(forAtLeast: config.electionTicks))
        for peer in silent.subtracting(peersResetForSilence).sorted() {
            transport.resetConnection(to: peer, reason: "nothing heard for \(config.electionTicks * config.tickMilliseconds) ms")
            raft.reportUnreachable(peer)
        }
        peersResetForSilence = silent
    }

    // MARK: The Ready loop

    private func drainReady() async {
        askForGatheredReads()
        while raft.hasReady && !isStopped {
            await processReady()
            askForGatheredReads()
        }
    }

    /// One turn of the loop, in the order the persistence contract demands (Docs/ARCHITECTURE.md,
    /// "The Ready loop"): replication out, durable, the rest out, apply, take up changes, advance.
    private func processReady() async {
        let ready = raft.ready()
        metrics.update { $0.readyBatches += 1; $0.entriesPersisted += UInt64(ready.entries.count) }

        // A leader's AppendEntries go out while its own log write runs.
        transport.send(ready.replicationMessages)

        // Durable before anything else leaves the node; the messages leave inside each step.
        switch DurableStore.persistence(of: ready) {
        case .none:
            transport.send(ready.messages)
            if DurableStore.writes(ready) { enqueueApply(ready, walSequence: nil) }
        case .writeAheadLog:
            guard await persistThroughWriteAheadLog(ready) else { return }
        case .snapshot:
            guard await persistSnapshot(ready) else { return }
        }

        takeUpChanges(of: ready)
        // RaftCore counts the committed entries as applied once they are queued; reads wait
        // for `lmdbApplied`, which moves when LMDB has committed them.
        raft.advance(ready)
        promoteCaughtUpLearners()
        maybeSnapshot()
        while !hasApplyRoom && !isStopped {
            // A log copy with nothing to apply waits in the queue for a later job, which
            // this loop would never queue: ask for the commit that makes room.
            store.commitQueuedApplies()
            await withCheckedContinuation { applyRoom.append($0) }
        }
    }

    /// New entries, term and vote go to the write-ahead log (one flush), then the messages
    /// leave, then the batch is queued for LMDB's write thread to copy and apply while this
    /// loop goes on. Returns false when the node stopped before the flush.
    ///
    /// Committed entries are durable already (they came in earlier batches), so they are
    /// applied, and answered, while this flush runs; so is whatever commits during the flush.
    /// A membership change waits for the flush: its address must be known (`takeUpChanges`)
    /// before anyone hears it was applied.
    private func persistThroughWriteAheadLog(_ ready: Ready) async -> Bool {
        let applyAhead = !ready.committedEntries.contains { $0.kind == .configChange }
        if applyAhead { enqueueCommitted(ready.committedEntries) }
        let started = ContinuousClock.now
        let messages = ready.messages
        var walSequence: UInt64?
        // Entries taken meanwhile must queue after this Ready's own, so only now.
        takesCommittedMeanwhile = applyAhead
        let written = await retryingWhileFull { () throws(KVStoreError) in
            walSequence = try await self.store.writeAhead(ready) { [transport] in transport.send(messages) }
        }
        takesCommittedMeanwhile = false
        guard written else { return false }
        metrics.update { $0.walSyncDuration.observe((ContinuousClock.now - started).seconds) }
        var rest = ready
        if applyAhead { rest.committedEntries = [] }
        enqueueApply(rest, walSequence: walSequence)
        return true
    }

    /// Snapshot chunks or an install are made durable in LMDB itself (two flushes, one
    /// transaction, the Ready's committed entries applied in it) before anything is sent.
    /// Returns false when the node stopped first, or the snapshot was damaged: then nothing of
    /// this Ready was written or sent, and it is never advanced.
    private func persistSnapshot(_ ready: Ready) async -> Bool {
        let early = EarlyAnswers(takeProposals(waitingOn: ready.committedEntries))
        var results: [AppliedEntry] = []
        var damaged: String?
        let started = ContinuousClock.now
        let notifying = answeringAndNotifyingWatches(early)
        if ready.snapshotToInstall != nil { watchHub.beginInstall() }
        // Installed, refused or abandoned: the watches read the store as it now is.
        defer { if ready.snapshotToInstall != nil { watchHub.reset() } }
        let committed = await retryingWhileFull { () throws(KVStoreError) in
            do throws(KVStoreError) {
                results = try await self.store.apply(ready, walSequence: nil, applied: notifying)
            } catch .snapshotInvalid(let reason) {
                damaged = reason
            }
        }
        guard committed else { return false }
        if let damaged {
            await receivedSnapshotFailed(reason: damaged, early: early)
            return false
        }
        metrics.update { $0.syncDuration.observe((ContinuousClock.now - started).seconds); $0.durableCommits += 1 }
        if let snapshot = ready.snapshotToInstall {
            reloadMembers()
            lmdbApplied = max(lmdbApplied, snapshot.index)
            // A deposed leader's writes answered at commit may be in the snapshot, not applied one by one.
            acknowledgedWrites.applied(through: snapshot.index)
            leasesRestoredFromSnapshot()
        }
        transport.send(ready.messages)
        applied(AppliedBatch(results: results), early: early, through: ready.committedEntries.last?.index)
        return true
    }

    /// What a Ready tells the runtime besides entries: membership, leadership and reads.
    /// RaftCore takes up a membership change at `advance`, and may message a new member in
    /// the next Ready: its address must be known by then, not once LMDB commits.
    private func takeUpChanges(of ready: Ready) {
        for entry in ready.committedEntries where entry.kind == .configChange {
            if let change = ConfChange(decoding: entry.data) { membershipApplied(change) }
        }
        if let soft = ready.softState { leadershipChanged(soft) }
        for read in ready.readStates { readConfirmed(read) }
        for abandoned in ready.abandonedReads { readAbandoned(abandoned) }
    }

    /// Queues `ready` to LMDB's write thread; its proposals are answered once it is applied.
    private func enqueueApply(_ ready: Ready, walSequence: UInt64?) {
        let early = EarlyAnswers(takeProposals(waitingOn: ready.committedEntries))
        let through = ready.committedEntries.last?.index
        let bytes = ready.entries.reduce(0) { $0 + $1.byteSize } + ready.committedEntries.reduce(0) { $0 + $1.byteSize }
        let events = applyEvents
        appliesInFlight.batches += 1
        appliesInFlight.bytes += bytes
        store.enqueueApply(ready, walSequence: walSequence, commitNow: !readsAwaitingApply.isEmpty,
                           applied: answeringAndNotifyingWatches(early)) { result in
            events?.yield(.applied(result, early, through: through, bytes: bytes))
        }
    }

    /// While the Ready loop waits for the write-ahead log, entries that commit (a follower's
    /// acknowledgement, a leader's commit index) are queued at once, after the Ready's own,
    /// instead of after the flush and in the next Ready.
    private func applyCommittedMeanwhile() {
        guard takesCommittedMeanwhile else { return }
        enqueueCommitted(raft.takeCommittedEntries())
    }

    /// Queues committed entries, durable already, to be applied on their own.
    private func enqueueCommitted(_ entries: [Entry]) {
        guard !entries.isEmpty else { return }
        var committed = Ready()
        committed.committedEntries = entries
        enqueueApply(committed, walSequence: nil)
    }

    /// What the write thread reports about queued applies, in queue order.
    enum ApplyEvent: Sendable {
        case applied(Result<AppliedBatch, KVStoreError>, EarlyAnswers, through: UInt64?, bytes: Int)
        case storage(full: Bool)
    }

    /// Batches (and bytes of entries) queued to LMDB but not yet committed, at most: beyond
    /// that the driver loop waits, so a disk slower than the write-ahead log cannot pile up
    /// memory. The count is high because a queued batch waits up to `ApplyQueue.commitDelay`
    /// for its commit, and under load each Ready queues two or more (its applies ahead of
    /// its log write, what commits meanwhile, its log copy): at 64 batches writes stalled.
    static let maxAppliesInFlight = (batches: 1024, bytes: 64 << 20)

    var hasApplyRoom: Bool {
        appliesInFlight.batches < Self.maxAppliesInFlight.batches && appliesInFlight.bytes < Self.maxAppliesInFlight.bytes
    }

    func handle(_ event: ApplyEvent) {
        switch event {
        case .storage(full: true):
            storageBecameFull()
        case .storage(full: false):
            storageHasRoom()
        case .applied(.failure(let error), _, _, _):
            failStop(error)
        case .applied(.success(let batch), let early, let through, let bytes):
            appliesInFlight.batches -= 1
            appliesInFlight.bytes -= bytes
            if let seconds = batch.commitSeconds { metrics.update { $0.syncDuration.observe(seconds) } }
            applied(batch, early: early, through: through)
            if hasApplyRoom {
                let waiting = applyRoom
                applyRoom = []
                for continuation in waiting { continuation.resume() }
            }
        }
    }

    /// LMDB holds a batch's applies: answer what the early answers left (membership
    /// changes) and the reads waiting for this index.
    private func applied(_ batch: AppliedBatch, early: EarlyAnswers, through: UInt64?) {
        metrics.update { $0.entriesApplied += UInt64(batch.results.count) }
        for (index, waiting) in early.remaining() {
            if isStopped {
                for proposal in waiting { proposal.resume(.failure(.shuttingDown)) }
            } else {
                proposals[index, default: []].append(contentsOf: waiting)
            }
        }
        for result in batch.results { completeProposal(result) }
        leasesApplied(batch.results)
        if let through { lmdbApplied = max(lmdbApplied, through) }
        releaseAppliedReads()
    }

    /// A full disk is not a reason to crash or corrupt anything: hold the batch (whatever
    /// waits on its write stays unsent), fail new writes with 507, and retry until space returns.
    /// Returns false only when the node stops while the disk is still full.
    private func retryingWhileFull(_ operation: () async throws(KVStoreError) -> Void) async -> Bool {
        while true {
            do {
                try await operation()
                storageHasRoom()
                return true
            } catch .storageFull {
                storageBecameFull()
                if isStopped { return false }
                try? await Task.sleep(for: .milliseconds(200))
            } catch {
                // Anything else means the disk or the data directory is broken: stop rather
                // than acknowledge writes that may not be durable.
                failStop(error)
            }
        }
    }

    private func storageBecameFull() {
        guard !storageFull else { return }
        logger.error("storage is full; writes are refused until space is freed")
        storageFull = true
        // Nothing is applied until there is room: stale reads go on without those writes.
        acknowledgedWrites.setReleased(true)
        failProposals(.storageFull)
    }

    private func storageHasRoom() {
        guard storageFull else { return }
        storageFull = false
        acknowledgedWrites.setReleased(false)
        logger.notice("storage has room again")
    }

    private func leadershipChanged(_ soft: SoftState) {
        if soft.leader != lastLeader {
            lastLeader = soft.leader
            metrics.update { $0.leaderChanges += 1 }
            logger.info("leader changed", metadata: ["leader": "\(soft.leader.map(\.rawValue) ?? "none")",
                                                    "term": "\(raft.currentTerm)", "role": "\(soft.role.rawValue)"])
            if soft.leader != nil {
                releaseLeaderWaiters()
                leasesOnLeaderChange()
            }
        }
    }

    /// Compacts the log every `snapshotEveryEntries` applied entries, and takes a snapshot
    /// file only when a follower needs one or the current file is damaged: LMDB already
    /// holds the applied state, and a file carries all of it, retained history included
    /// (Docs/KVSTORE.md, "Log compaction and snapshots").
    private func maybeSnapshot() {
        guard !snapshotInFlight else { return }
        let applied = raft.appliedIndex
        // A snapshot file found damaged (before sending it) is taken again at once.
        let rebuild = store.log.isSnapshotDamaged
        let takeSnapshot = rebuild || store.log.isSnapshotWanted
        guard takeSnapshot || (applied >= lastCompactionIndex && applied - lastCompactionIndex >= config.snapshotEveryEntries)
        else { return }
        if rebuild { logger.error("the snapshot file is damaged; taking a new snapshot instead of sending it") }
        snapshotInFlight = true
        let retain = config.entriesRetainedAfterSnapshot
        Task {
            do {
                if takeSnapshot {
                    snapshotTaken(try await store.createSnapshot(retainEntries: retain))
                } else {
                    try await store.compactLog(retainEntries: retain)
                    logCompacted(at: applied)
                }
            } catch {
                snapshotFailed(error)
            }
        }
    }

    private func snapshotTaken(_ metadata: SnapshotMetadata) {
        snapshotInFlight = false
        lastCompactionIndex = max(lastCompactionIndex, metadata.index)
        logger.info("snapshot taken", metadata: ["index": "\(metadata.index)"])
    }

    private func logCompacted(at applied: UInt64) {
        snapshotInFlight = false
        lastCompactionIndex = applied
        logger.debug("log compacted", metadata: ["first index": "\(store.log.firstIndex())"])
    }

    private func snapshotFailed(_ error: any Error) {
        snapshotInFlight = false
        lastCompactionIndex = raft.appliedIndex
        logger.error("snapshot or log compaction failed", metadata: ["error": "\(error)"])
    }

    // MARK: Status

    public func status() -> ClusterStatus {
        let status = raft.status
        let conf = status.conf
        var list: [ClusterStatus.Member] = []
        for id in conf.members.sorted() {
            let peer = status.progress[id]
            let isSelf = id == config.id
            list.append(ClusterStatus.Member(
                id: id, address: members[id] ?? (isSelf ? config.address : nil), isVoter: conf.isVoter(id),
                matchIndex: peer?.matchIndex, lag: peer.map { status.lastIndex > $0.matchIndex ? status.lastIndex - $0.matchIndex : 0 },
                lastContactMilliseconds: peer.map { isSelf ? 0 : $0.ticksSinceContact * config.tickMilliseconds }))
        }
        return ClusterStatus(id: config.id, role: status.role, term: status.term, leader: status.leader,
                             leaderAddress: status.leader.flatMap { members[$0] ?? ($0 == config.id ? config.address : nil) },
                             commitIndex: status.commitIndex, appliedIndex: lmdbApplied,
                             lastIndex: status.lastIndex, firstIndex: status.firstIndex, members: list,
                             isMember: conf.isMember(config.id), databaseBytes: store.databaseFileBytes,
                             droppedMessages: raft.droppedMessages)
    }

    public var isLeader: Bool { raft.isLeader }
    public var leaderAddress: MemberAddress? { raft.currentLeader.flatMap { members[$0] } }
}
