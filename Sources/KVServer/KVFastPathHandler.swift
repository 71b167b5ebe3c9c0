import KVStore
import NIOCore
import NIOHTTP1
import NodeRuntime

/// Serves single-key reads and writes (`KVFastRequest`, `KVFastPathService`) from the NIO
/// pipeline itself, and passes every other request on to the Hummingbird routes behind it.
/// It sees the requests `KVLeanFrontHandler`, in front of the HTTP decoder, passed on.
///
/// Why: through the router a request costs a trip through `NIOAsyncChannel` in each
/// direction, HTTPTypes conversions, the router and its middleware. Here a write costs one
/// task that calls the runtime and one hop back to the event loop to answer, and a stale
/// read is answered on the event loop without any hop.
///
/// HTTP/1.1 answers requests in order. While one request's answer is outstanding (from
/// either path), later requests on the connection wait in `queued` and reading pauses.
/// Reading also pauses, and no further request starts, while the socket is not writable:
/// a client that pipelines requests for large values without reading the answers would
/// otherwise make the node buffer answers without bound.
final class KVFastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Where the request being read goes.
    private enum Reading {
        case betweenRequests
        case fastPath(KVFastRequest, body: Result<ByteBuffer?, APIFailure>)
        case routes
    }

    /// Whose answer the connection is waiting for.
    private enum Answering {
        case nobody, fastPath, routes
    }

    private let service: KVFastPathService
    private var reading = Reading.betweenRequests
    private var answering = Answering.nobody
    private var queued = CircularBuffer<HTTPServerRequestPart>()
    private var readPaused = false
    /// The socket takes more output; false while the client is not reading fast enough.
    private var writable = true
    /// Set by a graceful shutdown, a half-closed connection or a broken request: the
    /// connection closes once the answer in progress is written.
    private var closeAfterAnswer = false
    private var isOpen = true

    init(service: KVFastPathService) {
        self.service = service
    }

    /// The request as the fast path serves it, or nil to leave it to the routes.
    private func fastRequest(_ head: HTTPRequestHead) -> KVFastRequest? {
        KVFastRequest(head).flatMap(service.withCredentials)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if !queued.isEmpty || !mayConsumeNext {
            queued.append(part)
        } else {
            consume(part, context: context)
        }
    }

    /// A new request may not start while the previous one is unanswered.
    private var waitsForAnswer: Bool {
        guard case .betweenRequests = reading else { return false }
        return answering != .nobody
    }

    /// Whether the next part may be taken now: the rest of a request always; a new
    /// request only once the previous one is answered and the socket takes output.
    private var mayConsumeNext: Bool {
        guard case .betweenRequests = reading else { return true }
        return answering == .nobody && writable
    }

    private func consume(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch reading {
        case .betweenRequests:
            if case .head(let head) = part, let request = fastRequest(head) {
                reading = .fastPath(request, body: .success(nil))
                answering = .fastPath
                return
            }
            if case .head = part {
                reading = .routes
                answering = .routes
            }
            context.fireChannelRead(wrapInboundOut(part))
        case .routes:
            if case .end = part { reading = .betweenRequests }
            context.fireChannelRead(wrapInboundOut(part))
        case .fastPath(let request, let body):
            switch part {
            case .head:
                // NIO's decoder ends a request before it starts the next; should it not,
                // the connection cannot be trusted any further.
                reading = .betweenRequests
                closeAfterAnswer = true
                answer(.error(400, "a request began before the previous one ended"), to: request, started: .now, context: context)
            case .body(var chunk):
                reading = .betweenRequests  // drop the enum's reference so appending does not copy
                reading = .fastPath(request, body: append(&chunk, to: body))
            case .end:
                reading = .betweenRequests
                serve(request, body: body, context: context)
            }
        }
    }

    private func append(_ chunk: inout ByteBuffer, to body: Result<ByteBuffer?, APIFailure>) -> Result<ByteBuffer?, APIFailure> {
        guard case .success(let collected) = body else { return body }
        guard var buffer = collected else {
            return chunk.readableBytes > service.maxBodyBytes ? .failure(JSON.tooLarge(limit: service.maxBodyBytes)) : .success(chunk)
        }
        guard buffer.readableBytes + chunk.readableBytes <= service.maxBodyBytes else {
            return .failure(JSON.tooLarge(limit: service.maxBodyBytes))
        }
        buffer.writeBuffer(&chunk)
        return .success(buffer)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        let endsConnection = event is ChannelShouldQuiesceEvent || (event as? ChannelEvent) == .inputClosed
        guard endsConnection else { return context.fireUserInboundEventTriggered(event) }
        closeAfterAnswer = true
        // The routes' state handler would close a connection it believes idle, cutting off
        // the answer this handler still owes; that answer closes the connection instead.
        if answering != .fastPath { context.fireUserInboundEventTriggered(event) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case .fastPath(let request, _) = reading {
            // A body cut short or malformed: the client's fault, and the connection is done.
            reading = .betweenRequests
            closeAfterAnswer = true
            answer(.error(400, "the request body could not be read: \(error)"), to: request, started: .now, context: context)
        } else if answering == .fastPath {
            closeAfterAnswer = true
        } else {
            context.fireErrorCaught(error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        isOpen = false
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
        if case .end = unwrapOutboundIn(data), answering == .routes {
            answering = .nobody
            startQueued(context: context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writable = context.channel.isWritable
        if writable {
            // Not at once: this event can arrive inside `answer`'s own flush, and a request
            // started there would be answered before that answer's bookkeeping is done.
            context.eventLoop.assumeIsolated().execute { [self] in
                if isOpen && writable { startQueued(context: context) }
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if queued.isEmpty && writable {
            context.read()
        } else {
            readPaused = true
        }
    }

    // MARK: Serving

    private func serve(_ request: KVFastRequest, body: Result<ByteBuffer?, APIFailure>, context: ChannelHandlerContext) {
        let started = ContinuousClock.now
        service.serve(request, body: body, on: context.eventLoop) { [self] reply in
            answer(reply, to: request, started: started, context: context)
        }
    }

    private func answer(_ reply: KVReply, to request: KVFastRequest, started: ContinuousClock.Instant, context: ChannelHandlerContext) {
        service.observe(reply, to: request, started: started)
        answering = .nobody
        guard isOpen else { return }
        let keepAlive = request.keepAlive && !closeAfterAnswer
        var headers = HTTPHeaders()
        headers.reserveCapacity(8)
        service.forEachHeader(of: reply) { name, value in headers.add(name: name.description, value: value) }
        headers.add(name: "Content-Length", value: String(reply.body.readableBytes))
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if request.version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        let head = HTTPResponseHead(version: request.version, status: HTTPResponseStatus(statusCode: reply.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(reply.body))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if keepAlive {
            startQueued(context: context)
        } else {
            queued.removeAll()
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    /// Starts the requests that waited for the answer just written.
    private func startQueued(context: ChannelHandlerContext) {
        var started = false
        while !queued.isEmpty && mayConsumeNext && !closeAfterAnswer {
            consume(queued.removeFirst(), context: context)
            started = true
        }
        // Parts passed on to the routes are delivered at the end of a read.
        if started { context.fireChannelReadComplete() }
        if queued.isEmpty && readPaused && writable {
            readPaused = false
            context.read()
        }
    }
}
