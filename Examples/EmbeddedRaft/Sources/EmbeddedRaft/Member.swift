import RaftCore

/// One member of the cluster: RaftCore's pure state machine, the storage it reads, and the
/// application's own state (here, the committed entries in the order it applied them).
struct Member {
    var node: RaftNode
    let storage: MemoryStorage
    private(set) var applied: [Entry] = []

    /// A founding member: every founder writes the same bootstrap entries before its node
    /// starts, so the three logs agree from index 1.
    init(id: NodeID, founders: [NodeID], seed: UInt64) {
        storage = MemoryStorage()
        let bootstrap = RaftNode.bootstrapEntries(voters: founders.map { (id: $0, context: []) })
        storage.append(bootstrap.entries)
        storage.setHardState(bootstrap.hardState)
        // Each node draws its election timeouts from its own seed, so one of them times out first.
        node = RaftNode(config: RaftConfig(id: id, randomSeed: seed), storage: storage)
    }

    /// The Ready loop every embedder writes: persist, send, apply, advance.
    mutating func handleReadies(send: (Message) -> Void) {
        while node.hasReady {
            let ready = node.ready()
            // 0. A leader's AppendEntries and heartbeats may leave while it writes its own log.
            ready.replicationMessages.forEach(send)
            // 1. Make entries and hard state durable (MemoryStorage lives as long as the
            //    process; a disk-backed storage syncs here when `ready.mustSync`). This
            //    cluster never takes snapshots, so `snapshotChunks` and `snapshotToInstall`
            //    stay empty; a real embedder stages and installs them at this point too.
            storage.append(ready.entries)
            if let hardState = ready.hardState { storage.setHardState(hardState) }
            // 2. Only now may votes and acknowledgements leave: they promise what is durable.
            ready.messages.forEach(send)
            // 3. Apply committed entries in order. Configuration changes take effect inside
            //    RaftNode when it is advanced; the application only records them here.
            applied.append(contentsOf: ready.committedEntries)
            // 4. Report that all of the above is done.
            node.advance(ready)
        }
    }
}
