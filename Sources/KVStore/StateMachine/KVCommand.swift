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
/// Layout: `[version u8][op u8][has request id u8]([client id u64][sequence u64])?
/// [key length u16][key UTF-8]([value...])?`
public struct KVCommand: Sendable, Equatable {
    public enum Operation: Sendable, Equatable {
        case put(key: String, value: [UInt8])
        case delete(key: String)
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

    public var key: String {
        switch operation {
        case .put(let key, _), .delete(let key): key
        }
    }

    /// LMDB's default key limit; `DurableStore.maxKeySize` reports the linked library's.
    public static let maxKeySize = 511

    /// Checks a key before it is proposed, so a key LMDB would refuse never enters the log.
    public static func validate(key: String) throws(KVStoreError) {
        let size = key.utf8.count
        if size == 0 { throw .invalidKey("the key is empty") }
        if size > maxKeySize { throw .keyTooLarge(size: size, limit: maxKeySize) }
    }

    public func validate() throws(KVStoreError) { try Self.validate(key: key) }

    private static let version: UInt8 = 1

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.u8(Self.version)
        switch operation {
        case .put: w.u8(1)
        case .delete: w.u8(2)
        }
        w.u8(requestID == nil ? 0 : 1)
        if let requestID {
            w.u64(requestID.clientID)
            w.u64(requestID.sequence)
        }
        w.shortString(key)
        if case .put(_, let value) = operation { w.raw(value) }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(KVStoreError) {
        do throws(KVStoreError) {
            var r = ByteReader(bytes, what: "command")
            guard try r.u8() == Self.version else { throw KVStoreError.invalidCommand("unknown command version") }
            let op = try r.u8()
            let hasRequestID = try r.u8() != 0
            requestID = hasRequestID ? ClientRequestID(clientID: try r.u64(), sequence: try r.u64()) : nil
            let key = try r.shortString()
            switch op {
            case 1: operation = .put(key: key, value: r.rest())
            case 2:
                operation = .delete(key: key)
                try r.finish()
            default: throw KVStoreError.invalidCommand("unknown operation \(op)")
            }
        } catch {
            if case .corrupt(let why) = error { throw .invalidCommand(why) }
            throw error
        }
    }
}

/// What applying a put or delete produced; a retried request gets this same value back.
public struct KVResult: Sendable, Equatable {
    /// The index of the entry that performed the operation.
    public var revision: UInt64
    /// For a delete: whether the key existed. Always false for a put.
    public var deleted: Bool

    public init(revision: UInt64, deleted: Bool = false) {
        self.revision = revision
        self.deleted = deleted
    }
}
