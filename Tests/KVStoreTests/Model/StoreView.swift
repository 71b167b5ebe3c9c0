import KVStore

/// Everything a client can observe of the coordination state at one moment, read the same
/// way from a real state machine and from the reference model, so two of them agree exactly
/// when their views are equal.
struct StoreView: Equatable {
    /// A read's answer or its refusal.
    enum Answer<Value: Equatable>: Equatable {
        case value(Value)
        case refused(KVStoreError)

        init(_ body: () throws(KVStoreError) -> Value) {
            do throws(KVStoreError) { self = .value(try body()) } catch { self = .refused(error) }
        }

        init(_ result: Result<Value, KVStoreError>) {
            switch result {
            case .success(let value): self = .value(value)
            case .failure(let error): self = .refused(error)
            }
        }
    }

    struct PastRead: Equatable {
        var key: String
        var revision: UInt64
        var answer: Answer<KVRecord?>
    }

    var revision: UInt64
    var records: [KVRecord]
    var compactRevision: UInt64
    /// Every retained event (after the compact revision).
    var retained: [KVEvent]
    /// Events from revision 0: all of them, or refused once anything is compacted.
    var fromZero: Answer<[KVEvent]>
    var leases: [LeaseRecord]
    var leaseKeys: [[String]]
    var pastReads: [PastRead]

    /// Revisions worth reading every key at: around the compact revision, the current
    /// revision and just past it, and a few in between chosen by the caller.
    static func probes(compactRevision: UInt64, revision: UInt64, extra: [UInt64]) -> [UInt64] {
        var probes: Set<UInt64> = [compactRevision, revision, revision + 1]
        if compactRevision > 0 { probes.insert(compactRevision - 1) }
        for r in extra where r <= revision + 1 { probes.insert(r) }
        return probes.sorted()
    }

    init(_ sm: KVStateMachine, probes: [UInt64]) throws {
        revision = sm.revision
        records = try sm.list()
        compactRevision = try sm.compactRevision()
        retained = try sm.events(after: compactRevision, limit: .max)
        fromZero = Answer { () throws(KVStoreError) in try sm.events(after: 0, limit: .max) }
        leases = try sm.leases()
        leaseKeys = try leases.map { try sm.leaseKeys($0.id) }
        pastReads = probes.flatMap { r in
            CommandGenerator.keyspace.map { key in
                PastRead(key: key, revision: r, answer: Answer { () throws(KVStoreError) in try sm.get(key, atRevision: r) })
            }
        }
    }

    init(_ model: ReferenceModel, probes: [UInt64]) {
        revision = model.applied
        records = model.records
        compactRevision = model.compactRevision
        retained = model.retainedEvents
        fromZero = model.compactRevision > 0 ? .refused(.compacted(compactRevision: model.compactRevision)) : .value(model.history)
        leases = model.leaseRecords
        leaseKeys = leases.map { model.keys(ofLease: $0.id) }
        pastReads = probes.flatMap { r in
            CommandGenerator.keyspace.map { key in PastRead(key: key, revision: r, answer: Answer(model.get(key, atRevision: r))) }
        }
    }

    /// The first difference, for a failure message short enough to read.
    func difference(from other: StoreView) -> String {
        if revision != other.revision { return "revision \(revision) vs \(other.revision)" }
        if records != other.records { return "records\n  \(records)\nvs\n  \(other.records)" }
        if compactRevision != other.compactRevision { return "compact revision \(compactRevision) vs \(other.compactRevision)" }
        if retained != other.retained {
            let common = min(retained.count, other.retained.count)
            let at = (0..<common).first { retained[$0] != other.retained[$0] } ?? common
            return "retained events differ at \(at) (\(retained.count) vs \(other.retained.count)):\n  "
                + "\(retained.dropFirst(at).first.map(String.init(describing:)) ?? "none")\nvs\n  "
                + "\(other.retained.dropFirst(at).first.map(String.init(describing:)) ?? "none")"
        }
        if fromZero != other.fromZero { return "events from 0 differ" }
        if leases != other.leases { return "leases \(leases) vs \(other.leases)" }
        if leaseKeys != other.leaseKeys { return "lease keys \(leaseKeys) vs \(other.leaseKeys)" }
        if let (a, b) = zip(pastReads, other.pastReads).first(where: { $0 != $1 }) { return "read at a revision: \(a) vs \(b)" }
        return "no difference"
    }
}
