import Foundation

/// One change to one key, as a watch delivers it.
public struct WatchEvent: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case put
        case delete
    }

    public var kind: Kind
    /// The key as the change left it: for a delete the value is empty and the create revision
    /// and version are 0.
    public var keyValue: KeyValue
    /// The value before the change, when the watch asked for it and the key existed.
    public var previousValue: String?
    /// A delete caused by the key's lease running out.
    public var expired: Bool

    public var key: String { keyValue.key }
    public var revision: UInt64 { keyValue.revision }

    public init(kind: Kind, keyValue: KeyValue, previousValue: String? = nil, expired: Bool = false) {
        self.kind = kind
        self.keyValue = keyValue
        self.previousValue = previousValue
        self.expired = expired
    }
}

/// The `data:` object of a watch event. The kind is not in it (it is the `event:` field), so
/// this is not `WatchEvent`'s own `Decodable`: decoding a `WatchEvent` alone could only guess it.
struct WatchEventDocument: Decodable {
    var keyValue: KeyValue
    var previousValue: String?
    var expired: Bool

    enum CodingKeys: String, CodingKey {
        case expired
        case previousValue = "prev_value"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        keyValue = try KeyValue(from: decoder)
        previousValue = try c.decodeIfPresent(String.self, forKey: .previousValue)
        expired = try c.decodeIfPresent(Bool.self, forKey: .expired) ?? false
    }

    /// The event of `kind` that `data` describes, or nil when it is not such a document.
    static func event(_ kind: WatchEvent.Kind, data: String) -> WatchEvent? {
        guard let document = try? JSONDecoder().decode(WatchEventDocument.self, from: Data(data.utf8)) else { return nil }
        return WatchEvent(kind: kind, keyValue: document.keyValue, previousValue: document.previousValue, expired: document.expired)
    }
}

/// What a watch yields: the changes of one revision, all together, or word that the watch has
/// seen every change up to a revision.
public enum WatchMessage: Sendable, Equatable {
    /// Every matching change made at `revision` (a transaction, a prefix delete or a lease
    /// revocation changes several keys at once), in the order the node applied them.
    case events(revision: UInt64, [WatchEvent])
    /// Nothing matching changed up to `revision`.
    case progress(revision: UInt64)

    public var revision: UInt64 {
        switch self {
        case .events(let revision, _), .progress(let revision): revision
        }
    }

    /// The changes carried, none for a progress message.
    public var events: [WatchEvent] {
        if case .events(_, let events) = self { events } else { [] }
    }
}
