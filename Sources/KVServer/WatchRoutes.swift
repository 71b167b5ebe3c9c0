import FoundationEssentials
import HTTPTypes
import Hummingbird
import HummingbirdCore
import KVStore
import NodeRuntime
import ServiceLifecycle

/// `GET /watch`: a Server-Sent Events stream of the changes to a key or a prefix
/// (Docs/API.md, "Watch"), served from this node's `WatchHub`.
struct WatchRoutes {
    let runtime: NodeRuntime
    let store: DurableStore

    static let lastEventID = HTTPField.Name("Last-Event-ID")

    func register(on router: Router<BasicRequestContext>) {
        router.get("watch") { request, _ in await watch(request) }
    }

    private func watch(_ request: Request) async -> Response {
        let lastEventID = Self.lastEventID.flatMap { request.headers[$0] }
        let asked: WatchRequest
        switch WatchRequest.parse(request.uri.queryParameters, lastEventID: lastEventID) {
        case .success(let parsed): asked = parsed
        case .failure(let failure): return failure.response
        }
        if let failure = await KVOperations(runtime: runtime, store: store).barrier(asked.consistency) {
            return failure.response
        }
        // Without a start, only what changes from now on: the revision this node has applied
        // (after the barrier, at least the leader's commit index when the watch was asked for).
        let start = asked.startRevision ?? store.stateMachine.revision
        let subscription: WatchSubscription
        do throws(WatchRefusal) {
            subscription = try runtime.watchHub.subscribe(asked.filter, after: start)
        } catch {
            return Self.refusal(error).response
        }
        var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        // Tells a proxy such as nginx not to hold events back in its buffer.
        if let name = HTTPField.Name("X-Accel-Buffering") { headers[name] = "no" }
        let previousValues = asked.previousValues
        let body = ResponseBody { writer in
            // Ends the watch whether the stream finishes, the client goes away (a write
            // throws) or the task is cancelled.
            defer { subscription.cancel() }
            try await writer.write(WatchEventText.progress(start))
            streaming: while true {
                switch await subscription.next() {
                case .events(let events):
                    try await writer.write(WatchEventText.events(events, previousValues: previousValues))
                case .progress(let revision):
                    try await writer.write(WatchEventText.progress(revision))
                case .ended:
                    // Overrun, compacted underneath, or the node is stopping: the client
                    // resumes with Last-Event-ID (a compacted resume is then answered 410).
                    break streaming
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    static func refusal(_ refusal: WatchRefusal) -> KVReply {
        switch refusal {
        case .compacted(let revision): .compacted(revision)
        case .tooManyWatchers(let limit):
            .error(503, "this node serves its limit of \(limit) watches (--max-watchers); retry later or watch through another node")
        case .closed: .error(503, "the node is shutting down")
        case .unavailable(let reason): .error(503, "the history could not be read: \(reason)")
        }
    }
}

/// What a `GET /watch` asks for, checked before anything is started.
struct WatchRequest: Equatable {
    var filter: WatchFilter
    /// Deliver changes after this revision; nil: after the current one.
    var startRevision: UInt64?
    var previousValues = false
    var consistency = ReadConsistency.linearizable

    /// `key` or `prefix` (exactly one), `start_revision`, `prev_value`, `consistency`; the
    /// `Last-Event-ID` header, sent by a reconnecting client, overrides `start_revision`.
    static func parse(_ query: FlatDictionary<Substring, Substring>, lastEventID: String?) -> Result<WatchRequest, APIFailure> {
        let filter: WatchFilter
        switch (query["key"], query["prefix"]) {
        case (.some, .some):
            return .failure(APIFailure(400, "use either key or prefix, not both: ?key=K watches one key, ?prefix=P every key under P"))
        case (nil, nil):
            return .failure(APIFailure(400, "say what to watch: ?key=K for one key or ?prefix=P for every key under P"))
        case (.some(let key), nil):
            guard !key.isEmpty else { return .failure(APIFailure(400, "key is empty: use ?key=K, or ?prefix= to watch every key")) }
            do {
                try KVCommand.validate(key: String(key))
            } catch {
                return .failure(APIFailure(400, "invalid key: \(error)"))
            }
            filter = .key(String(key))
        case (nil, .some(let prefix)):
            if !prefix.isEmpty {
                do {
                    try KVCommand.validate(key: String(prefix))
                } catch {
                    return .failure(APIFailure(400, "invalid prefix: \(error)"))
                }
            }
            filter = .prefix(String(prefix))
        }
        var request = WatchRequest(filter: filter)
        if let text = lastEventID?.trimmingWhitespace() {
            guard let revision = UInt64(text) else {
                return .failure(APIFailure(400, "Last-Event-ID must be a revision (a whole number), the id of the last event received"))
            }
            request.startRevision = revision
        } else if let text = query["start_revision"] {
            guard let revision = UInt64(text) else {
                return .failure(APIFailure(400, "start_revision must be a revision (a whole number): changes after it are delivered"))
            }
            request.startRevision = revision
        }
        switch query["prev_value"] {
        case nil, "false", "0": request.previousValues = false
        case "true", "1", "": request.previousValues = true
        default: return .failure(APIFailure(400, "prev_value must be true or false"))
        }
        guard let consistency = ReadConsistency(query: query["consistency"]) else { return .failure(ReadConsistency.badValue) }
        request.consistency = consistency
        return .success(request)
    }
}

/// Ends every watch when graceful shutdown begins. Added after the HTTP server, so it stops
/// before it: the server waits for its open responses, and a watch never ends on its own.
struct WatchShutdownService: Service {
    let hub: WatchHub

    func run() async throws {
        try? await gracefulShutdown()
        hub.close()
    }
}
