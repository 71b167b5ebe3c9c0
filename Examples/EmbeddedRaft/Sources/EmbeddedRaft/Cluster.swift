import RaftCore

/// Three members in one process. Messages travel through `inFlight`, delivered in the
/// order they were sent; time passes when `tickAll` is called. Nothing here is random, so
/// every run prints the same logs.
struct Cluster {
    private(set) var members: [Member]
    private var inFlight: [Message] = []

    init(ids: [NodeID]) {
        members = ids.enumerated().map { position, id in
            Member(id: id, founders: ids, seed: UInt64(position + 1))
        }
    }

    var leader: Member? { members.first { $0.node.isLeader } }

    /// Handles every Ready and delivers every message until the cluster is quiet.
    mutating func settle() {
        repeat {
            for position in members.indices {
                members[position].handleReadies { inFlight.append($0) }
            }
            let delivering = inFlight
            inFlight = []
            for message in delivering {
                guard let recipient = members.firstIndex(where: { $0.node.id == message.to }) else { continue }
                members[recipient].node.step(message)
            }
        } while !inFlight.isEmpty || members.contains { $0.node.hasReady }
    }

    mutating func tickAll() {
        for position in members.indices { members[position].node.tick() }
        settle()
    }

    /// Proposes `command` on the leader; false if there is none or it refused.
    mutating func propose(_ command: String) -> Bool {
        guard let position = members.firstIndex(where: { $0.node.isLeader }) else { return false }
        do {
            let receipt = try members[position].node.propose(Array(command.utf8))
            print("proposed \"\(command)\" at index \(receipt.index), term \(receipt.term)")
            return true
        } catch {
            print("\(members[position].node.id) refused \"\(command)\": \(error)")
            return false
        }
    }
}
