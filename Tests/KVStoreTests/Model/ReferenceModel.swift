import KVStore
import RaftCore

/// What the replicated state machine must do with the coordination commands, written as
/// plainly as possible in memory (dictionaries and arrays, no LMDB, no encoding), so the
/// determinism test can hold every real store against it (Docs/KVSTORE.md, "Determinism
/// model"). Keys are told apart by their UTF-8 bytes, as LMDB tells them apart.
struct ReferenceModel {
    private(set) var applied: UInt64 = 0
    private(set) var keys: [[UInt8]: KVRecord] = [:]
    /// Every change ever made; compaction only moves `compactRevision`.
    private(set) var history: [KVEvent] = []
    private(set) var leases: [UInt64: Int64] = [:]
    private(set) var leaseKeys: [UInt64: Set<[UInt8]>] = [:]
    private(set) var compactRevision: UInt64 = 0
    /// The whole key space after each applied index, for reads at a past revision.
    private var states: [[[UInt8]: KVRecord]] = [[:]]
    private var sessions: [UInt64: Session] = [:]

    private struct Session {
        var sequence: UInt64
        var operation: KVCommand.Operation
        var result: KVResult
    }

    /// Applies the entry at `applied + 1`: an empty entry is the leader's no-op.
    mutating func apply(_ entry: Entry) -> ApplyOutcome {
        applied = entry.index
        defer { states.append(keys) }
        if entry.data.isEmpty { return .noop }
        guard let command = try? KVCommand(decoding: entry.data) else { return .rejected(.invalidCommand("undecodable")) }
        if case .leaseGrant(let ttl) = command.operation, !(1...KVCommand.maxLeaseSeconds).contains(ttl) {
            return .rejected(.invalidCommand("a lease's ttl must be 1...\(KVCommand.maxLeaseSeconds) seconds, not \(ttl)"))
        }
        if let id = command.requestID, let session = sessions[id.clientID] {
            if id.sequence < session.sequence { return .staleRequest }
            if id.sequence == session.sequence {
                return session.operation == command.operation ? .duplicate(session.result) : .requestMismatch
            }
        }
        let result: KVResult
        switch perform(command.operation) {
        case .success(let done): result = done
        case .failure(let refusal): return .rejected(refusal)
        }
        if let id = command.requestID {
            sessions[id.clientID] = Session(sequence: id.sequence, operation: command.operation, result: result)
        }
        return .applied(result)
    }

    // MARK: Reads, as the store answers them

    var records: [KVRecord] { keys.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.value) }

    var retainedEvents: [KVEvent] { history.filter { $0.revision > compactRevision } }

    var leaseRecords: [LeaseRecord] { leases.keys.sorted().map { LeaseRecord(id: $0, ttlSeconds: leases[$0] ?? 0) } }

    func keys(ofLease id: UInt64) -> [String] {
        (leaseKeys[id] ?? []).sorted { $0.lexicographicallyPrecedes($1) }.map { String(decoding: $0, as: UTF8.self) }
    }

    func get(_ key: String, atRevision revision: UInt64) -> Result<KVRecord?, KVStoreError> {
        if revision > applied { return .failure(.futureRevision(requested: revision, current: applied)) }
        if revision < compactRevision { return .failure(.compacted(compactRevision: compactRevision)) }
        return .success(states[Int(revision)][Array(key.utf8)])
    }

    // MARK: Operations

    private mutating func perform(_ operation: KVCommand.Operation) -> Result<KVResult, KVStoreError> {
        let index = applied
        switch operation {
        case .put(let key, let value):
            write(key, value, lease: 0)
            return .success(KVResult(revision: index))
        case .delete(let key):
            return .success(KVResult(revision: index, deleted: delete(key, expired: false)))
        case .txn(let request):
            let succeeded = request.compare.allSatisfy { holds($0) }
            let branch = succeeded ? request.success : request.failure
            for case .put(_, _, let lease) in branch where lease != 0 && leases[lease] == nil {
                return .failure(.leaseNotFound(lease))
            }
            var results: [TxnOperationResult] = []
            for operation in branch {
                switch operation {
                case .put(let key, let value, let lease):
                    write(key, value, lease: lease)
                    results.append(.put(key: key, revision: index))
                case .delete(let key):
                    results.append(.delete(key: key, deleted: delete(key, expired: false) ? 1 : 0))
                case .deletePrefix(let prefix):
                    let matching = keys.keys.filter { $0.starts(with: prefix.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
                    for key in matching { _ = delete(String(decoding: key, as: UTF8.self), expired: false) }
                    results.append(.deletePrefix(prefix: prefix, deleted: matching.count))
                case .get(let key):
                    results.append(.get(key: key, record: keys[Array(key.utf8)]))
                }
            }
            return .success(KVResult(revision: index, detail: .txn(TxnResult(succeeded: succeeded, results: results))))
        case .leaseGrant(let ttl):
            leases[index] = ttl
            return .success(KVResult(revision: index, detail: .lease(id: index, ttlSeconds: ttl)))
        case .leaseKeepAlive(let id):
            guard let ttl = leases[id] else { return .failure(.leaseNotFound(id)) }
            return .success(KVResult(revision: index, detail: .lease(id: id, ttlSeconds: ttl)))
        case .leaseRevoke(let id, let expired):
            guard leases[id] != nil else { return .failure(.leaseNotFound(id)) }
            let attached = (leaseKeys[id] ?? []).sorted { $0.lexicographicallyPrecedes($1) }
            for key in attached { _ = delete(String(decoding: key, as: UTF8.self), expired: expired) }
            leases[id] = nil
            leaseKeys[id] = nil
            return .success(KVResult(revision: index, deleted: !attached.isEmpty, detail: .deletedKeys(attached.count)))
        case .compact(let revision):
            if revision <= compactRevision { return .failure(.compacted(compactRevision: compactRevision)) }
            if revision >= index { return .failure(.futureRevision(requested: revision, current: index - 1)) }
            compactRevision = revision
            return .success(KVResult(revision: index))
        }
    }

    private mutating func write(_ key: String, _ value: [UInt8], lease: UInt64) {
        let bytes = Array(key.utf8)
        let previous = keys[bytes]
        let record = KVRecord(key: key, value: value, revision: applied, createRevision: previous?.createRevision ?? applied,
                              version: (previous?.version ?? 0) + 1, lease: lease)
        if let old = previous?.lease, old != 0 { leaseKeys[old]?.remove(bytes) }
        if lease != 0 { leaseKeys[lease, default: []].insert(bytes) }
        keys[bytes] = record
        history.append(KVEvent(kind: .put, record: record, previous: previous))
    }

    private mutating func delete(_ key: String, expired: Bool) -> Bool {
        let bytes = Array(key.utf8)
        guard let previous = keys[bytes] else { return false }
        if previous.lease != 0 { leaseKeys[previous.lease]?.remove(bytes) }
        keys[bytes] = nil
        let tombstone = KVRecord(key: key, value: [], revision: applied, createRevision: 0, version: 0, lease: 0)
        history.append(KVEvent(kind: .delete, record: tombstone, previous: previous, expired: expired))
        return true
    }

    /// A missing key has revision, create revision and version 0 and no value.
    private func holds(_ comparison: TxnCompare) -> Bool {
        let record = keys[Array(comparison.key.utf8)]
        let ordering: Int
        switch (comparison.target, comparison.operand) {
        case (.value, .bytes(let expected)):
            guard let actual = record?.value else { return false }
            ordering = actual == expected ? 0 : actual.lexicographicallyPrecedes(expected) ? -1 : 1
        case (.revision, .number(let n)): ordering = Self.order(record?.revision ?? 0, n)
        case (.createRevision, .number(let n)): ordering = Self.order(record?.createRevision ?? 0, n)
        case (.version, .number(let n)): ordering = Self.order(record?.version ?? 0, n)
        default: return false
        }
        switch comparison.relation {
        case .equal: return ordering == 0
        case .notEqual: return ordering != 0
        case .less: return ordering < 0
        case .greater: return ordering > 0
        }
    }

    private static func order(_ a: UInt64, _ b: UInt64) -> Int { a < b ? -1 : a == b ? 0 : 1 }
}
