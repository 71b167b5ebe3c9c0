/// The AppendEntries messages sent to one follower and not yet acknowledged, by the last
/// index each carried. Bounding this window is what keeps a pipelined leader from flooding
/// a slow follower.
struct Inflights: Sendable {
    let capacity: Int
    private var lastIndexes: [UInt64] = []
    private var head = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var count: Int { lastIndexes.count - head }
    var isFull: Bool { count >= capacity }

    mutating func add(_ lastIndex: UInt64) {
        lastIndexes.append(lastIndex)
    }

    /// Forgets every message whose entries are all at or below `index` (acknowledged).
    mutating func free(upTo index: UInt64) {
        while head < lastIndexes.count && lastIndexes[head] <= index { head += 1 }
        compactIfNeeded()
    }

    /// Frees one slot; used when a heartbeat answer shows the follower alive while the
    /// window is full, so one lost acknowledgement cannot stall replication.
    mutating func freeFirst() {
        if head < lastIndexes.count { head += 1 }
        compactIfNeeded()
    }

    mutating func reset() {
        lastIndexes.removeAll(keepingCapacity: true)
        head = 0
    }

    private mutating func compactIfNeeded() {
        if head == lastIndexes.count {
            reset()
        } else if head > 64 && head * 2 > lastIndexes.count {
            lastIndexes.removeFirst(head)
            head = 0
        }
    }
}
