import Foundation
import NIOConcurrencyHelpers

/// Fans cluster events out to every `/api/events` subscriber and keeps the recent past, so a
/// page that (re)connects sees the timeline and chart it missed.
///
/// A lock rather than an actor: publishing must be possible from synchronous code and from
/// several actors without suspending them.
public final class EventHub: Sendable {
    public static let timelineLimit = 200
    public static let throughputLimit = 120

    private struct State {
        var nextSubscriber = 0
        var subscribers: [Int: AsyncStream<ServerEvent>.Continuation] = [:]
        var timeline: [TimelineEvent] = []
        var nextEventID = 1
        var throughput: [ThroughputSample] = []
        var latest: ClusterSnapshot?
        var finished = false
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Adds a timeline entry and sends it to every subscriber.
    @discardableResult
    public func record(
        _ kind: TimelineEvent.Kind, node: NodeID? = nil, _ message: String,
        severity: TimelineEvent.Severity = .info
    ) -> TimelineEvent {
        state.withLockedValue { state in
            let event = TimelineEvent(
                id: state.nextEventID, time: Date().millisecondsSince1970, kind: kind,
                node: node?.rawValue, message: message, severity: severity)
            state.nextEventID += 1
            state.timeline.append(event)
            if state.timeline.count > EventHub.timelineLimit {
                state.timeline.removeFirst(state.timeline.count - EventHub.timelineLimit)
            }
            for continuation in state.subscribers.values { continuation.yield(.timeline(event)) }
            return event
        }
    }

    public func publish(_ snapshot: ClusterSnapshot) {
        state.withLockedValue { state in
            state.latest = snapshot
            for continuation in state.subscribers.values { continuation.yield(.snapshot(snapshot)) }
        }
    }

    public func publish(_ sample: ThroughputSample) {
        state.withLockedValue { state in
            state.throughput.append(sample)
            if state.throughput.count > EventHub.throughputLimit {
                state.throughput.removeFirst(state.throughput.count - EventHub.throughputLimit)
            }
            for continuation in state.subscribers.values { continuation.yield(.throughput(sample)) }
        }
    }

    public var timeline: [TimelineEvent] { state.withLockedValue { $0.timeline } }
    public var latestSnapshot: ClusterSnapshot? { state.withLockedValue { $0.latest } }

    /// A stream that starts with a `hello` replay. Slow readers lose the oldest queued events
    /// rather than growing the launcher's memory; the next snapshot repairs their view.
    public func subscribe() -> AsyncStream<ServerEvent> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: ServerEvent.self, bufferingPolicy: .bufferingNewest(512))
        let key: Int? = state.withLockedValue { state in
            guard !state.finished else { return nil }
            let key = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[key] = continuation
            continuation.yield(
                .hello(HelloPayload(timeline: state.timeline, throughput: state.throughput, snapshot: state.latest)))
            return key
        }
        guard let key else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLockedValue { _ = $0.subscribers.removeValue(forKey: key) }
        }
        return stream
    }

    public var subscriberCount: Int { state.withLockedValue { $0.subscribers.count } }

    /// Ends every stream (at shutdown, so open event connections do not hold the server up).
    public func finish() {
        let continuations = state.withLockedValue { state in
            state.finished = true
            let all = Array(state.subscribers.values)
            state.subscribers.removeAll()
            return all
        }
        continuations.forEach { $0.finish() }
    }
}
