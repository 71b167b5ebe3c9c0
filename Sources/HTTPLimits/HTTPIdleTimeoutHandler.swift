import NIOCore
import NIOHTTP1

/// Closes an HTTP/1 connection that made no progress for `timeout`.
///
/// Idle means: no request is waiting for its answer, and nothing was answered or drained
/// to the client for `timeout`. In particular:
/// - a connection that sends nothing, or sends a request head or body slower than the
///   timeout allows (slowloris), is closed `timeout` after it opened or after its last
///   answer: a request counts only once it has arrived whole, so trickling bytes does not
///   keep a connection alive;
/// - a request that arrived whole and waits for its answer (a slow write, a Server-Sent
///   Events stream) is never idle while the client keeps reading what is sent;
/// - a client that stops reading its answers (the socket stays unwritable) is closed
///   `timeout` after the last answer was written or the socket last changed writability;
/// - a body declared larger than 1 MiB (`POST /import` of a large file) is the exception to
///   the first rule: every 64 KiB of it that arrives counts as progress, as nginx's
///   `client_body_timeout` counts reads. The server reads such a body only as fast as it
///   applies it, so arriving whole within one timeout cannot be asked of it; trickling it
///   still closes the connection, and holding one open costs a client 64 KiB per timeout.
///
/// It sits right behind NIO's HTTP/1 decoder and encoder, so it sees every request and
/// every answer, whichever handler serves them; a handler in front of the codec that serves
/// requests from the bytes reports them with `HTTPExchangeEvent`.
public final class HTTPIdleTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias InboundOut = HTTPServerRequestPart
    public typealias OutboundIn = HTTPServerResponsePart
    public typealias OutboundOut = HTTPServerResponsePart

    private let timeout: TimeAmount
    /// A body declared larger than this is read as progress (see above).
    static let bulkBodyBytes = 1 << 20
    /// How much of such a body makes one step of progress.
    static let bulkProgressBytes = 64 << 10
    /// Requests whose last part arrived.
    private var requestsRead = 0
    /// Bytes of a large declared body since it last counted as progress; nil when the
    /// request being read is not one.
    private var bulkBytesPending: Int?
    /// Answers whose last part was written.
    private var answersWritten = 0
    /// When the connection last made progress: opened, answered, drained, changed writability,
    /// or received more of a large body. On the event loop's clock, which tests can drive.
    private var lastProgress = NIODeadline.uptimeNanoseconds(0)
    private var check: Scheduled<Void>?
    private var isActive = false

    public init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let declared = head.headers.first(name: "content-length").flatMap { Int($0, radix: 10) } ?? 0
            bulkBytesPending = declared > Self.bulkBodyBytes ? 0 : nil
        case .body(let part):
            if let pending = bulkBytesPending {
                let total = pending + part.readableBytes
                if total >= Self.bulkProgressBytes {
                    progressed(context: context)
                    bulkBytesPending = 0
                } else {
                    bulkBytesPending = total
                }
            }
        case .end:
            requestsRead &+= 1
            bulkBytesPending = nil
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else { return context.write(data, promise: promise) }
        answersWritten &+= 1
        progressed(context: context)
        let written = promise ?? context.eventLoop.makePromise()
        context.write(data, promise: written)
        written.futureResult.assumeIsolated().whenComplete { [self] _ in progressed(context: context) }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let exchange = event as? HTTPExchangeEvent else { return context.fireUserInboundEventTriggered(event) }
        switch exchange {
        case .requestRead:
            requestsRead &+= 1
        case .answerWritten:
            answersWritten &+= 1
            progressed(context: context)
        case .answerDrained:
            progressed(context: context)
        }
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        progressed(context: context)
        context.fireChannelWritabilityChanged()
    }

    private func start(context: ChannelHandlerContext) {
        guard !isActive else { return }
        isActive = true
        lastProgress = context.eventLoop.now
        schedule(at: lastProgress + timeout, context: context)
    }

    private func stop() {
        isActive = false
        check?.cancel()
        check = nil
    }

    /// Notes progress; re-arms the check if it stopped while a request was being served.
    private func progressed(context: ChannelHandlerContext) {
        lastProgress = context.eventLoop.now
        if check == nil && isActive { schedule(at: lastProgress + timeout, context: context) }
    }

    private func schedule(at deadline: NIODeadline, context: ChannelHandlerContext) {
        check = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            expired(context: context)
        }
    }

    private func expired(context: ChannelHandlerContext) {
        check = nil
        guard isActive else { return }
        if requestsRead > answersWritten && context.channel.isWritable {
            // Serving a request the client waits for: not idle. The next answer or
            // writability change arms the check again.
            return
        }
        let deadline = lastProgress + timeout
        if deadline <= context.eventLoop.now {
            isActive = false
            context.close(promise: nil)
        } else {
            schedule(at: deadline, context: context)
        }
    }
}

@available(*, unavailable)
extension HTTPIdleTimeoutHandler: Sendable {}
