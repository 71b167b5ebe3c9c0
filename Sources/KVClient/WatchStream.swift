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
        private var body: HTTPClientResponse.Body.AsyncIterator?
        private var servingEndpoint: Endpoint?
        private var parser = ServerSentEventParser()
        /// Events of the revision being received, held until the block with its `id` arrives:
        /// a revision cut off in the middle is received again whole on resume.
        private var pending: [WatchEvent] = []
        private var ready: [WatchMessage] = []
        private var emptyConnections = 0

        init(stream: WatchStream, lastRevision: UInt64?) {
            self.stream = stream
            self.lastRevision = lastRevision
        }

        public mutating func next() async throws -> WatchMessage? {
            while true {
                if !ready.isEmpty { return ready.removeFirst() }
                try Task.checkCancellation()
                if body == nil { try await connect() }
                let chunk: ByteBuffer?
                do {
                    chunk = try await body?.next()
                } catch is CancellationError {
                    throw CancellationError()
                } catch let error as KVClientError {
                    throw error
                } catch {
                    chunk = nil  // the connection broke: resume elsewhere
                }
                guard let chunk else {
                    try await disconnected()
                    continue
                }
                emptyConnections = 0
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
            var request = APIRequest(.GET, "/watch\(PercentEncoding.query(items))")
            if let lastRevision { request.headers.append(("Last-Event-ID", String(lastRevision))) }
            let answer = try await stream.client.send(request, avoiding: servingEndpoint)
            guard answer.status == 200 else { throw await stream.client.refusal(answer) }
            body = answer.response.body.makeAsyncIterator()
            servingEndpoint = answer.endpoint
            parser.reset()
            pending = []
        }

        /// The stream ended: resume on another endpoint, pausing when connections keep ending
        /// without a byte (a node that accepts watches and drops them at once).
        private mutating func disconnected() async throws {
            body = nil
            pending = []
            parser.reset()
            emptyConnections = Swift.min(emptyConnections + 1, 10)
            if emptyConnections > 1 {
                try await Task.sleep(for: .milliseconds(100 * emptyConnections))
            }
        }

        private mutating func handle(_ event: ServerSentEvent) throws {
            switch event.event {
            case "progress":
                guard let revision = Self.progressRevision(event.data) else {
                    throw KVClientError.invalidResponse("a progress event without a revision: \(event.data.prefix(200))")
                }
                if revision >= (lastRevision ?? 0) {
                    lastRevision = revision
                    if pending.isEmpty { ready.append(.progress(revision: revision)) }
                }
            case "put", "delete":
                var change: WatchEvent
                do {
                    change = try JSONDecoder().decode(WatchEvent.self, from: Data(event.data.utf8))
                } catch {
                    throw KVClientError.invalidResponse("a watch event that is not one: \(event.data.prefix(200))")
                }
                change.kind = event.event == "put" ? .put : .delete
                // Never hand out what was delivered already.
                guard change.revision > (lastRevision ?? 0) else { return }
                pending.append(change)
                if let id = event.id {
                    guard let revision = UInt64(id), revision == change.revision else {
                        throw KVClientError.invalidResponse("event id \(id.prefix(40)) is not its revision \(change.revision)")
                    }
                    ready.append(.events(revision: revision, pending))
                    pending = []
                    lastRevision = revision
                }
            default:
                break  // an event kind this client does not know: ignored, as SSE clients do
            }
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
