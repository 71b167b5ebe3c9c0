import Logging
import NIOCore
import NIOTLS
import RaftCore

/// The dialling side of one peer connection: sends the handshake, waits for the answer, then
/// reads only replies to forwarded requests. Everything it learns goes to its `PeerConnection`.
///
/// Over TLS the hello waits for the TLS handshake, and is sent only if the peer's certificate
/// (already verified against the trusted CA) names the node this connection is meant to reach:
/// a certificate for another member at a stale address gets nothing, not even the cluster id.
final class OutboundPeerHandler: ChannelInboundHandler {
    typealias InboundIn = Frame

    private let connection: PeerConnection
    private let generation: UInt64
    private let hello: Handshake
    private let overTLS: Bool
    /// With a cluster secret, the acceptor must answer the hello with a challenge and prove
    /// the secret itself before its accept counts (Docs/TRANSPORT.md, "Cluster secret").
    private let secret: ClusterSecret?
    /// Both nonces of this handshake, once the challenge came and was answered.
    private var nonces: (acceptor: [UInt8], dialler: [UInt8])?
    private var acceptorProven = false
    private let handshakeTimeout: TimeAmount
    private let logger: Logger
    private var accepted = false
    private var handshakeDeadline: Scheduled<Void>?

    init(connection: PeerConnection, generation: UInt64, hello: Handshake, overTLS: Bool = false,
         secret: ClusterSecret? = nil, handshakeTimeout: Duration, logger: Logger) {
        self.connection = connection
        self.generation = generation
        self.hello = hello
        self.overTLS = overTLS
        self.secret = secret
        self.handshakeTimeout = TimeAmount(handshakeTimeout)
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        if !overTLS { sendHello(context: context) }
        // Started before any TLS handshake, so the deadline covers it too.
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let logger = self.logger
        handshakeDeadline = context.eventLoop.scheduleTask(in: handshakeTimeout) {
            logger.warning("no handshake reply in time; closing")
            loopBound.value.close(promise: nil)
        }
        context.fireChannelActive()
    }

    private func sendHello(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        hello.writeFrame(into: &buffer)
        context.writeAndFlush(NIOAny(buffer), promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if overTLS, case .handshakeCompleted = event as? TLSUserEvent {
            let names = CertificateIdentity.peerNames(on: context.pipeline.syncOperations) ?? []
            guard names.contains(connection.peer.rawValue) else {
                let listed = PeerText.escaped(names.sorted().joined(separator: ", "), limit: 128)
                logger.error("the peer's certificate names [\(listed)], not '\(connection.peer)'; closing")
                context.close(promise: nil)
                return
            }
            sendHello(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        handshakeDeadline?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        do {
            switch (accepted, frame.type) {
            case (false, .secretChallenge):
                try answer(SecretChallenge.decode(frame.payload), context: context)
            case (false, .secretProof):
                guard let secret, let nonces, !acceptorProven else {
                    throw WireError.invalidValue(field: "an unasked-for secret proof")
                }
                let proof = try SecretProof.decode(frame.payload)
                guard secret.verify(proof.proof, .acceptor, clusterID: hello.clusterID, dialler: hello.sender,
                                    acceptor: connection.peer, acceptorNonce: nonces.acceptor, diallerNonce: nonces.dialler) else {
                    refuse("the peer did not prove the cluster secret (another --cluster-secret-file?)", context: context)
                    return
                }
                acceptorProven = true
            case (false, .handshakeAccept):
                if secret != nil && !acceptorProven {
                    refuse("the peer accepted without proving the cluster secret (it runs without --cluster-secret-file?)", context: context)
                    return
                }
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

    /// The acceptor's challenge: answered with a fresh nonce of ours and our proof over both.
    private func answer(_ challenge: SecretChallenge, context: ChannelHandlerContext) throws {
        guard let secret else {
            refuse("the peer asks for the cluster secret, and this node has no --cluster-secret-file", context: context)
            return
        }
        guard nonces == nil else { throw WireError.invalidValue(field: "a second secret challenge") }
        let mine = ClusterSecret.nonce()
        nonces = (challenge.nonce, mine)
        let proof = secret.proof(.dialler, clusterID: hello.clusterID, dialler: hello.sender, acceptor: connection.peer,
                                 acceptorNonce: challenge.nonce, diallerNonce: mine)
        var buffer = context.channel.allocator.buffer(capacity: 96)
        SecretResponse(nonce: mine, proof: proof).writeFrame(into: &buffer)
        context.writeAndFlush(NIOAny(buffer), promise: nil)
    }

    /// This side will not go on with the peer: reported like a refusal from it, then closed.
    private func refuse(_ reason: String, context: ChannelHandlerContext) {
        handshakeDeadline?.cancel()
        connection.handshakeRefused(generation: generation, reason: reason, byPeer: false)
        context.close(promise: nil)
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
