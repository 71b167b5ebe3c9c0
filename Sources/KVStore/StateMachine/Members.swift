import RaftCore

/// A cluster member as the state machine knows it: its role and the opaque context its
/// configuration change carried (the node's addresses).
public struct MemberRecord: Sendable, Equatable {
    public var id: NodeID
    public var isVoter: Bool
    public var context: [UInt8]

    public init(id: NodeID, isVoter: Bool, context: [UInt8]) {
        self.id = id
        self.isVoter = isVoter
        self.context = context
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.u8(1)
        w.shortString(id.rawValue)
        w.u8(isVoter ? 1 : 0)
        w.raw(context)
        return w.bytes
    }

    init(decoding bytes: [UInt8]) throws(KVStoreError) {
        var r = ByteReader(bytes, what: "member")
        guard try r.u8() == 1 else { throw .corrupt("member: unknown version") }
        id = NodeID(try r.shortString())
        isVoter = try r.u8() != 0
        context = r.rest()
    }
}

/// The membership table, changed by `.configChange` entries with the same rules as
/// `ConfChange.applied(to:)` so it always matches the configuration RaftCore computes.
struct MemberTable {
    let db: Database

    func apply(_ change: ConfChange, _ txn: Transaction) throws(KVStoreError) {
        let key = Array(change.node.rawValue.utf8)
        let existing = try txn.get(db, key).map(MemberRecord.init(decoding:))
        // A promotion usually carries no context: keep the addresses the node joined with.
        let context = change.context.isEmpty ? existing?.context ?? [] : change.context
        switch change.kind {
        case .addLearner:
            let member = MemberRecord(id: change.node, isVoter: existing?.isVoter ?? false, context: context)
            try txn.put(db, key, member.encoded())
        case .addVoter:
            try txn.put(db, key, MemberRecord(id: change.node, isVoter: true, context: context).encoded())
        case .remove:
            try txn.delete(db, key)
        }
    }

    func put(_ member: MemberRecord, _ txn: Transaction) throws(KVStoreError) {
        try txn.put(db, Array(member.id.rawValue.utf8), member.encoded())
    }

    func all(_ txn: Transaction) throws(KVStoreError) -> [MemberRecord] {
        try txn.withCursor(db) { c throws(KVStoreError) in
            var result: [MemberRecord] = []
            var pair = try c.first()
            while let (_, value) = pair {
                result.append(try MemberRecord(decoding: value))
                pair = try c.next()
            }
            return result
        }
    }

    static func confState(_ members: [MemberRecord]) -> ConfState {
        ConfState(
            voters: Set(members.filter(\.isVoter).map(\.id)),
            learners: Set(members.filter { !$0.isVoter }.map(\.id))
        )
    }
}
