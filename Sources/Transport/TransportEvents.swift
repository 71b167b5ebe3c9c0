import NIOCore
import Synchronization

/// The stream of inbound events. Iterate it once (it supports a single iterator). When the
/// consumer falls behind by `inboundHighWatermark` events, inbound connections stop reading
/// until it catches up to `inboundLowWatermark`: memory stays bounded and TCP pushes back.
public struct TransportEvents: AsyncSequence, Sendable {
    public typealias Element = TransportEvent
    typealias Producer = NIOAsyncSequenceProducer<
        InboundItem, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, ReadGate
    >

    let base: Producer
    let budget: InboundBudget

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Producer.AsyncIterator
        let budget: InboundBudget

        /// Taking an event gives its frame's bytes back to the inbound budget.
        public mutating func next() async -> TransportEvent? {
            guard let item = await base.next() else { return nil }
            budget.release(item.bytes)
            return item.event
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), budget: budget)
    }
}

/// An event with the wire bytes it stands for, which stay counted in the inbound budget
/// until the consumer takes it.
struct InboundItem: Sendable {
    var event: TransportEvent
    var bytes: Int
}

/// The producing side of `TransportEvents`, shared by every connection.
struct EventSink: Sendable {
    let source: TransportEvents.Producer.Source
    let gate: ReadGate
    let budget: InboundBudget

    static func make(lowWatermark: Int, highWatermark: Int, budget: InboundBudget) -> (EventSink, TransportEvents) {
        let gate = ReadGate()
        let made = TransportEvents.Producer.makeSequence(
            backPressureStrategy: .init(lowWatermark: lowWatermark, highWatermark: highWatermark),
            finishOnDeinit: false,
            delegate: gate)
        return (EventSink(source: made.source, gate: gate, budget: budget),
                TransportEvents(base: made.sequence, budget: budget))
    }

    /// Yields a read's worth of events at once; closes the gate if the consumer is behind.
    func deliver(_ events: [InboundItem]) {
        let epoch = gate.epoch
        if case .stopProducing = source.yield(contentsOf: events) { gate.close(unlessOpenedSince: epoch) }
    }

    /// Status events (unreachable, refused) are few and never pause reading.
    func report(_ event: TransportEvent) {
        _ = source.yield(InboundItem(event: event, bytes: 0))
    }

    func finish() {
        source.finish()
        gate.open()
    }
}

/// Whether inbound connections may read. Connections that wanted to read while it was closed
/// leave a wake-up here and are resumed, each on its own event loop, when it opens.
final class ReadGate: NIOAsyncSequenceProducerDelegate, Sendable {
    private struct State {
        var isOpen = true
        /// Counts openings. The consumer may drain the stream and ask for more between a
        /// producer's "stop" answer and its call to close; that close must then not happen,
        /// or nothing would ever open the gate again.
        var epoch: UInt64 = 0
        var wakeUps: [ObjectIdentifier: @Sendable () -> Void] = [:]
    }

    private let state = Mutex(State())

    var isOpen: Bool { state.withLock { $0.isOpen } }

    var epoch: UInt64 { state.withLock { $0.epoch } }

    func close(unlessOpenedSince epoch: UInt64) {
        state.withLock { state in
            if state.epoch == epoch { state.isOpen = false }
        }
    }

    /// Registers `wakeUp` to run when the gate next opens; returns false (registering nothing)
    /// when it is already open, so the caller simply reads.
    func waitForOpen(_ key: ObjectIdentifier, wakeUp: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { state in
            guard !state.isOpen else { return false }
            state.wakeUps[key] = wakeUp
            return true
        }
    }

    func forget(_ key: ObjectIdentifier) { _ = state.withLock { $0.wakeUps.removeValue(forKey: key) } }

    func open() {
        let wakeUps = state.withLock { state in
            state.isOpen = true
            state.epoch &+= 1
            defer { state.wakeUps.removeAll() }
            return Array(state.wakeUps.values)
        }
        for wakeUp in wakeUps { wakeUp() }
    }

    func produceMore() { open() }
    func didTerminate() { open() }
}
