import HTTPTypes
import Hummingbird

/// `GET /api/watch?prefix=P` (or `key=K`), `start_revision=R`, `prev_value=true`, `node=`,
/// `consistency=`: a node's `/watch` Server-Sent Events stream relayed chunk by chunk to the
/// browser (Docs/LAUNCHER.md, "Watching through the launcher").
///
/// The launcher adds nothing to the events and keeps no state: the node already writes `id:`
/// on the last event of each revision, so a browser that reconnects sends `Last-Event-ID`,
/// which goes to the node and resumes the stream with no gap and no repeat. That is why a
/// stream whose node fails is simply ended: the reconnect is the recovery, and it may reach
/// another node (the default target is whichever node leads by then).
enum WatchRoutes {
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    /// A refusal (400, 410, 503 ...) is a small JSON document; more is not an answer to relay.
    static let maxErrorBody = 64 * 1024

    static func register(on router: Router<some RequestContext>, gateway: KVGateway) {
        router.get("api/watch") { request, _ in
            let answer: (NodeID, NodeStream)
            do throws(ControlError) {
                answer = try await gateway.watch(
                    try scope(request), startRevision: request.query("start_revision"),
                    lastEventID: request.headers[lastEventID], prevValue: request.query("prev_value") == "true",
                    node: request.query("node"), consistency: try KVRoutes.consistency(request))
            } catch {
                return JSONResponse.error(error)
            }
            let (node, stream) = answer
            guard stream.status == 200 else { return await refusal(stream, node: node) }
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/event-stream", .cacheControl: "no-cache",
                    HTTPField.Name("X-Accel-Buffering")!: "no", KVRoutes.nodeHeader: node.rawValue,
                ],
                body: ResponseBody { writer in
                    // EventSource waits 3 s by default before it resumes; a failed node should
                    // cost less than that.
                    try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
                    try await relay(stream.body) { try await writer.write($0) }
                    try await writer.finish(nil)
                })
        }
    }

    /// Writes each chunk as it arrives. Returns when the node ends the stream or fails; throws
    /// when `write` does (the browser went away), which drops the iterator and with it the
    /// request to the node. A browser that left while the node was quiet is noticed at the
    /// next write, and the node writes at least a progress event every 10 s.
    /// `onFailure` runs when the node's side failed rather than ended.
    static func relay(
        _ body: some AsyncSequence<ByteBuffer, any Error>, write: (ByteBuffer) async throws -> Void,
        onFailure: () -> Void = {}
    ) async throws {
        var iterator = body.makeAsyncIterator()
        while true {
            let chunk: ByteBuffer?
            do {
                chunk = try await iterator.next()
            } catch {
                onFailure()
                return
            }
            guard let chunk else { return }
            try await write(chunk)
        }
    }

    /// Exactly one of `key` and `prefix`; neither watches every key (`prefix=""`).
    static func scope(_ request: Request) throws(ControlError) -> KVGateway.WatchScope {
        switch (request.query("key"), request.query("prefix")) {
        case (.some, .some): throw .badRequest("send key= or prefix=, not both")
        case (.some(let key), nil): return .key(key)
        case (nil, let prefix): return .prefix(prefix ?? "")
        }
    }

    /// The node's refusal (a bad parameter, `410 compacted`, `503`) as it came, so the
    /// dashboard can tell a compacted start from a node that is down.
    static func refusal(_ stream: NodeStream, node: NodeID) async -> Response {
        var body = ByteBuffer()
        var complete = true
        try? await relay(stream.body) { chunk in
            guard body.readableBytes + chunk.readableBytes <= maxErrorBody else {
                complete = false
                throw CancellationError()
            }
            var chunk = chunk
            body.writeBuffer(&chunk)
        }
        guard complete else { return JSONResponse.error(.failed("\(node) answered \(stream.status) with an over-long body")) }
        return KVRoutes.relay((node, NodeResponse(status: stream.status, contentType: stream.contentType, body: body)))
    }
}
