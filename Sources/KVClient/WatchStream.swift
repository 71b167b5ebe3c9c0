import ClusterAPI
import AsyncHTTPClient
import Foundation
import NIOCore

/// What a watch follows: one key, or every key under a prefix (`""`: every key).
public enum WatchTarget: Sendable, Equatable {
    case key(String)
    case prefix(String)
}

/// A watch as an `AsyncSequence` of ``WatchMessage``s, without end until the consuming task is
/// cancelled or stops iterating.
///
/// When the serving node goes away (a crash, a restart, a stream the node ended) the watch
/// resumes on the next endpoint after the last revision it delivered whole (`Last-Event-ID`),
/// so the consumer sees every change once, with no gap and no duplicate. It ends by throwing:
/// ``KVClientError/compacted(compactRevision:)`` when the history it needs is gone,
/// ``KVClientError/unreachable(endpoints:underlying:)`` when no endpoint serves it any more,
/// and the node's refusal for a bad request.
public struct WatchStream: AsyncSequence, Sendable {
    public typealias Element = WatchMessage
    let client: KVClient
    let target: WatchTarget
    let startRevision: UInt64?
    let previousValues: Bool
    let consistency: ReadConsistency?

    public func makeAsyncIterator() -> Iterator {
        Iterator(stream: self, lastRevision: startRevision)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let stream: WatchStream
        /// Every change up to here was delivered (or, before the first answer, the revision
        /// to start after; nil lets the node start from now).
        var lastRevision: UInt64?
        private var body: BodyReader?
        private var servingEndpoint: Endpoint?
        private var parser = ServerSentEventParser()
        /// Events of the revision being received, held until the block with its `id` arrives:
        /// a revision cut off in the middle is received again whole on resume.
        private var pending: [WatchEvent] = []
        /// The `data:` bytes of `pending`, against ``KVClientConfiguration/maxWatchRevisionBytes``.
        private var pendingBytes = 0
        private var ready: [WatchMessage] = []
        /// Reconnections since a revision was last delivered whole: the pause before the next
        /// one grows with it, so a node that accepts watches and drops them (or sends only
        /// progress) is not asked again in a tight loop.
        private var reconnections = 0

        init(stream: WatchStream, lastRevision: UInt64?) {
            self.stream = stream
            self.lastRevision = lastRevision
        }

        public mutating func next() async throws -> WatchMessage? {
            while true {
                if !ready.isEmpty { return ready.removeFirst() }
                try Task.checkCancellation()
                if body == nil { try await connect() }
                guard let reading = body else { continue }
                let chunk: ByteBuffer?
                do {
                    chunk = try await reading.next(within: stream.client.configuration.streamIdleTimeout)
                } catch let error as KVClientError {
                    throw error
                } catch {
                    if Task.isCancelled || error is CancellationError { throw CancellationError() }
                    // The connection broke, or stayed silent past the node's progress interval
                    // (a half-open connection): resume elsewhere.
                    stream.client.logger.debug("watch on \(servingEndpoint.map(String.init(describing:)) ?? "?") lost: \(error)")
                    chunk = nil
                }
                guard let chunk else {
                    try await disconnected()
                    continue
                }
                for event in try parser.feed(chunk.readableBytesView) { try handle(event) }
            }
        }

        private mutating func connect() async throws {
            var items: [(String, String?)] = []
            switch stream.target {
            case .key(let key): items.append(("key", key))
            case .prefix(let prefix): items.append(("prefix", prefix))
            }
            items.append(("start_revision", lastRevision.map(String.init)))
            if stream.previousValues { items.append(("prev_value", "true")) }
            items.append(("consistency", stream.client.consistencyParameter(stream.consistency)))
            var request = APIRequest.read("/watch\(PercentEncoding.query(items))")
            if let lastRevision { request.headers.append(("Last-Event-ID", String(lastRevision))) }
            let answer = try await stream.client.send(request, avoiding: servingEndpoint)
            guard answer.status == 200 else { throw await stream.client.refusal(answer) }
            body = BodyReader(answer.response.body)
            servingEndpoint = answer.endpoint
            parser.reset()
            clearPending()
        }

        /// The stream ended: resume on another endpoint after a pause that doubles with every
        /// reconnection that delivered no revision (50 ms, then up to 5 s).
        private mutating func disconnected() async throws {
            body = nil
            clearPending()
            parser.reset()
            reconnections = Swift.min(reconnections + 1, 16)
            try await Task.sleep(for: Self.pause(afterReconnections: reconnections))
        }

        static func pause(afterReconnections count: Int) -> Duration {
            let doublings = Swift.min(Swift.max(count - 1, 0), 7)
            return Swift.min(.milliseconds(50) * (1 << doublings), .seconds(5))
        }

        private mutating func clearPending() {
            pending = []
            pendingBytes = 0
        }

        private mutating func handle(_ event: ServerSentEvent) throws {
            switch event.event {
            case "progress":
                // The node sends progress only between revisions: one in the middle of a
                // revision would deliver a revision that is not whole.
                if let open = pending.first {
                    throw KVClientError.invalidResponse("a progress event inside revision \(open.revision)")
                }
                guard let revision = Self.progressRevision(event.data) else {
                    throw KVClientError.invalidResponse("a progress event without a revision: \(event.data.prefix(200))")
                }
                if revision >= (lastRevision ?? 0) {
                    lastRevision = revision
                    ready.append(.progress(revision: revision))
                }
            case "put", "delete":
                guard let change = WatchEventDocument.event(event.event == "put" ? .put : .delete, data: event.data) else {
                    throw KVClientError.invalidResponse("a watch event that is not one: \(event.data.prefix(200))")
                }
                // Never hand out what was delivered already.
                guard change.revision > (lastRevision ?? 0) else { return }
                try hold(change, bytes: event.data.utf8.count)
                if let id = event.id {
                    guard let revision = UInt64(id), revision == change.revision else {
                        throw KVClientError.invalidResponse("event id \(id.prefix(40)) is not its revision \(change.revision)")
                    }
                    ready.append(.events(revision: revision, pending))
                    clearPending()
                    lastRevision = revision
                    reconnections = 0
                }
            default:
                break  // an event kind this client does not know: ignored, as SSE clients do
            }
        }

        /// Adds an event to the revision being received, which must be the revision of every
        /// event held, within the configured limits.
        private mutating func hold(_ change: WatchEvent, bytes: Int) throws {
            if let open = pending.first, open.revision != change.revision {
                throw KVClientError.invalidResponse("an event of revision \(change.revision) inside revision \(open.revision)")
            }
            let configuration = stream.client.configuration
            pendingBytes += bytes
            guard pending.count < configuration.maxWatchRevisionEvents, pendingBytes <= configuration.maxWatchRevisionBytes else {
                throw KVClientError.invalidResponse(
                    "revision \(change.revision) holds more than \(configuration.maxWatchRevisionEvents) events or \(configuration.maxWatchRevisionBytes) bytes")
            }
            pending.append(change)
        }

        private static func progressRevision(_ data: String) -> UInt64? {
            struct Progress: Decodable { var revision: UInt64 }
            return try? JSONDecoder().decode(Progress.self, from: Data(data.utf8)).revision
        }
    }
}

extension KVClient {
    /// Follows the changes to `target` after `startRevision` (nil: from now on).
    ///
    /// ```swift
    /// for try await message in client.watch(.prefix("app/")) {
    ///     if case .events(_, let events) = message { for event in events { print(event.key) } }
    /// }
    /// ```
    public func watch(_ target: WatchTarget, startRevision: UInt64? = nil, previousValues: Bool = false,
                      consistency: ReadConsistency? = nil) -> WatchStream {
        WatchStream(client: self, target: target, startRevision: startRevision, previousValues: previousValues,
                    consistency: consistency)
    }
}
