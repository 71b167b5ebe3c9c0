#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RaftCore

// A three-node RaftCore cluster in one process: elect a leader, replicate a few commands,
// print every node's committed log. Exits 0 only if the three logs agree.

var cluster = Cluster(ids: ["n1", "n2", "n3"])
// The bootstrap entries are committed already; applying them tells each node the membership.
cluster.settle()

// Election timeouts are 10 to 19 ticks, so one node wins well within 100.
for _ in 0..<100 where cluster.leader == nil { cluster.tickAll() }
guard let leader = cluster.leader else {
    print("no leader was elected")
    exit(1)
}
print("\(leader.node.id) leads term \(leader.node.currentTerm)")

let commands = ["set x = 1", "set y = 2", "delete x"]
for command in commands where !cluster.propose(command) { exit(1) }
cluster.settle()
// Followers learn the final commit index from the leader's next heartbeat.
cluster.tickAll()

func describe(_ entry: Entry) -> String {
    switch entry.kind {
    case .configChange:
        guard let change = ConfChange(decoding: entry.data) else { return "undecodable configuration change" }
        return "configuration: \(change.kind) \(change.node)"
    case .normal:
        return entry.data.isEmpty ? "(the new leader's empty entry)" : "\"\(String(decoding: entry.data, as: UTF8.self))\""
    }
}

for member in cluster.members {
    print("\(member.node.id) (\(member.node.currentRole.rawValue), commit \(member.node.commitIndex)):")
    for entry in member.applied { print("  \(entry.index)  term \(entry.term)  \(describe(entry))") }
}

let reference = cluster.members[0].applied
let appliedCommands = reference.filter { $0.kind == .normal && !$0.data.isEmpty }
    .map { String(decoding: $0.data, as: UTF8.self) }
guard cluster.members.allSatisfy({ $0.applied == reference }), appliedCommands == commands else {
    print("the committed logs differ")
    exit(1)
}
print("all three committed logs agree")
