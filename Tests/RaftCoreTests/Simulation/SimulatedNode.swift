import RaftCore

/// The state machine the simulation replicates: the ordered list of applied commands.
/// Keeping the whole history makes "every node applies the same sequence" a direct check.
struct SimulatedStateMachine: Equatable {
    var appliedIndex: UInt64 = 0
    var commands: [(index: UInt64, data: [UInt8])] = []

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.appliedIndex == rhs.appliedIndex && lhs.commands.elementsEqual(rhs.commands) { $0.index == $1.index && $0.data == $1.data }
    }

    /// Serialized form used as snapshot data: `[index u64][length u32][bytes]...`.
    func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        append(appliedIndex, bytes: 8, to: &bytes)
        for command in commands {
            append(command.index, bytes: 8, to: &bytes)
            append(UInt64(command.data.count), bytes: 4, to: &bytes)
            bytes.append(contentsOf: command.data)
        }
        return bytes
    }

    init() {}

    init(decoding bytes: [UInt8]) {
        var position = 0
        func read(_ count: Int) -> UInt64 {
            var value: UInt64 = 0
            for i in 0..<count { value |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
            position += count
            return value
        }
        appliedIndex = read(8)
        while position < bytes.count {
            let index = read(8)
            let length = Int(read(4))
            commands.append((index, Array(bytes[position..<position + length])))
            position += length
        }
    }

    private func append(_ value: UInt64, bytes count: Int, to bytes: inout [UInt8]) {
        for i in 0..<count { bytes.append(UInt8((value >> (8 * UInt64(i))) & 0xFF)) }
    }
}

/// One simulated server: what survives a crash (storage, the applied state machine and
/// staged snapshot chunks) and what does not (the RaftNode itself).
final class SimulatedNode {
    let id: NodeID
    let storage = MemoryStorage()
    var stateMachine = SimulatedStateMachine()
    var stagedSnapshot: (metadata: SnapshotMetadata, bytes: [UInt8])?
    var raft: RaftNode?
    var restarts = 0
    /// Reads confirmed by Raft, waiting for the state machine to reach their index.
    var confirmedReads: [ReadState] = []
    /// What the last synced write left: a Ready that only moved the commit index is
    /// written without a sync (as kv-node does), and a power loss may undo it.
    private var syncedStateMachine = SimulatedStateMachine()
    private var syncedHardState = HardState()

    init(id: NodeID) { self.id = id }

    var isUp: Bool { raft != nil }

    func start(config: RaftConfig) {
        var config = config
        config.applied = stateMachine.appliedIndex
        raft = RaftNode(config: config, storage: storage)
        // What a node starts from is on disk by definition.
        synced()
    }

    /// Loses the RaftNode; with `losingUnsyncedWrites` (a power loss rather than a process
    /// crash) also what was written since the last sync.
    func crash(losingUnsyncedWrites: Bool) {
        raft = nil
        confirmedReads = []
        if losingUnsyncedWrites {
            stateMachine = syncedStateMachine
            var hardState = syncedHardState
            hardState.commit = max(hardState.commit, storage.snapshotMetadata().index)
            storage.setHardState(hardState)
        }
    }

    /// Everything written so far is durable (a synced write flushes earlier lazy ones too).
    func synced() {
        syncedStateMachine = stateMachine
        syncedHardState = storage.hardState
    }

    /// Does what the embedding program must do with a Ready: persist, then hand messages
    /// over, then apply. Returns the messages to send and the entries applied.
    func persist(_ ready: Ready) {
        for chunk in ready.snapshotChunks {
            if chunk.offset == 0 || stagedSnapshot?.metadata != chunk.metadata {
                stagedSnapshot = (chunk.metadata, [])
            }
            stagedSnapshot!.bytes.append(contentsOf: chunk.data)
        }
        if let metadata = ready.snapshotToInstall {
            precondition(stagedSnapshot?.metadata == metadata, "installing a snapshot that was not staged")
            let bytes = stagedSnapshot!.bytes
            storage.installSnapshot(metadata, data: bytes)
            stateMachine = SimulatedStateMachine(decoding: bytes)
            stagedSnapshot = nil
        }
        storage.append(ready.entries)
        if let hardState = ready.hardState { storage.setHardState(hardState) }
    }

    /// Applies committed entries; the applied index moves with the data, as in one LMDB
    /// transaction.
    func apply(_ entries: [Entry]) -> SimulationFailure? {
        for entry in entries {
            guard entry.index == stateMachine.appliedIndex + 1 else {
                return SimulationFailure("\(id) applied index \(entry.index) after \(stateMachine.appliedIndex)")
            }
            stateMachine.appliedIndex = entry.index
            if entry.kind == .normal && !entry.data.isEmpty {
                stateMachine.commands.append((entry.index, entry.data))
            }
        }
        return nil
    }

    /// Takes a snapshot of the applied state and compacts the log behind it.
    func takeSnapshot() {
        guard let raft, raft.appliedIndex > storage.snapshotMetadata().index else { return }
        let metadata = raft.snapshotMetadataAtApplied
        precondition(metadata.index == stateMachine.appliedIndex)
        storage.createSnapshot(metadata, data: stateMachine.encoded())
        synced()
    }
}

struct SimulationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
