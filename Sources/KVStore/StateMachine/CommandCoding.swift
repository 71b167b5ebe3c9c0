/// The byte layouts of transactions and of the results that travel back to clients (in a
/// forwarded write's answer and in a client session). Little-endian, as everywhere in the
/// store; every count is checked against the bytes that are actually there, so a hostile
/// or damaged input is an error, never a trap or a huge allocation.
///
/// ```
/// txn         compare count u16 | compare* | success count u16 | op* | failure count u16 | op*
/// compare     key (u16 length) | target u8 | relation u8 | 1 number u64 or 2 bytes (u32 length)
/// op          1 put key value(u32 length) lease u64 | 2 delete key | 3 delete prefix | 4 get key
/// detail      1 txn succeeded u8 count u16 result* | 2 lease id u64 ttl i64 | 3 deleted keys u64
/// result      1 put key revision u64 | 2 delete key n u64 | 3 delete prefix n u64
///             | 4 get key found u8 (record as stored in `kv`, u32 length)?
/// ```
enum CommandCoding {
    static func write(_ txn: TxnRequest, to w: inout ByteWriter) {
        w.u16(UInt16(truncatingIfNeeded: txn.compare.count))
        for comparison in txn.compare {
            w.shortString(comparison.key)
            w.u8(comparison.target.rawValue)
            w.u8(comparison.relation.rawValue)
            switch comparison.operand {
            case .number(let n):
                w.u8(1)
                w.u64(n)
            case .bytes(let bytes):
                w.u8(2)
                w.blob(bytes)
            }
        }
        for branch in [txn.success, txn.failure] {
            w.u16(UInt16(truncatingIfNeeded: branch.count))
            for operation in branch { write(operation, to: &w) }
        }
    }

    private static func write(_ operation: TxnOperation, to w: inout ByteWriter) {
        switch operation {
        case .put(let key, let value, let lease):
            w.u8(1)
            w.shortString(key)
            w.blob(value)
            w.u64(lease)
        case .delete(let key):
            w.u8(2)
            w.shortString(key)
        case .deletePrefix(let prefix):
            w.u8(3)
            w.shortString(prefix)
        case .get(let key):
            w.u8(4)
            w.shortString(key)
        }
    }

    static func readTxn(_ r: inout ByteReader) throws(KVStoreError) -> TxnRequest {
        var txn = TxnRequest()
        let compares = Int(try r.u16())
        for _ in 0..<compares {
            let key = try r.shortString()
            guard let target = TxnCompare.Target(rawValue: try r.u8()),
                  let relation = TxnCompare.Relation(rawValue: try r.u8()) else {
                throw .invalidCommand("unknown comparison")
            }
            let operand: TxnCompare.Operand
            switch try r.u8() {
            case 1: operand = .number(try r.u64())
            case 2: operand = .bytes(try r.blob())
            default: throw .invalidCommand("unknown comparison operand")
            }
            txn.compare.append(TxnCompare(key: key, target: target, relation: relation, operand: operand))
        }
        txn.success = try readBranch(&r)
        txn.failure = try readBranch(&r)
        return txn
    }

    private static func readBranch(_ r: inout ByteReader) throws(KVStoreError) -> [TxnOperation] {
        let count = Int(try r.u16())
        var operations: [TxnOperation] = []
        for _ in 0..<count {
            switch try r.u8() {
            case 1:
                let key = try r.shortString()
                let value = try r.blob()
                operations.append(.put(key: key, value: value, lease: try r.u64()))
            case 2: operations.append(.delete(key: try r.shortString()))
            case 3: operations.append(.deletePrefix(try r.shortString()))
            case 4: operations.append(.get(key: try r.shortString()))
            default: throw .invalidCommand("unknown transaction operation")
            }
        }
        return operations
    }

    // MARK: Results

    static func encode(_ detail: ResultDetail) -> [UInt8] {
        var w = ByteWriter()
        switch detail {
        case .txn(let result):
            w.u8(1)
            w.u8(result.succeeded ? 1 : 0)
            w.u16(UInt16(truncatingIfNeeded: result.results.count))
            for item in result.results { write(item, to: &w) }
        case .lease(let id, let ttl):
            w.u8(2)
            w.u64(id)
            w.u64(UInt64(bitPattern: ttl))
        case .deletedKeys(let n):
            w.u8(3)
            w.u64(UInt64(n))
        }
        return w.bytes
    }

    private static func write(_ result: TxnOperationResult, to w: inout ByteWriter) {
        switch result {
        case .put(let key, let revision):
            w.u8(1)
            w.shortString(key)
            w.u64(revision)
        case .delete(let key, let n):
            w.u8(2)
            w.shortString(key)
            w.u64(UInt64(n))
        case .deletePrefix(let prefix, let n):
            w.u8(3)
            w.shortString(prefix)
            w.u64(UInt64(n))
        case .get(let key, let record):
            w.u8(4)
            w.shortString(key)
            w.u8(record == nil ? 0 : 1)
            if let record { w.blob(record.encodedValue()) }
        }
    }

    static func decodeDetail(_ bytes: [UInt8]) throws(KVStoreError) -> ResultDetail {
        var r = ByteReader(bytes, what: "result")
        let detail: ResultDetail
        switch try r.u8() {
        case 1:
            let succeeded = try r.u8() != 0
            let count = Int(try r.u16())
            var results: [TxnOperationResult] = []
            for _ in 0..<count { results.append(try readResult(&r)) }
            detail = .txn(TxnResult(succeeded: succeeded, results: results))
        case 2: detail = .lease(id: try r.u64(), ttlSeconds: Int64(bitPattern: try r.u64()))
        case 3: detail = .deletedKeys(try count(&r))
        default: throw .corrupt("result: unknown kind")
        }
        try r.finish()
        return detail
    }

    private static func readResult(_ r: inout ByteReader) throws(KVStoreError) -> TxnOperationResult {
        switch try r.u8() {
        case 1:
            let key = try r.shortString()
            return .put(key: key, revision: try r.u64())
        case 2:
            let key = try r.shortString()
            return .delete(key: key, deleted: try count(&r))
        case 3:
            let prefix = try r.shortString()
            return .deletePrefix(prefix: prefix, deleted: try count(&r))
        case 4:
            let key = try r.shortString()
            guard try r.u8() != 0 else { return .get(key: key, record: nil) }
            return .get(key: key, record: try KVRecord(key: Array(key.utf8), stored: try r.blob()))
        default:
            throw .corrupt("result: unknown operation")
        }
    }

    /// A count that fits an `Int` (a hostile u64 must not trap on conversion).
    private static func count(_ r: inout ByteReader) throws(KVStoreError) -> Int {
        guard let n = Int(exactly: try r.u64()) else { throw .corrupt("result: count out of range") }
        return n
    }
}

extension ResultDetail {
    /// The layout above, for an answer that travels between nodes.
    public func encoded() -> [UInt8] { CommandCoding.encode(self) }

    /// nil for bytes that do not decode (a peer's answer is not trusted).
    public init?(decoding bytes: [UInt8]) {
        guard let detail = try? CommandCoding.decodeDetail(bytes) else { return nil }
        self = detail
    }
}
