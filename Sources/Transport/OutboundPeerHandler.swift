import Logging
import NIOCore
import RaftCore

/// The dialling side of one peer connection: sends the handshake, waits for the answer, then
/// reads only replies to forwarded requests. Everything it learns goes to its `PeerConnection`.
final class OutboundPeerHandler: ChannelInboundHandler {
    typealias InboundIn = Frame

    private let connection: PeerConnection
    private let generation: UInt64
    private let hello: Handshake
    private let handshakeTimeout: TimeAmount
    private let logger: Logger
    private var accepted = false
    private var handshakeDeadline: Scheduled<Void>?

    init(connection: PeerConnection, generation: UInt64, hello: Handshake, handshakeTimeout: Duration, logger: Logger) {
        self.connection = connection
        self.generation = generation
        self.hello = hello
        self.handshakeTimeout = TimeAmount(handshakeTimeout)
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        hello.writeFrame(into: &buffer)
        context.writeAndFlush(NIOAny(buffer), promise: nil)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let logger = self.logger
        handshakeDeadline = context.eventLoop.scheduleTask(in: handshakeTimeout) {
            logger.warning("no handshake reply in time; closing")
            loopBound.value.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        handshakeDeadline?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        do {
            switch (accepted, frame.type) {
            case (false, .handshakeAccept):
                let accept = try HandshakeAccept.decode(frame.payload)
                guard accept.responder == connection.peer else {
                    throw WireError.invalidValue(field: "responder id '\(accept.responder)'")
                }
                accepted = true
                handshakeDeadline?.cancel()
                connection.handshakeAccepted(generation: generation, channel: context.channel)
            case (false, .handshakeReject):
                let refusal = try HandshakeRefusal.decode(frame.payload)
                handshakeDeadline?.cancel()
                connection.handshakeRefused(generation: generation, reason: refusal.description)
                context.close(promise: nil)
            case (true, .peerResponse):
                let (requestID, response) = try PeerRequestCodec.decodeResponse(frame.payload)
                connection.complete(requestID: requestID, with: response)
            default:
                throw WireError.invalidValue(field: "frame type \(frame.type) on an outbound connection")
            }
        } catch {
            errorCaught(context: context, error: error)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { connection.flush() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard context.channel.isActive else { return }
        logger.warning("closing connection: \(error)")
        context.close(promise: nil)
    }
}
