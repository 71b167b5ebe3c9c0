/// Identifies one client request for exactly-once execution (Raft dissertation 6.3): a
/// client numbers its requests, and a retry reuses the number.
public struct ClientRequestID: Sendable, Hashable {
    public var clientID: UInt64
    public var sequence: UInt64

    public init(clientID: UInt64, sequence: UInt64) {
        self.clientID = clientID
        self.sequence = sequence
    }
}

/// What a `.normal` log entry asks the key-value state machine to do.
///
/// Layout: `[version u8][op u8][has request id u8]([client id u64][sequence u64])?[operation...]`.
/// A plain put or delete is version 1 (`[key length u16][key UTF-8]([value...])?`), the
/// layout every earlier build wrote and reads; every other operation is version 2
/// (`CommandCoding`). Older builds cannot apply version 2 entries, so a cluster that uses
/// them must not mix in such builds (Docs/KVSTORE.md, "Commands").
public struct KVCommand: Sendable, Equatable {
    public enum Operation: Sendable, Equatable {
        case put(key: String, value: [UInt8])
        case delete(key: String)
        /// Compare, then apply one branch, at one revision.
        case txn(TxnRequest)
        /// A new lease; its id is the index of this entry.
        case leaseGrant(ttlSeconds: Int64)
        /// Confirms the lease exists; the runtime restarts its clock when this applies.
        case leaseKeepAlive(id: UInt64)
        /// Deletes the lease and every key attached to it. `expired` marks the delete events of
        /// a revocation the leader proposed because the lease ran out.
        case leaseRevoke(id: UInt64, expired: Bool)
        /// Forgets history at and below `revision` (Docs/API.md, "History and compaction").
        case compact(revision: UInt64)
    }

    public var operation: Operation
    public var requestID: ClientRequestID?

    public init(_ operation: Operation, requestID: ClientRequestID? = nil) {
        self.operation = operation
        self.requestID = requestID
    }

    public static func put(_ key: String, _ value: [UInt8], requestID: ClientRequestID? = nil) -> KVCommand {
        KVCommand(.put(key: key, value: value), requestID: requestID)
    }

    public static func delete(_ key: String, requestID: ClientRequestID? = nil) -> KVCommand {
        KVCommand(.delete(key: key), requestID: requestID)
    }

    /// LMDB's default key limit; `DurableStore.maxKeySize` reports the linked library's.
    public static let maxKeySize = 511

    /// The longest lease a client may ask for: one year.
    public static let maxLeaseSeconds: Int64 = 31_536_000

    /// Checks a key before it is proposed, so a key LMDB would refuse never enters the log.
    public static func validate(key: String) throws(KVStoreError) {
        let size = key.utf8.count
        if size == 0 { throw .invalidKey("the key is empty") }
        if size > maxKeySize { throw .keyTooLarge(size: size, limit: maxKeySize) }
    }

    /// Checks what can be checked without the state: keys, limits, a lease's length.
    public func validate() throws(KVStoreError) {
        switch operation {
        case .put(let key, _), .delete(let key): try Self.validate(key: key)
        case .txn(let txn): try txn.validate()
        case .leaseGrant(let ttl):
            guard ttl >= 1, ttl <= Self.maxLeaseSeconds else {
                throw .invalidCommand("a lease's ttl must be 1...\(Self.maxLeaseSeconds) seconds, not \(ttl)")
            }
        case .leaseKeepAlive, .leaseRevoke, .compact: break
        }
    }

    /// True when applying this command at index `i` can only give `KVResult(revision: i)`, so
    /// its answer is known as soon as its entry commits, before it is applied: a plain put
    /// without a request id. `KVStateMachine.perform` writes it without a check a state could
    /// fail (its key was validated before it was proposed), and without a request id no
    /// client session can make it a duplicate or a stale retry. A failure to write it at all
    /// (the disk) stops the node; the entry stays committed and is applied on restart.
    public var resultIsKnownAtCommit: Bool {
        guard requestID == nil, case .put = operation else { return false }
        return true
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        switch operation {
        case .put(let key, let value):
            header(&w, version: 1, op: 1)
            w.shortString(key)
            w.raw(value)
        case .delete(let key):
            header(&w, version: 1, op: 2)
            w.shortString(key)
        case .txn(let txn):
            header(&w, version: 2, op: 3)
            CommandCoding.write(txn, to: &w)
        case .leaseGrant(let ttl):
            header(&w, version: 2, op: 4)
            w.u64(UInt64(bitPattern: ttl))
        case .leaseKeepAlive(let id):
            header(&w, version: 2, op: 5)
            w.u64(id)
        case .leaseRevoke(let id, let expired):
            header(&w, version: 2, op: 6)
            w.u64(id)
            w.u8(expired ? 1 : 0)
        case .compact(let revision):
            header(&w, version: 2, op: 7)
            w.u64(revision)
        }
        return w.bytes
    }

    private func header(_ w: inout ByteWriter, version: UInt8, op: UInt8) {
        w.u8(version)
        w.u8(op)
        w.u8(requestID == nil ? 0 : 1)
        if let requestID {
            w.u64(requestID.clientID)
            w.u64(requestID.sequence)
        }
    }

    public init(decoding bytes: [UInt8]) throws(KVStoreError) {
        do throws(KVStoreError) {
            var r = ByteReader(bytes, what: "command")
            let version = try r.u8()
            guard version == 1 || version == 2 else { throw KVStoreError.invalidCommand("unknown command version") }
            let op = try r.u8()
            let hasRequestID = try r.u8() != 0
            requestID = hasRequestID ? ClientRequestID(clientID: try r.u64(), sequence: try r.u64()) : nil
            switch (version, op) {
            case (1, 1):
                let key = try r.shortString()
                operation = .put(key: key, value: r.rest())
            case (1, 2): operation = .delete(key: try r.shortString())
            case (2, 3): operation = .txn(try CommandCoding.readTxn(&r))
            case (2, 4): operation = .leaseGrant(ttlSeconds: Int64(bitPattern: try r.u64()))
            case (2, 5): operation = .leaseKeepAlive(id: try r.u64())
            case (2, 6): operation = .leaseRevoke(id: try r.u64(), expired: try r.u8() != 0)
            case (2, 7): operation = .compact(revision: try r.u64())
            default: throw KVStoreError.invalidCommand("unknown operation \(op)")
            }
            try r.finish()
        } catch {
            if case .corrupt(let why) = error { throw .invalidCommand(why) }
            throw error
        }
    }
}

/// What applying a command produced; a retried request gets this same value back.
public struct KVResult: Sendable, Equatable {
    /// The index of the entry that performed the operation.
    public var revision: UInt64
    /// For a delete: whether the key existed. For a lease revocation: whether it had keys.
    public var deleted: Bool
    /// What a transaction, a lease command or a prefix delete answers beyond the revision.
    public var detail: ResultDetail?

    public init(revision: UInt64, deleted: Bool = false, detail: ResultDetail? = nil) {
        self.revision = revision
        self.deleted = deleted
        self.detail = detail
    }
}

/// The part of a result only some commands have.
public enum ResultDetail: Sendable, Equatable {
    case txn(TxnResult)
    /// A lease granted or kept alive, with its full time to live.
    case lease(id: UInt64, ttlSeconds: Int64)
    /// How many keys a revocation deleted.
    case deletedKeys(Int)
}
