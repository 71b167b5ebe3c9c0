import KVStore
import RaftCore
import Testing

/// The determinism model of the coordination commands (Docs/KVSTORE.md, "Determinism
/// model"): a seeded random log applied to the in-memory `ReferenceModel` and to three real
/// state machines, each cutting the log into batches its own way:
/// - one entry per committed LMDB transaction;
/// - random batches through the apply queue, read while the write transaction that applied
///   them is still open (the `UncommittedWrites` path) and again once it committed;
/// - random batches, then a snapshot taken midway installed into a fresh store that applies
///   the rest.
/// After every batch each store must answer every entry as the model did and show the same
/// keys, events, leases with their keys, compact revision and reads at past revisions.
/// A failure names its seed; `replay(seed:)` runs one seed alone.
@Suite struct DeterminismModelTests {
    static let seeds: [UInt64] = [1, 2, 3, 5, 8, 13, 21, 34]
    static let entriesPerSeed: UInt64 = 160

    @Test(.timeLimit(.minutes(5)), arguments: seeds)
    func everyStoreAgreesWithTheModel(seed: UInt64) async throws {
        try await Self.replay(seed: seed)
    }

    static func replay(seed: UInt64) async throws {
        var generator = CommandGenerator(seed: seed)
        var model = ReferenceModel()
        var log: [Entry] = []
        var outcomes: [ApplyOutcome] = []
        for _ in 1...entriesPerSeed {
            let next = generator.next(model)
            log.append(next)
            outcomes.append(model.apply(next))
        }
        // The log must exercise what it is meant to, or the comparison proves little.
        let applied = outcomes.filter { if case .applied = $0 { true } else { false } }.count
        #expect(applied > Int(entriesPerSeed) / 3, "seed \(seed): \(applied) entries applied")
        #expect(outcomes.contains(.requestMismatch) || outcomes.contains { if case .duplicate = $0 { true } else { false } },
                "seed \(seed) retries no request")

        var replaying = Replay(seed: seed, log: log, outcomes: outcomes)
        try await withStore { single, _ in
            try await withStore { queued, _ in
                try await withStore { snapshotted, _ in
                    try await withStore { restored, _ in
                        try await replaying.oneEntryPerCommit(single)
                        try await replaying.heldOpenBatches(queued)
                        try await replaying.snapshotMidway(from: snapshotted, into: restored)
                    }
                }
            }
        }
    }
}

/// One seed's log and the model's answers, held against real stores.
private struct Replay {
    let seed: UInt64
    let log: [Entry]
    let outcomes: [ApplyOutcome]
    /// The model after the first n entries, at n.
    let models: [ReferenceModel]
    var random: SeededGenerator
    /// After the first disagreement the rest is noise: stop there.
    var failed = false

    init(seed: UInt64, log: [Entry], outcomes: [ApplyOutcome]) {
        self.seed = seed
        self.log = log
        self.outcomes = outcomes
        var model = ReferenceModel()
        var models = [model]
        for entry in log {
            _ = model.apply(entry)
            models.append(model)
        }
        self.models = models
        random = SeededGenerator(seed: seed ^ 0x5EED)
    }

    private mutating func batchSizes(max: Int) -> [Int] {
        var sizes: [Int] = []
        var left = log.count
        while left > 0 {
            let size = Swift.min(left, Int.random(in: 1...max, using: &random))
            sizes.append(size)
            left -= size
        }
        return sizes
    }

    /// Checks one batch's outcomes and the store's view after it; records the first difference.
    private mutating func check(_ sm: KVStateMachine, _ results: [AppliedEntry], through end: Int,
                                _ how: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard !failed else { return }
        let start = end - results.count
        let expected = Array(outcomes[start..<end])
        if results.map(\.outcome) != expected {
            let at = results.indices.first { results[$0].outcome != expected[$0] } ?? 0
            let command = String(describing: try? KVCommand(decoding: log[start + at].data))
            let message = "seed \(seed), \(how): entry \(start + at + 1) answered \(results[at].outcome), "
                + "the model \(expected[at])\ncommand: \(command)"
            Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
            failed = true
            return
        }
        let model = models[end]
        let extra = (0..<3).map { _ in UInt64.random(in: 0...UInt64(end), using: &random) }
        let probes = StoreView.probes(compactRevision: model.compactRevision, revision: model.applied, extra: extra)
        let want = StoreView(model, probes: probes)
        let got = try StoreView(sm, probes: probes)
        if got != want {
            let message = "seed \(seed), \(how), after entry \(end): \(got.difference(from: want))"
            Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
            failed = true
        }
    }

    mutating func oneEntryPerCommit(_ store: DurableStore) async throws {
        for (i, entry) in log.enumerated() {
            let results = try await store.stateMachine.apply([entry])
            try check(store.stateMachine, results, through: i + 1, "one entry per commit")
        }
    }

    mutating func heldOpenBatches(_ store: DurableStore) async throws {
        var end = 0
        for size in batchSizes(max: 9) {
            let held = HeldApply(store, Array(log[end..<end + size]))
            defer { held.release() }
            let results = try await held.waitUntilApplied()
            end += size
            try check(store.stateMachine, results, through: end, "read in the open transaction")
            #expect(!held.isCommitted)
            await held.commit(store)
            try check(store.stateMachine, results, through: end, "read after its commit")
        }
    }

    mutating func snapshotMidway(from source: DurableStore, into target: DurableStore) async throws {
        try await source.log.persist(hardState: HardState(term: 1, commit: UInt64(log.count)), entries: log)
        let midway = log.count / 2
        var store = source
        var end = 0
        for size in batchSizes(max: 12) {
            let results = try await store.stateMachine.apply(Array(log[end..<end + size]))
            end += size
            try check(store.stateMachine, results, through: end, store === source ? "batches" : "batches after a snapshot")
            if store === source, end >= midway {
                let metadata = try await source.createSnapshot()
                #expect(metadata.index == UInt64(end))
                var chunks: [SnapshotChunk] = []
                var offset: UInt64 = 0
                while true {
                    let (data, isLast) = try source.log.snapshotData(offset: offset, maxBytes: 4096)
                    chunks.append(SnapshotChunk(metadata: metadata, offset: offset, data: data, isLast: isLast))
                    offset += UInt64(data.count)
                    if isLast { break }
                }
                try await target.persist(hardState: nil, entries: [], snapshotChunks: chunks, installing: metadata)
                store = target
                // Nothing applied yet since the snapshot: it must show the same as the model there.
                try check(store.stateMachine, [], through: end, "just restored from a snapshot")
            }
        }
        #expect(store === target, "seed \(seed): the snapshot was taken")
    }
}
