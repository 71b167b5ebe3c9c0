import RaftCore
import Synchronization

/// What applying one committed entry did, for the request waiting on that index.
public enum ApplyOutcome: Sendable, Equatable {
    /// The entry was at or below the applied index (a replay after restart): nothing done.
    case alreadyApplied
    /// The leader's empty no-op entry.
    case noop
    case applied(KVResult)
    /// A retry of a request already applied: its original result, not applied again.
    case duplicate(KVResult)
    /// A request older than the latest one its client's session remembers.
    case staleRequest
    /// The latest request id of a session reused for a different operation, key or value:
    /// nothing applied (an Idempotency-Key reused for another request).
    case requestMismatch
    /// A retry of a request whose session was evicted: its answer is no longer known, and
    /// it is not applied again.
    case resultEvicted
    /// A membership change, now reflected in `members()`.
    case membership(ConfChange)
    /// An entry that cannot be applied (undecodable, or a key LMDB refuses). Every replica
    /// rejects it the same way, so state stays identical.
    case rejected(KVStoreError)
}

public struct AppliedEntry: Sendable, Equatable {
    public var index: UInt64
    public var term: UInt64
    public var outcome: ApplyOutcome
}

/// The replicated key-value state: data with per-key revisions, client sessions and the
/// membership. Each `apply` call is one transaction that also records the applied position,
/// so a crash leaves either all of a batch applied or none of it, and never applies twice.
public final class KVStateMachine: @unchecked Sendable {
    let environment: Environment
    let kv: Database
    let meta: Database
    let sessionTable: ClientSessions
    let memberTable: MemberTable
    let history: Database
    let leaseTable: LeaseTable
    let uncommitted = UncommittedWrites()
    /// The store's revision: the last applied index, including what the open write
    /// transaction applied (as local reads see it). Read without a transaction for the
    /// `X-KV-Revision` of every answer.
    private let appliedRevision = Atomic<UInt64>(0)

    init(environment: Environment, sessionLimits: SessionLimits) {
        self.environment = environment
        kv = environment.database(Schema.kv)
        meta = environment.database(Schema.meta)
        sessionTable = ClientSessions(
            sessions: environment.database(Schema.sessions),
            age: environment.database(Schema.sessionAge),
            evictedAge: environment.database(Schema.sessionEvictedAge),
            limits: sessionLimits
        )
        memberTable = MemberTable(db: environment.database(Schema.members))
        history = environment.database(Schema.history)
        leaseTable = LeaseTable(leases: environment.database(Schema.leases), keys: environment.database(Schema.leaseKeys))
        if let applied = try? appliedPosition() { appliedRevision.store(applied.index, ordering: .relaxed) }
        environment.writeTransactionEnded = { [unowned self] committed in
            uncommitted.clear()
            // What an aborted transaction applied is applied again later; until then the
            // revision must not claim it, or a watcher would skip its events.
            if !committed, let applied = try? appliedPosition() {
                appliedRevision.store(applied.index, ordering: .relaxed)
            }
        }
    }

    /// The store's revision: every applied entry raises it (Docs/API.md, "Revisions").
    public var revision: UInt64 { appliedRevision.load(ordering: .relaxed) }

    func revisionApplied(_ index: UInt64) {
        appliedRevision.store(index, ordering: .relaxed)
    }

    /// Applies committed entries in order, with one disk sync for the whole batch. Entries at
    /// or below the applied index are skipped; a gap after it is `KVStoreError.outOfOrder`.
    public func apply(_ entries: [Entry]) async throws(KVStoreError) -> [AppliedEntry] {
        guard !entries.isEmpty else { return [] }
        return try await environment.onWriteThread { () throws(KVStoreError) -> [AppliedEntry] in
            try self.environment.transact { txn throws(KVStoreError) -> [AppliedEntry] in
                try self.apply(entries, txn)
            }
        }
    }

    /// Applies `entries` inside the caller's write transaction (so a log write and an apply
    /// can share one commit and one sync).
    func apply(_ entries: [Entry], _ txn: Transaction) throws(KVStoreError) -> [AppliedEntry] {
        guard !entries.isEmpty else { return [] }
        var applied = try self.applied(txn)
        var results: [AppliedEntry] = []
        results.reserveCapacity(entries.count)
        for entry in entries {
            if entry.index <= applied.index {
                results.append(AppliedEntry(index: entry.index, term: entry.term, outcome: .alreadyApplied))
                continue
            }
            guard entry.index == applied.index + 1 else {
                throw .outOfOrder(expected: applied.index + 1, got: entry.index)
            }
            let outcome = try applyOne(entry, txn)
            results.append(AppliedEntry(index: entry.index, term: entry.term, outcome: outcome))
            applied = LogPosition(index: entry.index, term: entry.term)
        }
        try txn.put(meta, Schema.MetaKey.applied, LogCodec.encode(applied))
        revisionApplied(applied.index)
        return results
    }

    // MARK: Reads (on the caller's thread, each in its own read transaction)

    /// The last applied entry's position; RaftCore's `RaftConfig.applied` starts from it.
    public func appliedPosition() throws(KVStoreError) -> LogPosition {
        try environment.read { txn throws(KVStoreError) in try applied(txn) }
    }

    /// Includes what the open write transaction applied (`UncommittedWrites`).
    public func get(_ key: String) throws(KVStoreError) -> KVRecord? {
        try KVCommand.validate(key: key)
        if let pending = uncommitted.lookup(key) { return pending }
        let db = kv
        let keyBytes = Array(key.utf8)
        return try environment.read { txn throws(KVStoreError) -> KVRecord? in
            try txn.get(db, keyBytes).map { stored throws(KVStoreError) in try KVRecord(key: keyBytes, stored: stored) }
        }
    }

    public func members() throws(KVStoreError) -> [MemberRecord] {
        let table = memberTable
        return try environment.read { txn throws(KVStoreError) in try table.all(txn) }
    }

    /// The configuration the applied membership changes add up to.
    public func confState() throws(KVStoreError) -> ConfState { MemberTable.confState(try members()) }

    public func session(clientID: UInt64) throws(KVStoreError) -> SessionRecord? {
        let table = sessionTable
        return try environment.read { txn throws(KVStoreError) in try table.lookup(clientID, txn) }
    }

    // MARK: Inside a write transaction

    func applied(_ txn: Transaction) throws(KVStoreError) -> LogPosition {
        try txn.get(meta, Schema.MetaKey.applied).map(LogCodec.decodePosition) ?? .zero
    }

    private func applyOne(_ entry: Entry, _ txn: Transaction) throws(KVStoreError) -> ApplyOutcome {
        switch entry.kind {
        case .configChange:
            guard let change = ConfChange(decoding: entry.data) else {
                return .rejected(.invalidCommand("malformed configuration change"))
            }
            try memberTable.apply(change, txn)
            return .membership(change)
        case .normal:
            if entry.data.isEmpty { return .noop }
            let command: KVCommand
            do throws(KVStoreError) {
                command = try KVCommand(decoding: entry.data)
                try command.validate()
            } catch {
                return .rejected(error)
            }
            return try execute(command, at: entry.index, txn)
        }
    }

    private func execute(_ command: KVCommand, at index: UInt64, _ txn: Transaction) throws(KVStoreError) -> ApplyOutcome {
        // Computed from the replicated command on every replica, so all of them decide alike.
        let fingerprint = command.requestID.map { _ in RequestFingerprint(command.operation) }
        if let id = command.requestID, let session = try sessionTable.lookup(id.clientID, txn) {
            if id.sequence < session.sequence { return .staleRequest }
            if id.sequence == session.sequence {
                guard let result = session.result else { return .resultEvicted }
                // A version 1 record has no fingerprint: it answers any request as a retry.
                if let stored = session.fingerprint, stored != fingerprint { return .requestMismatch }
                return .duplicate(result)
            }
        }
        let result: KVResult
        do throws(KVStoreError) {
            result = try perform(command.operation, at: index, txn)
        } catch {
            // Decided from replicated state alone, so every replica refuses alike; nothing of
            // the command was written (checks come before the first write).
            if error.isDeterministicRefusal { return .rejected(error) }
            throw error
        }
        if let id = command.requestID {
            let session = SessionRecord(sequence: id.sequence, lastIndex: index, result: result, fingerprint: fingerprint)
            try sessionTable.record(id.clientID, session, txn)
        }
        return .applied(result)
    }

    private func perform(_ operation: KVCommand.Operation, at index: UInt64, _ txn: Transaction) throws(KVStoreError) -> KVResult {
        var keys = KeyspaceWriter(kv: kv, history: history, leases: leaseTable, uncommitted: uncommitted, txn: txn, revision: index)
        switch operation {
        case .put(let key, let value):
            try keys.put(key, value)
            return KVResult(revision: index)
        case .delete(let key):
            return KVResult(revision: index, deleted: try keys.delete(key))
        case .txn(let request):
            return KVResult(revision: index, detail: .txn(try perform(request, &keys)))
        case .leaseGrant(let ttl):
            guard try txn.count(leaseTable.leases) < LeaseRecord.maxLeases else {
                throw .invalidCommand("the cluster already holds \(LeaseRecord.maxLeases) leases, the most it keeps; revoke some first")
            }
            let lease = LeaseRecord(id: index, ttlSeconds: ttl)
            try leaseTable.put(lease, txn)
            uncommitted.record(lease: index, lease)
            return KVResult(revision: index, detail: .lease(id: index, ttlSeconds: ttl))
        case .leaseKeepAlive(let id):
            guard let lease = try leaseTable.lookup(id, txn) else { throw .leaseNotFound(id) }
            return KVResult(revision: index, detail: .lease(id: id, ttlSeconds: lease.ttlSeconds))
        case .leaseRevoke(let id, let expired):
            guard try leaseTable.lookup(id, txn) != nil else { throw .leaseNotFound(id) }
            let deleted = try keys.revoke(id, expired: expired)
            return KVResult(revision: index, deleted: deleted > 0, detail: .deletedKeys(deleted))
        case .compact(let revision):
            try compact(through: revision, at: index, txn)
            return KVResult(revision: index)
        }
    }

    /// Compares, then applies the chosen branch in order. Every lease the branch names, and
    /// the size of what its gets return (`TxnReadBudget.swift`), is checked before anything
    /// is written, so a refused transaction leaves no trace.
    private func perform(_ request: TxnRequest, _ keys: inout KeyspaceWriter) throws(KVStoreError) -> TxnResult {
        var succeeded = true
        for comparison in request.compare where !comparison.holds(for: try keys.current(comparison.key)) {
            succeeded = false
            break
        }
        let branch = succeeded ? request.success : request.failure
        for case .put(_, _, let lease) in branch where lease != 0 {
            guard try leaseTable.lookup(lease, keys.txn) != nil else { throw .leaseNotFound(lease) }
        }
        if branch.contains(where: { if case .get = $0 { true } else { false } }) {
            let bytes = try keys.readBytes(of: branch)
            guard bytes <= TxnRequest.maxReadBytes else {
                throw .invalidCommand("the transaction's gets would return \(bytes) bytes; at most \(TxnRequest.maxReadBytes) are allowed")
            }
        }
        var results: [TxnOperationResult] = []
        results.reserveCapacity(branch.count)
        for operation in branch {
            switch operation {
            case .put(let key, let value, let lease):
                results.append(.put(key: key, revision: try keys.put(key, value, lease: lease).revision))
            case .delete(let key):
                results.append(.delete(key: key, deleted: try keys.delete(key) ? 1 : 0))
            case .deletePrefix(let prefix):
                results.append(.deletePrefix(prefix: prefix, deleted: try keys.delete(prefix: prefix)))
            case .get(let key):
                results.append(.get(key: key, record: try keys.current(key)))
            }
        }
        return TxnResult(succeeded: succeeded, results: results)
    }
}
