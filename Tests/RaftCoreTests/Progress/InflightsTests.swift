import RaftCore
import Testing

/// `Inflights`, the leader's window of unacknowledged AppendEntries to one follower. The
/// indexes it frees up to come from the follower's answers.
@Suite("Inflights")
struct InflightsTests {
    @Test("the window is full at its message capacity, and a capacity below one means one")
    func messageCapacity() {
        var window = Inflights(capacity: 3)
        for index: UInt64 in [1, 2] { window.add(index) }
        #expect(!window.isFull && window.count == 2)
        window.add(3)
        #expect(window.isFull)
        for capacity in [0, -5] {
            var tiny = Inflights(capacity: capacity)
            #expect(tiny.capacity == 1 && !tiny.isFull)
            tiny.add(1)
            #expect(tiny.isFull)
        }
    }

    @Test("the window is full once its byte capacity is reached, whatever the message count")
    func byteCapacity() {
        var window = Inflights(capacity: 100, byteCapacity: 1_000)
        window.add(1, bytes: 600)
        #expect(!window.isFull && window.bytes == 600)
        window.add(2, bytes: 400)
        #expect(window.isFull && window.bytes == 1_000)
        window.free(upTo: 1)
        #expect(!window.isFull && window.bytes == 400 && window.count == 1)
        #expect(Inflights(capacity: 1, byteCapacity: 0).byteCapacity == 1)
    }

    @Test("freeing up to an index releases exactly the messages whose last index is at or below it")
    func freeUpTo() {
        var window = Inflights(capacity: 10)
        for index: UInt64 in [3, 6, 9] { window.add(index, bytes: 10) }
        window.free(upTo: 2)
        #expect(window.count == 3, "nothing ends at or below 2")
        window.free(upTo: 0)
        #expect(window.count == 3)
        window.free(upTo: 7)
        #expect(window.count == 1 && window.bytes == 10)
        window.free(upTo: 5)
        #expect(window.count == 1, "an old acknowledgement frees nothing more")
        window.free(upTo: .max)
        #expect(window.count == 0 && window.bytes == 0)
    }

    @Test("freeFirst releases the oldest message only, and nothing when the window is empty")
    func freeFirst() {
        var window = Inflights(capacity: 2)
        window.freeFirst()
        #expect(window.count == 0 && window.bytes == 0)
        window.add(4, bytes: 5)
        window.add(8, bytes: 7)
        #expect(window.isFull)
        window.freeFirst()
        #expect(!window.isFull && window.count == 1 && window.bytes == 7)
        window.free(upTo: 7)
        #expect(window.count == 1, "the remaining message ends at 8")
    }

    @Test("reset empties the window")
    func reset() {
        var window = Inflights(capacity: 2, byteCapacity: 10)
        window.add(1, bytes: 10)
        window.add(2)
        window.reset()
        #expect(window.count == 0 && window.bytes == 0 && !window.isFull)
    }

    @Test("a long run of adds and frees keeps the count and bytes exact across internal compaction")
    func longRun() {
        var window = Inflights(capacity: 50)
        var next: UInt64 = 1
        var acknowledged: UInt64 = 0
        for round in 0..<500 {
            while !window.isFull {
                window.add(next, bytes: 2)
                next += 1
            }
            // Acknowledge a varying number of messages each round.
            acknowledged += UInt64(round % 7 + 1)
            window.free(upTo: acknowledged)
            let outstanding = Int(next - 1 - acknowledged)
            #expect(window.count == outstanding && window.bytes == 2 * outstanding)
            if window.count != outstanding { return }
        }
    }

    @Test("a message ending at UInt64.max is held and freed like any other")
    func topIndex() {
        var window = Inflights(capacity: 2)
        window.add(.max - 1)
        window.add(.max)
        window.free(upTo: .max - 1)
        #expect(window.count == 1)
        window.free(upTo: .max)
        #expect(window.count == 0)
    }
}
