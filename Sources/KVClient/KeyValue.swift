/// A key as it is stored: its value and where it stands in the cluster's history.
public struct KeyValue: Sendable, Equatable, Codable {
    public var key: String
    public var value: String
    /// The revision that last wrote the key.
    public var revision: UInt64
    /// The revision that created it (a key deleted and written again starts over).
    public var createRevision: UInt64
    /// Writes since it was created: 1 after the first put.
    public var version: UInt64
    /// The lease it is attached to, nil when none.
    public var lease: UInt64?

    public init(key: String, value: String, revision: UInt64, createRevision: UInt64, version: UInt64, lease: UInt64? = nil) {
        self.key = key
        self.value = value
        self.revision = revision
        self.createRevision = createRevision
        self.version = version
        self.lease = lease
    }

    enum CodingKeys: String, CodingKey {
        case key, value, revision, version, lease
        case createRevision = "create_revision"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decode(String.self, forKey: .key)
        value = try c.decode(String.self, forKey: .value)
        revision = try c.decode(UInt64.self, forKey: .revision)
        createRevision = try c.decode(UInt64.self, forKey: .createRevision)
        version = try c.decode(UInt64.self, forKey: .version)
        lease = try LeaseIDText.decodeIfPresent(c, forKey: .lease)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key)
        try c.encode(value, forKey: .value)
        try c.encode(revision, forKey: .revision)
        try c.encode(createRevision, forKey: .createRevision)
        try c.encode(version, forKey: .version)
        try c.encodeIfPresent(lease.map(String.init), forKey: .lease)
    }
}

/// One pair of a listing (`GET /kv` carries no revisions).
public struct KeyValuePair: Sendable, Equatable, Codable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// One page of a listing, in byte order of the keys.
public struct KeyPage: Sendable, Equatable {
    public var pairs: [KeyValuePair]
    /// Where the next page starts (pass it as `startAfter`); nil on the last page.
    public var nextStartAfter: String?
    /// The serving node's revision when it answered (`X-KV-Revision`).
    public var revision: UInt64?
}

/// The answer to a put.
public struct PutResult: Sendable, Equatable, Decodable {
    public var key: String
    /// The revision of this write (the key's new revision).
    public var revision: UInt64
}

/// The answer to a delete of one key.
public struct DeleteResult: Sendable, Equatable, Decodable {
    /// Whether the key existed.
    public var deleted: Bool
    public var revision: UInt64
}

/// The answer to a delete of every key under a prefix.
public struct DeletePrefixResult: Sendable, Equatable, Decodable {
    /// How many keys were deleted.
    public var deleted: UInt64
    public var revision: UInt64
}

/// Lease ids travel as decimal strings (they may exceed what a JavaScript number holds);
/// "0" and absence both mean none.
enum LeaseIDText {
    static func decodeIfPresent<K: CodingKey>(_ container: KeyedDecodingContainer<K>, forKey key: K) throws -> UInt64? {
        guard let text = try container.decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let id = UInt64(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "lease id \"\(text)\" is not a decimal number")
        }
        return id == 0 ? nil : id
    }
}
