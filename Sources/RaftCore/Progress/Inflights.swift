/// The AppendEntries messages sent to one follower and not yet acknowledged, by the last
/// index each carried. Bounding this window is what keeps a pipelined leader from flooding
/// a slow follower.
package struct Inflights: Sendable {
    package let capacity: Int
    /// Entry bytes that may be outstanding at once: a follower that is slow to answer is sent
    /// at most this much more, whatever the message count allows.
    package let byteCapacity: Int
    private var lastIndexes: [UInt64] = []
    private var sizes: [Int] = []
    private var head = 0
    package private(set) var bytes = 0

    package init(capacity: Int, byteCapacity: Int = .max) {
        self.capacity = max(1, capacity)
        self.byteCapacity = max(1, byteCapacity)
    }

    package var count: Int { lastIndexes.count - head }
    package var isFull: Bool { count >= capacity || bytes >= byteCapacity }

    package mutating func add(_ lastIndex: UInt64, bytes size: Int = 0) {
        lastIndexes.append(lastIndex)
        sizes.append(size)
        bytes += size
    }

    /// Forgets every message whose entries are all at or below `index` (acknowledged).
    package mutating func free(upTo index: UInt64) {
        while head < lastIndexes.count && lastIndexes[head] <= index { releaseHead() }
        compactIfNeeded()
    }

    /// Frees one slot; used when a fresh heartbeat answer shows the follower alive while the
    /// window is full, so one lost acknowledgement cannot stall replication.
    package mutating func freeFirst() {
        if head < lastIndexes.count { releaseHead() }
        compactIfNeeded()
    }

    package mutating func reset() {
        lastIndexes.removeAll(keepingCapacity: true)
        sizes.removeAll(keepingCapacity: true)
        head = 0
        bytes = 0
    }

    private mutating func releaseHead() {
        bytes -= sizes[head]
        head += 1
    }

    private mutating func compactIfNeeded() {
        if head == lastIndexes.count {
            reset()
        } else if head > 64 && head * 2 > lastIndexes.count {
            lastIndexes.removeFirst(head)
            sizes.removeFirst(head)
            head = 0
        }
    }
}
