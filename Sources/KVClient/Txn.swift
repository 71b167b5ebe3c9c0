/// A transaction: if every comparison holds, the `success` operations apply, otherwise the
/// `failure` ones, all at one revision (Docs/API.md, "Transactions").
///
/// ```swift
/// let txn = Txn(compare: [.version("a", .equal, 0)], success: [.put("a", "first")], failure: [.get("a")])
/// let result = try await client.txn(txn)
/// ```
public struct Txn: Sendable, Equatable, Encodable {
    public var compare: [TxnCompare]
    public var success: [TxnOp]
    public var failure: [TxnOp]

    public init(compare: [TxnCompare] = [], success: [TxnOp] = [], failure: [TxnOp] = []) {
        self.compare = compare
        self.success = success
        self.failure = failure
    }
}

/// One comparison of a transaction: a property of a key against a value. A missing key has
/// revision, create revision and version 0, and no value (every value comparison on it is false).
public struct TxnCompare: Sendable, Equatable, Encodable {
    public enum Operator: String, Sendable, CaseIterable {
        case equal = "=="
        case notEqual = "!="
        case less = "<"
        case greater = ">"
    }

    public enum Target: Sendable, Equatable {
        case value(String)
        case revision(UInt64)
        case createRevision(UInt64)
        case version(UInt64)
    }

    public var key: String
    public var op: Operator
    public var target: Target

    public init(key: String, op: Operator, target: Target) {
        self.key = key
        self.op = op
        self.target = target
    }

    public static func value(_ key: String, _ op: Operator, _ value: String) -> TxnCompare { .init(key: key, op: op, target: .value(value)) }
    public static func revision(_ key: String, _ op: Operator, _ revision: UInt64) -> TxnCompare { .init(key: key, op: op, target: .revision(revision)) }
    public static func createRevision(_ key: String, _ op: Operator, _ revision: UInt64) -> TxnCompare {
        .init(key: key, op: op, target: .createRevision(revision))
    }
    public static func version(_ key: String, _ op: Operator, _ version: UInt64) -> TxnCompare { .init(key: key, op: op, target: .version(version)) }

    enum CodingKeys: String, CodingKey { case key, target, op, value }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key)
        try c.encode(op.rawValue, forKey: .op)
        switch target {
        case .value(let value):
            try c.encode("value", forKey: .target)
            try c.encode(value, forKey: .value)
        case .revision(let number):
            try c.encode("revision", forKey: .target)
            try c.encode(number, forKey: .value)
        case .createRevision(let number):
            try c.encode("create_revision", forKey: .target)
            try c.encode(number, forKey: .value)
        case .version(let number):
            try c.encode("version", forKey: .target)
            try c.encode(number, forKey: .value)
        }
    }
}

/// One operation of a transaction branch; they apply in order, so a `get` after a `put` of
/// the same key sees the put.
public enum TxnOp: Sendable, Equatable, Encodable {
    case put(String, String, lease: UInt64? = nil)
    case get(String)
    case delete(String)
    case deletePrefix(String)

    enum CodingKeys: String, CodingKey { case op, key, value, lease, prefix }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .put(let key, let value, let lease):
            try c.encode("put", forKey: .op)
            try c.encode(key, forKey: .key)
            try c.encode(value, forKey: .value)
            try c.encodeIfPresent(lease.map(String.init), forKey: .lease)
        case .get(let key):
            try c.encode("get", forKey: .op)
            try c.encode(key, forKey: .key)
        case .delete(let key):
            try c.encode("delete", forKey: .op)
            try c.encode(key, forKey: .key)
        case .deletePrefix(let prefix):
            try c.encode("delete_prefix", forKey: .op)
            try c.encode(prefix, forKey: .prefix)
        }
    }
}

/// What a transaction did: which branch ran and one result per operation of it.
public struct TxnResult: Sendable, Equatable, Decodable {
    public var succeeded: Bool
    /// The transaction's revision (it has one even when it changed nothing).
    public var revision: UInt64
    public var results: [TxnOpResult]
}

/// The result of one operation, in the order of the branch that ran.
public enum TxnOpResult: Sendable, Equatable, Decodable {
    case put(key: String, revision: UInt64)
    case delete(key: String, deleted: UInt64)
    case deletePrefix(prefix: String, deleted: UInt64)
    /// nil when the key did not exist.
    case get(key: String, KeyValue?)

    enum CodingKeys: String, CodingKey { case op, key, prefix, revision, deleted, found }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let op = try c.decode(String.self, forKey: .op)
        switch op {
        case "put":
            self = .put(key: try c.decode(String.self, forKey: .key), revision: try c.decode(UInt64.self, forKey: .revision))
        case "delete":
            self = .delete(key: try c.decode(String.self, forKey: .key), deleted: try c.decode(UInt64.self, forKey: .deleted))
        case "delete_prefix":
            self = .deletePrefix(prefix: try c.decode(String.self, forKey: .prefix), deleted: try c.decode(UInt64.self, forKey: .deleted))
        case "get":
            let key = try c.decode(String.self, forKey: .key)
            self = .get(key: key, try c.decode(Bool.self, forKey: .found) ? try KeyValue(from: decoder) : nil)
        default:
            throw DecodingError.dataCorruptedError(forKey: .op, in: c, debugDescription: "unknown operation \"\(op)\"")
        }
    }
}

extension KVClient {
    /// Runs a transaction. Retried writes reuse one `Idempotency-Key`, so a retry gets the
    /// first answer, whichever branch ran.
    public func txn(_ txn: Txn) async throws -> TxnResult {
        try await call(.write(.POST, "/txn", body: try APIRequest.json(txn)), as: TxnResult.self)
    }
}
