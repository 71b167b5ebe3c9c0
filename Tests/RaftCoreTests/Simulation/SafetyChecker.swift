import RaftCore

/// The invariants checked after every simulation step.
struct SafetyChecker {
    /// Election Safety: the leader seen for each term.
    private var leaderOfTerm: [UInt64: NodeID] = [:]
    /// Every entry any node ever held as committed, by index.
    private(set) var committed: [UInt64: Entry] = [:]
    private(set) var highestCommitted: UInt64 = 0
    /// Per node: the highest index its durable log held as committed (it must never lose it).
    private var durableCommitted: [NodeID: UInt64] = [:]

    /// The membership after every configuration entry of the committed log, in log order:
    /// the ground truth for who belongs to the cluster.
    private(set) var committedConf = ConfState()
    private var confReplayedUpTo: UInt64 = 0

    mutating func advanceCommittedConf() {
        while let entry = committed[confReplayedUpTo + 1] {
            confReplayedUpTo += 1
            if entry.kind == .configChange, let change = ConfChange(decoding: entry.data) {
                committedConf = change.applied(to: committedConf)
            }
        }
    }

    /// Per node: the highest index already compared against `committed`.
    private var checkedUpTo: [NodeID: UInt64] = [:]
    private var checks = 0
    private var fullScan = false

    mutating func check(_ nodes: [SimulatedNode]) throws(SimulationFailure) {
        checks += 1
        fullScan = checks % 200 == 0
        for node in nodes {
            if let raft = node.raft {
                try checkSingleLeader(raft)
                try checkCommittedLog(node, raft)
            }
            try checkDurableLog(node)
            try checkAppliedState(node)
        }
    }

    /// At most one leader per term, across restarts and configuration changes.
    private mutating func checkSingleLeader(_ raft: RaftNode) throws(SimulationFailure) {
        guard raft.isLeader else { return }
        if let existing = leaderOfTerm[raft.currentTerm], existing != raft.id {
            throw SimulationFailure("two leaders in term \(raft.currentTerm): \(existing) and \(raft.id)")
        }
        leaderOfTerm[raft.currentTerm] = raft.id
    }

    /// An entry once committed never changes: whatever a node holds at a committed index is
    /// the entry first recorded there (State Machine Safety / Leader Completeness).
    private mutating func checkCommittedLog(_ node: SimulatedNode, _ raft: RaftNode) throws(SimulationFailure) {
        let commit = raft.commitIndex
        // Entries checked before are re-read only now and then (and always at the end).
        let from = fullScan ? 0 : (checkedUpTo[node.id] ?? 0) + 1
        let first = max(node.storage.firstIndex(), from)
        guard commit >= first else { return }
        let stableLast = min(commit, node.storage.lastIndex())
        guard stableLast >= first,
              let entries = try? node.storage.entries(from: first, to: stableLast + 1, maxBytes: .max) else { return }
        for entry in entries {
            if let known = committed[entry.index] {
                if known != entry {
                    throw SimulationFailure("committed entry \(entry.index) changed on \(node.id): term \(known.term) → \(entry.term)")
                }
            } else {
                committed[entry.index] = entry
                highestCommitted = max(highestCommitted, entry.index)
            }
        }
        durableCommitted[node.id] = max(durableCommitted[node.id] ?? 0, stableLast)
        checkedUpTo[node.id] = stableLast
    }

    /// A committed entry never disappears from a node's durable log (unless a snapshot
    /// covers it).
    private func checkDurableLog(_ node: SimulatedNode) throws(SimulationFailure) {
        guard let held = durableCommitted[node.id] else { return }
        let covered = max(node.storage.lastIndex(), node.storage.snapshotMetadata().index)
        if covered < held {
            throw SimulationFailure("\(node.id) lost committed entries: held \(held), now ends at \(covered)")
        }
    }

    /// Every node applies the same sequence: each applied command equals the committed entry
    /// at its index.
    private mutating func checkAppliedState(_ node: SimulatedNode) throws(SimulationFailure) {
        for command in node.stateMachine.commands.suffix(8) {
            guard let entry = committed[command.index] else { continue }
            if entry.data != command.data {
                throw SimulationFailure("\(node.id) applied different data at \(command.index)")
            }
        }
    }

    /// A full comparison, for the end of a run: every node's applied history is a prefix of
    /// the committed log.
    mutating func checkHistories(_ nodes: [SimulatedNode]) throws(SimulationFailure) {
        checks = 199
        try check(nodes)
        for node in nodes {
            for command in node.stateMachine.commands {
                guard let entry = committed[command.index] else {
                    throw SimulationFailure("\(node.id) applied \(command.index), which was never seen committed")
                }
                if entry.data != command.data {
                    throw SimulationFailure("\(node.id) applied different data at \(command.index)")
                }
            }
        }
    }
}
