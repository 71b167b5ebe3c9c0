import Logging
import NIOCore
import NIOPosix
import NIOSSL
import RaftCore
import Synchronization

/// Accepts peer connections. Inbound connections only receive (plus the handshake reply and
/// request replies); Raft traffic to a peer always leaves through `PeerConnection`.
final class TransportServer: Sendable {
    private let serverChannel: any Channel
    private let inbound: OpenChannels
    let admission: InboundAdmission

    var localAddress: SocketAddress? { serverChannel.localAddress }

    private init(serverChannel: any Channel, inbound: OpenChannels, admission: InboundAdmission) {
        self.serverChannel = serverChannel
        self.inbound = inbound
        self.admission = admission
    }

    static func bind(
        configuration: TransportConfiguration, group: any EventLoopGroup, sink: EventSink,
        greeted: @escaping @Sendable (NodeID) -> Void, tls: (context: NIOSSLContext, authentication: PeerAuthentication)?,
        logger: Logger
    ) async throws -> TransportServer {
        let inbound = OpenChannels()
        let limits = configuration.inbound
        let admission = InboundAdmission(
            maxUnauthenticated: limits.maxUnauthenticatedConnections, maxTotal: limits.maxConnections,
            maxPerPeer: limits.maxConnectionsPerPeer)
        let throttle = LogThrottle(interval: limits.refusalLogInterval)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // One read of at most `readSize` bytes per `read()`: the headroom a connection
            // reserves in the inbound budget before reading covers exactly one read.
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(
                minimum: 64, initial: 2048, maximum: InboundBudget.readSize))
            .childChannelInitializer { channel in
                if let refusal = admission.admit() {
                    throttle.log { suppressed in
                        logger.warning("refusing inbound connection from \(channel.remoteAddress.map { "\($0)" } ?? "?"): \(refusal)\(suppressed)")
                    }
                    return channel.eventLoop.makeFailedFuture(refusal)
                }
                inbound.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    // TLS sits in front of the frame handler, so the pre-handshake limits,
                    // the byte budget and the handshake timeout (started here, before the
                    // TLS handshake) hold for TLS connections as they do for plain ones.
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
                    }
                    try channel.pipeline.syncOperations.addHandler(InboundPeerHandler(
                        configuration: configuration, sink: sink, admission: admission, throttle: throttle,
                        greeted: greeted, authentication: tls?.authentication, logger: logger))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        return TransportServer(serverChannel: channel, inbound: inbound, admission: admission)
    }

    /// Stops accepting, then closes every inbound connection.
    func close() async {
        try? await serverChannel.close()
        await inbound.closeAll()
    }
}

/// The inbound connections still open, so shutdown can close them rather than leave them to
/// the peers.
private final class OpenChannels: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { _ in
            _ = self.channels.withLock { $0.removeValue(forKey: key) }
        }
    }

    func closeAll() async {
        let open = channels.withLock { Array($0.values) }
        for channel in open { try? await channel.close() }
    }
}
