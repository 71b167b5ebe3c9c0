import HTTPLimits
import NIOCore
import NIOHTTP1

/// Serves single-key requests straight from the connection's bytes, in front of NIO's HTTP/1
/// codec, and hands the connection to that codec at the first request it does not serve.
///
/// Why: under a load of small reads, NIO's parser, its response encoder and header validator,
/// and the HTTP-part handlers between them took about a fifth of the leader's CPU
/// (Docs/BENCHMARKS.md, "Requests read from the bytes"). Here a request is parsed in one pass
/// (`LeanRequestParser`) and its answer rendered into one buffer and written with one call.
///
/// How a connection goes:
/// - It starts out *lean*: bytes collect in `pending`, and each complete request the parser
///   accepts is served by `KVFastPathService`, the same code `KVFastPathHandler` uses.
/// - Requests are served one at a time, in order: the next one is looked at only once the
///   previous one is answered. Reading pauses when more than a head's worth waits meanwhile,
///   and while the socket is not writable, so a client cannot make the node buffer without
///   bound.
/// - The first request the parser declines (another route, or any shape it does not read
///   exactly as the full parser does) turns the connection over to the HTTP codec for good:
///   the bytes from that request on go to the decoder behind, and this handler passes
///   everything through. Nothing is outstanding at that moment, so answers stay in order.
///
/// `HTTPIdleTimeoutHandler` behind the codec counts these requests and answers through
/// `HTTPExchangeEvent`s, so idle and slow connections are closed as on the other path.
final class KVLeanFrontHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// A head longer than this goes to the full parser, with its own limits.
    static let maxHeadBytes = 16 << 10

    private enum Mode { case lean, passingThrough }

    private let service: KVFastPathService
    private var mode = Mode.lean
    /// Bytes received and not yet served; nil when there are none, so that NIO can reuse
    /// its receive buffer.
    private var pending: ByteBuffer?
    /// A request is being served; the next waits.
    private var answering = false
    /// Inside `serveWhatArrived`'s loop: an answer given there does not start the next
    /// request itself (the loop does), so pipelined stale reads do not nest.
    private var serving = false
    private var readPaused = false
    /// The socket takes more output; false while the client is not reading fast enough.
    private var writable = true
    /// Set by a graceful shutdown or an answer that closes: no new request starts, and the
    /// connection closes once nothing is owed.
    private var closing = false
    /// The client half-closed: what arrived whole is served, then the connection closes, or
    /// goes to NIO's codec with a request cut short, which that codec answers.
    private var inputEnded = false
    private var isOpen = true
    /// The last answer's write, which a close waits for.
    private var lastWrite: EventLoopFuture<Void>?

    init(service: KVFastPathService) {
        self.service = service
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard mode == .lean else { return context.fireChannelRead(data) }
        var bytes = unwrapInboundIn(data)
        if var collected = pending {
            pending = nil  // so that appending does not copy
            collected.writeBuffer(&bytes)
            pending = collected
        } else {
            pending = bytes
        }
        serveWhatArrived(context: context)
    }

    /// Starts every complete request in `pending`, one after the other, as far as each is
    /// answered at once (stale reads); returns when one is outstanding or more bytes are needed.
    private func serveWhatArrived(context: ChannelHandlerContext) {
        serving = true
        defer { serving = false }
        reading: while mode == .lean, !answering, writable, !closing, isOpen, var bytes = pending {
            switch LeanRequestParser.parse(bytes, maxHeadBytes: Self.maxHeadBytes, maxBodyBytes: service.maxBodyBytes) {
            case .incomplete:
                break reading
            case .declined:
                return passThrough(context: context)
            case .request(let parsed, let headBytes, let bodyBytes):
                guard bytes.readableBytes >= headBytes + bodyBytes else { break reading }
                // Credentials that need a bcrypt check go to the routes, which run it off the loop.
                guard let request = service.withCredentials(parsed) else { return passThrough(context: context) }
                pending = nil
                bytes.moveReaderIndex(forwardBy: headBytes)
                let body = bodyBytes > 0 ? bytes.readSlice(length: bodyBytes) : nil
                if bytes.readableBytes > 0 { pending = bytes }
                answering = true
                context.fireUserInboundEventTriggered(HTTPExchangeEvent.requestRead)
                let started = ContinuousClock.now
                service.serve(request, body: .success(body), on: context.eventLoop) { [self] reply in
                    answer(reply, to: request, started: started, context: context)
                }
            }
        }
        guard mode == .lean, !answering, isOpen else { return }
        if closing {
            closeOnceWritten(context: context)
        } else if inputEnded && writable {
            guard pending != nil else { return closeOnceWritten(context: context) }
            // What is left is a request cut short: NIO's codec judges it, as it would have
            // had it read the connection from the start.
            passThrough(context: context)
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
    }

    /// Hands the connection to the HTTP codec behind, from the first byte not yet served on.
    private func passThrough(context: ChannelHandlerContext) {
        mode = .passingThrough
        if let bytes = pending {
            pending = nil
            context.fireChannelRead(wrapInboundOut(bytes))
            context.fireChannelReadComplete()
        }
        if readPaused {
            readPaused = false
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The routes' state handler would close a connection it believes idle, cutting off an
        // answer this handler still owes; while lean, this handler closes it instead.
        guard mode == .lean else { return context.fireUserInboundEventTriggered(event) }
        if event is ChannelShouldQuiesceEvent {
            closing = true
        } else if (event as? ChannelEvent) == .inputClosed {
            inputEnded = true
        } else {
            return context.fireUserInboundEventTriggered(event)
        }
        if !answering && !serving { serveWhatArrived(context: context) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard mode == .lean else { return context.fireErrorCaught(error) }
        // A broken connection (reset, TLS failure): nothing more can be answered on it.
        if isOpen { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        pending = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        isOpen = false
    }

    // MARK: Outbound

    /// Reading goes on while a request is answered, as long as little is waiting: a client
    /// that sends one request at a time then costs no change of the socket's read interest
    /// (two `epoll_ctl` calls per request), and one that pipelines is stopped at
    /// `maxHeadBytes` waiting.
    func read(context: ChannelHandlerContext) {
        if mode == .passingThrough || (writable && (!answering || (pending?.readableBytes ?? 0) < Self.maxHeadBytes)) {
            context.read()
        } else {
            readPaused = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writable = context.channel.isWritable
        if writable && mode == .lean {
            // Not at once: this event can arrive inside `answer`'s own flush.
            context.eventLoop.assumeIsolated().execute { [self] in
                if isOpen && writable && !answering { resume(context: context) }
            }
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Answering

    private func answer(_ reply: KVReply, to request: KVFastRequest, started: ContinuousClock.Instant, context: ChannelHandlerContext) {
        service.observe(reply, to: request, started: started)
        answering = false
        guard isOpen else { return }
        // After a half-close, the last answer says the connection ends.
        let keepAlive = request.keepAlive && !closing && !(inputEnded && pending == nil)
        context.fireUserInboundEventTriggered(HTTPExchangeEvent.answerWritten)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(render(reply, to: request, keepAlive: keepAlive, context: context))),
                              promise: written)
        lastWrite = written.futureResult
        written.futureResult.assumeIsolated().whenComplete { [self] _ in
            if isOpen { context.fireUserInboundEventTriggered(HTTPExchangeEvent.answerDrained) }
        }
        if !keepAlive {
            closing = true
            pending = nil
            closeOnceWritten(context: context)
        } else if !serving {
            resume(context: context)
        }
    }

    private func closeOnceWritten(context: ChannelHandlerContext) {
        guard isOpen else { return }
        guard let lastWrite else { return context.close(promise: nil) }
        lastWrite.assumeIsolated().whenComplete { [self] _ in
            if isOpen { context.close(promise: nil) }
        }
    }

    /// Starts what arrived meanwhile, then reads on if nothing is outstanding.
    private func resume(context: ChannelHandlerContext) {
        serveWhatArrived(context: context)
        if mode == .lean && !answering && writable && readPaused && isOpen {
            readPaused = false
            context.read()
        }
    }

    /// Status line, headers and body in one buffer.
    private func render(_ reply: KVReply, to request: KVFastRequest, keepAlive: Bool, context: ChannelHandlerContext) -> ByteBuffer {
        var out = context.channel.allocator.buffer(capacity: 320 + reply.body.readableBytes)
        let status = HTTPResponseStatus(statusCode: reply.status)
        out.writeStaticString(request.version.minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        out.writeString(String(status.code))
        out.writeStaticString(" ")
        out.writeString(status.reasonPhrase)
        out.writeStaticString("\r\n")
        service.forEachHeader(of: reply) { name, value in
            out.writeStaticString(name)
            out.writeStaticString(": ")
            out.writeString(value)
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("Content-Length: ")
        out.writeString(String(reply.body.readableBytes))
        out.writeStaticString("\r\n")
        if !keepAlive {
            out.writeStaticString("Connection: close\r\n")
        } else if request.version.minor == 0 {
            out.writeStaticString("Connection: keep-alive\r\n")
        }
        out.writeStaticString("\r\n")
        var body = reply.body
        out.writeBuffer(&body)
        return out
    }
}

@available(*, unavailable)
extension KVLeanFrontHandler: Sendable {}
