import RaftCore

/// A lossy network in simulated time: every message gets a random delay (so messages
/// reorder), some are dropped or duplicated, and partitions cut groups of nodes apart.
/// Everything is driven by the simulation's seeded generator.
struct SimulatedNetwork {
    struct InFlight {
        var deliverAt: Int
        var sequence: Int
        var message: Message
    }

    var dropPercent = 5
    var duplicatePercent = 2
    var maxDelay = 15
    /// Nodes in different groups cannot talk; nodes in no group talk to everyone.
    private(set) var partition: [NodeID: Int] = [:]
    private var inFlight: [InFlight] = []
    private var sequence = 0

    var isPartitioned: Bool { !partition.isEmpty }

    mutating func send(_ messages: [Message], now: Int, random: inout SplitMix64) {
        for message in messages {
            if Int(random.next() % 100) < dropPercent { continue }
            let copies = Int(random.next() % 100) < duplicatePercent ? 2 : 1
            for _ in 0..<copies {
                sequence += 1
                let delay = 1 + Int(random.next() % UInt64(maxDelay))
                inFlight.append(InFlight(deliverAt: now + delay, sequence: sequence, message: message))
            }
        }
    }

    /// Removes and returns the messages due by `now` that the partition lets through.
    mutating func deliverable(now: Int) -> [Message] {
        var due: [InFlight] = []
        var later: [InFlight] = []
        for item in inFlight {
            if item.deliverAt <= now { due.append(item) } else { later.append(item) }
        }
        inFlight = later
        return due.sorted { ($0.deliverAt, $0.sequence) < ($1.deliverAt, $1.sequence) }
            .map(\.message)
            .filter(canTalk)
    }

    func canTalk(_ message: Message) -> Bool {
        partition[message.from] == partition[message.to]
    }

    mutating func split(_ groups: [[NodeID]]) {
        partition = [:]
        for (group, members) in groups.enumerated() {
            for member in members { partition[member] = group }
        }
    }

    mutating func heal() { partition = [:] }
}
