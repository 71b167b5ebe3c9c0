import Logging
import NIOCore
import NIOTLS
import RaftCore

/// The accepting side of one peer connection: splits the byte stream into frames, checks the
/// handshake, then turns frames into events. Events from one read are delivered together.
/// Any protocol violation closes this connection only.
///
/// It does its own framing (rather than NIO's `ByteToMessageHandler`) because what it may
/// buffer depends on its state: before the handshake a frame may be only
/// `preHandshakeMaxFrameSize` bytes, and every byte it holds is counted in the shared
/// `InboundBudget`, which decides when it may read from the socket again.
final class InboundPeerHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Never

    private let localID: NodeID
    private let clusterID: String
    private let maxFrameSize: Int
    private let preHandshakeMaxFrameSize: Int
    private let handshakeTimeout: TimeAmount
    private let sink: EventSink
    private let admission: InboundAdmission
    /// Shared by every inbound connection, so a flood of bad connections logs a line a second.
    private let throttle: LogThrottle
    /// Told when a peer completes a handshake with us.
    private let greeted: @Sendable (NodeID) -> Void
    /// Set when the connection runs over TLS: what the handshake must then also prove.
    private let authentication: PeerAuthentication?
    /// The names in the peer's certificate, once the TLS handshake completed.
    private var certificateNames: Set<String>?
    /// Set when the cluster runs with a secret: a hello must then also be followed by its proof.
    private let secret: ClusterSecret?
    /// With a secret: the hello that passed its checks and the nonce it was challenged with,
    /// until the dialler's proof arrives.
    private var challenged: (hello: Handshake, nonce: [UInt8])?
    private var logger: Logger

    private var peer: NodeID?
    /// Bytes received and not yet cut into frames.
    private var buffer = ByteBuffer()
    /// Bytes this connection holds in the budget: at least `buffer.readableBytes`, plus the
    /// rest of a partial frame once reserved, or headroom for the next read.
    private var reserved = 0
    private var pending: [InboundItem] = []
    /// Where in `pending` the newest heartbeat (or heartbeat answer) of this read waits.
    private var heartbeatSlot: Int?
    private var readWanted = false
    private var isClosing = false
    private var handshakeDeadline: Scheduled<Void>?

    private var budget: InboundBudget { sink.budget }
    private var key: ObjectIdentifier { ObjectIdentifier(self) }

    init(configuration: TransportConfiguration, sink: EventSink, admission: InboundAdmission,
         throttle: LogThrottle, greeted: @escaping @Sendable (NodeID) -> Void = { _ in },
         authentication: PeerAuthentication? = nil, logger: Logger) {
        self.localID = configuration.localID
        self.clusterID = configuration.clusterID
        self.maxFrameSize = configuration.maxFrameSize
        self.preHandshakeMaxFrameSize = min(configuration.inbound.preHandshakeMaxFrameSize, configuration.maxFrameSize)
        self.handshakeTimeout = TimeAmount(configuration.handshakeTimeout)
        self.sink = sink
        self.admission = admission
        self.throttle = throttle
        self.greeted = greeted
        self.authentication = authentication
        self.secret = configuration.clusterSecret
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if let remote = context.channel.remoteAddress { logger[metadataKey: "remote"] = "\(remote)" }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let (logger, throttle) = (self.logger, self.throttle)
        handshakeDeadline = context.eventLoop.scheduleTask(in: handshakeTimeout) {
            throttle.log { logger.warning("closing inbound connection: no handshake in time\($0)") }
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        handshakeDeadline?.cancel()
        sink.gate.forget(key)
        budget.forget(key)
        budget.release(reserved + pending.reduce(0) { $0 + $1.bytes })
        reserved = 0
        pending.removeAll()
        heartbeatSlot = nil
        buffer = ByteBuffer()
        admission.closed(key, peer: peer)
    }

    // MARK: Reading frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosing else { return }
        var bytes = unwrapInboundIn(data)
        // Most reads hold whole frames: then the read's own buffer is used as is, uncopied.
        if buffer.readableBytes == 0 { buffer = bytes } else { buffer.writeBuffer(&bytes) }
        if buffer.readableBytes > reserved {
            // More arrived than was reserved (a read past the end of a reserved frame).
            budget.add(buffer.readableBytes - reserved)
            reserved = buffer.readableBytes
        }
        do {
            while let frame = try nextFrame() {
                if let peer {
                    try receive(frame, from: peer, context: context)
                } else {
                    budget.release(frame.bytes)
                    try handshake(frame.frame, context: context)
                }
                if isClosing { return }
            }
        } catch {
            fail(error, context: context)
            return
        }
        compactBuffer()
    }

    /// The next whole frame, with the bytes it took off the buffer (handed from this
    /// connection's reservation to whoever holds the frame now), or nil when more bytes are
    /// needed. A length over the current limit fails before any of that frame's body is read.
    private func nextFrame() throws -> (frame: Frame, bytes: Int)? {
        let limit = peer == nil ? preHandshakeMaxFrameSize : maxFrameSize
        guard let frame = try FrameDecoder.nextFrame(from: &buffer, maxFrameSize: limit) else { return nil }
        let bytes = FrameHeader.size + frame.payload.readableBytes
        reserved -= bytes
        return (frame, bytes)
    }

    /// Drops the consumed front of the buffer, so memory held matches what is accounted.
    private func compactBuffer() {
        if buffer.readableBytes == 0 {
            buffer = ByteBuffer()
        } else if buffer.readerIndex > 0 {
            buffer.discardReadBytes()
        }
    }

    private func handshake(_ frame: Frame, context: ChannelHandlerContext) throws {
        if let challenged {
            try answer(frame, to: challenged, context: context)
            return
        }
        guard frame.type == .handshake else { throw WireError.invalidValue(field: "first frame type \(frame.type)") }
        let hello = try Handshake.decode(frame.payload)
        if let refusal = hello.refusal(localID: localID, clusterID: clusterID)
            ?? authentication?.refusal(of: hello.sender, certificateNames: certificateNames) {
            refuse(hello.sender, refusal, context: context)
            return
        }
        guard secret != nil else {
            accept(hello, context: context)
            return
        }
        // The hello proved nothing yet: the handshake deadline and the pre-handshake limits
        // stay on until the dialler's proof is in.
        let nonce = ClusterSecret.nonce()
        challenged = (hello, nonce)
        var buffer = context.channel.allocator.buffer(capacity: 48)
        SecretChallenge(nonce: nonce).writeFrame(into: &buffer)
        context.writeAndFlush(NIOAny(buffer), promise: nil)
    }

    /// The dialler's answer to our challenge: its proof over both nonces, checked in constant
    /// time; ours goes back in front of the accept, so the dialler knows it reached a holder
    /// of the secret too.
    private func answer(_ frame: Frame, to challenged: (hello: Handshake, nonce: [UInt8]), context: ChannelHandlerContext) throws {
        guard frame.type == .secretResponse, let secret else {
            throw WireError.invalidValue(field: "frame type \(frame.type) instead of the secret response")
        }
        let response = try SecretResponse.decode(frame.payload)
        let sender = challenged.hello.sender
        guard secret.verify(response.proof, .dialler, clusterID: clusterID, dialler: sender, acceptor: localID,
                            acceptorNonce: challenged.nonce, diallerNonce: response.nonce) else {
            refuse(sender, .secretMismatch(sender), context: context)
            return
        }
        let proof = secret.proof(.acceptor, clusterID: clusterID, dialler: sender, acceptor: localID,
                                 acceptorNonce: challenged.nonce, diallerNonce: response.nonce)
        self.challenged = nil
        accept(challenged.hello, proof: proof, context: context)
    }

    private func refuse(_ sender: NodeID, _ refusal: HandshakeRefusal, context: ChannelHandlerContext) {
        handshakeDeadline?.cancel()
        throttle.log { suppressed in
            logger.warning("refused connection from '\(PeerText.escaped(sender.rawValue))': \(refusal)\(suppressed)")
        }
        var buffer = context.channel.allocator.buffer(capacity: 64)
        refusal.writeFrame(into: &buffer)
        isClosing = true
        let channel = context.channel
        context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }

    private func accept(_ hello: Handshake, proof: [UInt8]? = nil, context: ChannelHandlerContext) {
        handshakeDeadline?.cancel()
        peer = hello.sender
        for old in admission.authenticated(key, channel: context.channel, as: hello.sender) {
            logger.notice("closing an older inbound connection from '\(hello.sender)': it reconnected")
            old.close(promise: nil)
        }
        logger[metadataKey: "peer"] = "\(hello.sender)"
        logger.debug("accepted connection")
        var buffer = context.channel.allocator.buffer(capacity: 96)
        if let proof { SecretProof(proof: proof).writeFrame(into: &buffer) }
        HandshakeAccept(responder: localID).writeFrame(into: &buffer)
        context.writeAndFlush(NIOAny(buffer), promise: nil)
        greeted(hello.sender)
    }

    private func receive(_ frame: (frame: Frame, bytes: Int), from peer: NodeID, context: ChannelHandlerContext) throws {
        let (frame, bytes) = frame
        do {
            if frame.type.isRaftMessage {
                let message = try RaftMessageCodec.decode(frame.type, payload: frame.payload)
                // A connection speaks for the node that shook hands on it and no other.
                guard message.from == peer, message.to == localID else {
                    throw WireError.invalidValue(field: "message addressed \(message.from) -> \(message.to)")
                }
                coalesce(InboundItem(event: .message(message), bytes: bytes))
            } else if frame.type == .peerRequest {
                let (requestID, request) = try PeerRequestCodec.decodeRequest(frame.payload)
                pending.append(InboundItem(event: .request(IncomingPeerRequest(
                    from: peer, request: request, requestID: requestID, channel: context.channel)), bytes: bytes))
            } else {
                throw WireError.invalidValue(field: "frame type \(frame.type) on an inbound connection")
            }
        } catch {
            budget.release(bytes)
            throw error
        }
    }

    /// Queues a decoded message, letting a heartbeat (or an answer to one) replace the one
    /// before it from this read. After a partition heals, TCP hands over every heartbeat
    /// held during it at once; each carries nothing the newest does not (a commit index, a
    /// read round: both only grow within a term), so stepping them all would only delay
    /// the messages behind them.
    private func coalesce(_ item: InboundItem) {
        if case .message(let message) = item.event, message.body.isHeartbeatTraffic {
            if let slot = heartbeatSlot, case .message(let earlier) = pending[slot].event,
               earlier.term == message.term, earlier.body.isHeartbeat == message.body.isHeartbeat {
                budget.release(pending[slot].bytes)
                pending[slot] = item
                return
            }
            heartbeatSlot = pending.count
        }
        pending.append(item)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !pending.isEmpty {
            sink.deliver(pending)
            pending.removeAll(keepingCapacity: true)
        }
        heartbeatSlot = nil
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(error, context: context)
    }

    /// The TLS handshake (when the connection has TLS in front) completed: the chain was
    /// verified against the trusted CA; what it names is checked against the hello.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            certificateNames = CertificateIdentity.peerNames(on: context.pipeline.syncOperations) ?? []
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func fail(_ error: Error, context: ChannelHandlerContext) {
        guard context.channel.isActive, !isClosing else { return }
        isClosing = true
        // The description may quote what the peer sent (ids, a type byte).
        var reason = PeerText.escaped("\(error)", limit: 256)
        if authentication != nil, certificateNames == nil {
            // A plaintext dialler, a certificate from another CA, or none at all.
            reason = "TLS handshake failed: \(reason)"
        }
        throttle.log { logger.warning("closing inbound connection: \(reason)\($0)") }
        // Whatever arrived intact before the bad frame is still worth handing on.
        if !pending.isEmpty {
            sink.deliver(pending)
            pending.removeAll()
        }
        heartbeatSlot = nil
        context.close(promise: nil)
    }

    // MARK: Backpressure

    /// Reads are how backpressure reaches TCP: while this connection may not read, the read
    /// is held back and the kernel's receive window fills, which slows the sender. A read
    /// waits for room in the inbound budget (see `reserveForNextRead`) and for the consumer
    /// to be within its event watermark.
    func read(context: ChannelHandlerContext) {
        guard !isClosing else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let wakeUp: @Sendable () -> Void = {
            loopBound.eventLoop.execute { loopBound.value.0.resumeRead(context: loopBound.value.1) }
        }
        guard reserveForNextRead(wakeUp: wakeUp) else {
            readWanted = true
            return
        }
        if sink.gate.waitForOpen(key, wakeUp: wakeUp) { readWanted = true } else { context.read() }
    }

    /// Makes sure the budget covers what the next read may bring. A partial frame whose
    /// header is in reserves its whole remainder, all at once, so it can always be finished
    /// once started; otherwise one read's worth of headroom is reserved. Returns false (and
    /// leaves a wake-up with the budget) when there is no room.
    private func reserveForNextRead(wakeUp: @escaping @Sendable () -> Void) -> Bool {
        let needed: Int
        if let length = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self),
           Int(length) + FrameHeader.lengthSize > buffer.readableBytes {
            // Its length was checked against the limit when the bytes arrived.
            needed = Int(length) + FrameHeader.lengthSize
            // A reserved frame may read on even when the budget is full: its bytes are counted.
            if reserved >= needed { return true }
        } else {
            needed = buffer.readableBytes + InboundBudget.readSize
            if reserved >= needed { return true }
        }
        guard budget.reserve(needed - reserved, key: key, wakeUp: wakeUp) else { return false }
        if needed > buffer.readableBytes + InboundBudget.readSize {
            // Room for the whole frame now, so the buffer does not grow by doubling.
            buffer.reserveCapacity(minimumWritableBytes: needed - buffer.readableBytes)
        }
        reserved = needed
        return true
    }

    private func resumeRead(context: ChannelHandlerContext) {
        guard readWanted, !isClosing else { return }
        readWanted = false
        read(context: context)
    }
}

extension MessageBody {
    /// A heartbeat or an answer to one.
    var isHeartbeatTraffic: Bool {
        switch self {
        case .heartbeat, .heartbeatResponse: true
        default: false
        }
    }

    var isHeartbeat: Bool {
        if case .heartbeat = self { return true }
        return false
    }
}
