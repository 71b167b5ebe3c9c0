/// A transaction: if every comparison holds, the `success` operations apply, otherwise the
/// `failure` ones; either way all of them at one revision, in order, inside one log entry,
/// so every replica decides alike and a reader never sees half of it (Docs/API.md,
/// "Transactions").
public struct TxnRequest: Sendable, Equatable {
    public var compare: [TxnCompare]
    public var success: [TxnOperation]
    public var failure: [TxnOperation]

    public init(compare: [TxnCompare] = [], success: [TxnOperation] = [], failure: [TxnOperation] = []) {
        self.compare = compare
        self.success = success
        self.failure = failure
    }

    /// Entries allowed in each of `compare`, `success` and `failure`.
    public static let maxEntries = 128

    /// Checks limits and every key before the transaction is proposed.
    public func validate() throws(KVStoreError) {
        for (name, count) in [("compare", compare.count), ("success", success.count), ("failure", failure.count)]
        where count > Self.maxEntries {
            throw .invalidCommand("\(name) has \(count) entries; at most \(Self.maxEntries) are allowed")
        }
        for comparison in compare { try KVCommand.validate(key: comparison.key) }
        for operation in success + failure { try operation.validate() }
    }
}

/// One condition of a transaction. A key that does not exist has revision, create revision
/// and version 0, and no value: every value comparison on it is false.
public struct TxnCompare: Sendable, Equatable {
    public enum Target: UInt8, Sendable, Equatable {
        case revision = 1, createRevision = 2, version = 3, value = 4
    }

    public enum Relation: UInt8, Sendable, Equatable {
        case equal = 1, notEqual = 2, less = 3, greater = 4
    }

    public enum Operand: Sendable, Equatable {
        case number(UInt64)
        case bytes([UInt8])
    }

    public var key: String
    public var target: Target
    public var relation: Relation
    public var operand: Operand

    public init(key: String, target: Target, relation: Relation, operand: Operand) {
        self.key = key
        self.target = target
        self.relation = relation
        self.operand = operand
    }

    /// Whether the comparison holds for `record` (nil: the key does not exist).
    func holds(for record: KVRecord?) -> Bool {
        switch (target, operand) {
        case (.value, .bytes(let expected)):
            guard let actual = record?.value else { return false }
            return relation.holds(actual.lexicographicallyPrecedes(expected) ? -1 : actual == expected ? 0 : 1)
        case (.revision, .number(let n)): return relation.holds(Self.order(record?.revision ?? 0, n))
        case (.createRevision, .number(let n)): return relation.holds(Self.order(record?.createRevision ?? 0, n))
        case (.version, .number(let n)): return relation.holds(Self.order(record?.version ?? 0, n))
        default: return false
        }
    }

    private static func order(_ a: UInt64, _ b: UInt64) -> Int { a < b ? -1 : a == b ? 0 : 1 }
}

extension TxnCompare.Relation {
    /// `ordering` is negative, zero or positive as the actual value is below, equal to or above the operand.
    func holds(_ ordering: Int) -> Bool {
        switch self {
        case .equal: ordering == 0
        case .notEqual: ordering != 0
        case .less: ordering < 0
        case .greater: ordering > 0
        }
    }
}

/// One operation of a transaction branch.
public enum TxnOperation: Sendable, Equatable {
    /// `lease` 0 detaches the key from any lease it had.
    case put(key: String, value: [UInt8], lease: UInt64)
    case delete(key: String)
    case deletePrefix(String)
    case get(key: String)

    func validate() throws(KVStoreError) {
        switch self {
        case .put(let key, _, _), .delete(let key), .get(let key): try KVCommand.validate(key: key)
        case .deletePrefix(let prefix):
            guard !prefix.isEmpty else { throw .invalidKey("the prefix to delete is empty") }
            if prefix.utf8.count > KVCommand.maxKeySize {
                throw .keyTooLarge(size: prefix.utf8.count, limit: KVCommand.maxKeySize)
            }
        }
    }
}

/// What a transaction did: which branch ran, and one result per operation of that branch.
public struct TxnResult: Sendable, Equatable {
    public var succeeded: Bool
    public var results: [TxnOperationResult]

    public init(succeeded: Bool, results: [TxnOperationResult]) {
        self.succeeded = succeeded
        self.results = results
    }
}

public enum TxnOperationResult: Sendable, Equatable {
    case put(key: String, revision: UInt64)
    case delete(key: String, deleted: Int)
    case deletePrefix(prefix: String, deleted: Int)
    /// nil when the key did not exist at that point of the transaction.
    case get(key: String, record: KVRecord?)
}
