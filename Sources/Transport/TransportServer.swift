import Logging
import NIOCore
import NIOPosix
import RaftCore
import Synchronization

/// Accepts peer connections. Inbound connections only receive (plus the handshake reply and
/// request replies); Raft traffic to a peer always leaves through `PeerConnection`.
final class TransportServer: Sendable {
    private let serverChannel: any Channel
    private let inbound: OpenChannels

    var localAddress: SocketAddress? { serverChannel.localAddress }

    private init(serverChannel: any Channel, inbound: OpenChannels) {
        self.serverChannel = serverChannel
        self.inbound = inbound
    }

    static func bind(
        configuration: TransportConfiguration, group: any EventLoopGroup, sink: EventSink,
        greeted: @escaping @Sendable (NodeID) -> Void, logger: Logger
    ) async throws -> TransportServer {
        let inbound = OpenChannels()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                inbound.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameDecoder(maxFrameSize: configuration.maxFrameSize)),
                        InboundPeerHandler(
                            localID: configuration.localID, clusterID: configuration.clusterID,
                            handshakeTimeout: configuration.handshakeTimeout, sink: sink, greeted: greeted,
                            logger: logger))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        return TransportServer(serverChannel: channel, inbound: inbound)
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
