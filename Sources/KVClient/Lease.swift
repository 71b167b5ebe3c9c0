/// A lease the cluster granted.
public struct LeaseGrant: Sendable, Equatable, Decodable {
    public var id: UInt64
    public var ttlSeconds: UInt64
    /// The revision of the grant.
    public var revision: UInt64

    enum CodingKeys: String, CodingKey {
        case id, revision
        case ttlSeconds = "ttl_seconds"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try LeaseIDText.decode(c, forKey: .id)
        ttlSeconds = try c.decode(UInt64.self, forKey: .ttlSeconds)
        revision = try c.decode(UInt64.self, forKey: .revision)
    }
}

/// A lease's time: the whole seconds left on the answering node's clock (rounded up), and the
/// attached keys in byte order (only from ``KVClient/leaseTimeToLive(_:consistency:)``).
public struct LeaseInfo: Sendable, Equatable, Decodable {
    public var id: UInt64
    public var ttlSeconds: UInt64
    public var remainingSeconds: UInt64
    /// nil in answers that do not list keys (keep-alives and `GET /lease`).
    public var keys: [String]?

    enum CodingKeys: String, CodingKey {
        case id, keys
        case ttlSeconds = "ttl_seconds"
        case remainingSeconds = "remaining_seconds"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try LeaseIDText.decode(c, forKey: .id)
        ttlSeconds = try c.decode(UInt64.self, forKey: .ttlSeconds)
        remainingSeconds = try c.decode(UInt64.self, forKey: .remainingSeconds)
        keys = try c.decodeIfPresent([String].self, forKey: .keys)
    }
}

/// The answer to a revocation.
public struct LeaseRevocation: Sendable, Equatable, Decodable {
    public var id: UInt64
    /// How many keys were deleted with the lease.
    public var deleted: UInt64
    public var revision: UInt64

    enum CodingKeys: String, CodingKey { case id, deleted, revision }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try LeaseIDText.decode(c, forKey: .id)
        deleted = try c.decode(UInt64.self, forKey: .deleted)
        revision = try c.decode(UInt64.self, forKey: .revision)
    }
}

struct LeaseList: Decodable {
    var leases: [LeaseInfo]
}

extension LeaseIDText {
    static func decode<K: CodingKey>(_ container: KeyedDecodingContainer<K>, forKey key: K) throws -> UInt64 {
        guard let id = try decodeIfPresent(container, forKey: key) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "no lease id")
        }
        return id
    }
}
