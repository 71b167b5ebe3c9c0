/// What a log entry carries. Configuration changes travel through the log like any
/// other command so that every member sees them in the same order.
public enum EntryKind: UInt8, Sendable, Equatable {
    /// An application command (empty for the leader's no-op at the start of its term).
    case normal = 0
    /// A serialized `ConfChange`.
    case configChange = 1
}

/// One slot of the replicated log.
public struct Entry: Sendable, Equatable {
    public var term: UInt64
    public var index: UInt64
    public var kind: EntryKind
    public var data: [UInt8]

    public init(term: UInt64, index: UInt64, kind: EntryKind = .normal, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.kind = kind
        self.data = data
    }

    /// Bytes counted against batching and backpressure limits: payload plus a fixed header.
    public var byteSize: Int { data.count + 24 }
}

/// The state Figure 2 calls "persistent state on all servers" (plus the commit index,
/// which is cheap to keep and saves re-deriving it after a restart).
public struct HardState: Sendable, Equatable {
    public var term: UInt64
    public var vote: NodeID?
    public var commit: UInt64

    public init(term: UInt64 = 0, vote: NodeID? = nil, commit: UInt64 = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }

    public static let empty = HardState()
}
