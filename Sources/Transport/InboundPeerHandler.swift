import Logging
import NIOCore
import RaftCore

/// The accepting side of one peer connection: checks the handshake, then turns frames into
/// events. Events from one read are delivered together, and reading pauses while the consumer
/// is behind. Any protocol violation closes this connection only.
final class InboundPeerHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = Never

    private let localID: NodeID
    private let clusterID: String
    private let handshakeTimeout: TimeAmount
    private let sink: EventSink
    /// Told when a peer completes a handshake with us.
    private let greeted: @Sendable (NodeID) -> Void
    private var logger: Logger

    private var peer: NodeID?
    private var pending: [TransportEvent] = []
    private var readWanted = false
    private var handshakeDeadline: Scheduled<Void>?

    init(localID: NodeID, clusterID: String, handshakeTimeout: Duration, sink: EventSink,
         greeted: @escaping @Sendable (NodeID) -> Void = { _ in }, logger: Logger) {
        self.localID = localID
        self.clusterID = clusterID
        self.handshakeTimeout = TimeAmount(handshakeTimeout)
        self.sink = sink
        self.greeted = greeted
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if let remote = context.channel.remoteAddress { logger[metadataKey: "remote"] = "\(remote)" }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let logger = self.logger
        handshakeDeadline = context.eventLoop.scheduleTask(in: handshakeTimeout) {
            logger.warning("closing inbound connection: no handshake in time")
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        handshakeDeadline?.cancel()
        sink.gate.forget(ObjectIdentifier(self))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        do {
            if let peer {
                try receive(frame, from: peer, context: context)
            } else {
                try handshake(frame, context: context)
            }
        } catch {
            fail(error, context: context)
        }
    }

    private func handshake(_ frame: Frame, context: ChannelHandlerContext) throws {
        guard frame.type == .handshake else { throw WireError.invalidValue(field: "first frame type \(frame.type)") }
        let hello = try Handshake.decode(frame.payload)
        handshakeDeadline?.cancel()
        var buffer = context.channel.allocator.buffer(capacity: 64)
        if let refusal = hello.refusal(localID: localID, clusterID: clusterID) {
            logger.warning("refused connection from '\(hello.sender)': \(refusal)")
            refusal.writeFrame(into: &buffer)
            let channel = context.channel
            context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        peer = hello.sender
        logger[metadataKey: "peer"] = "\(hello.sender)"
        logger.debug("accepted connection")
        HandshakeAccept(responder: localID).writeFrame(into: &buffer)
        context.writeAndFlush(NIOAny(buffer), promise: nil)
        greeted(hello.sender)
    }

    private func receive(_ frame: Frame, from peer: NodeID, context: ChannelHandlerContext) throws {
        if frame.type.isRaftMessage {
            let message = try RaftMessageCodec.decode(frame.type, payload: frame.payload)
            // A connection speaks for the node that shook hands on it and no other.
            guard message.from == peer, message.to == localID else {
                throw WireError.invalidValue(field: "message addressed \(message.from) -> \(message.to)")
            }
            pending.append(.message(message))
        } else if frame.type == .peerRequest {
            let (requestID, request) = try PeerRequestCodec.decodeRequest(frame.payload)
            pending.append(.request(IncomingPeerRequest(
                from: peer, request: request, requestID: requestID, channel: context.channel)))
        } else {
            throw WireError.invalidValue(field: "frame type \(frame.type) on an inbound connection")
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !pending.isEmpty {
            sink.deliver(pending)
            pending.removeAll(keepingCapacity: true)
        }
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(error, context: context)
    }

    private func fail(_ error: Error, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        logger.warning("closing inbound connection: \(error)")
        // Whatever arrived intact before the bad frame is still worth handing on.
        if !pending.isEmpty {
            sink.deliver(pending)
            pending.removeAll()
        }
        context.close(promise: nil)
    }

    /// Reads are how backpressure reaches TCP: while the gate is closed the read is held back
    /// and the kernel's receive window fills, which slows the sender.
    func read(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let parked = sink.gate.waitForOpen(ObjectIdentifier(self)) {
            loopBound.eventLoop.execute { loopBound.value.0.resumeRead(context: loopBound.value.1) }
        }
        if parked { readWanted = true } else { context.read() }
    }

    private func resumeRead(context: ChannelHandlerContext) {
        guard readWanted else { return }
        readWanted = false
        context.read()
    }
}
