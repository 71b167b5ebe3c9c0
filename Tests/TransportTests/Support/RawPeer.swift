import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
@testable import Transport

/// A bare TCP client that writes whatever bytes a test hands it, standing in for a broken or
/// hostile peer, and keeps what the server sends back.
final class RawPeer: Sendable {
    let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    /// With `tls`, the bytes go through a TLS client handler (they are what a TLS peer sends
    /// inside its encrypted stream).
    static func connect(port: Int, group: any EventLoopGroup, tls: NIOSSLContext? = nil) async throws -> RawPeer {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil))
                    }
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return RawPeer(channel: channel, collector: collector)
    }

    func write(_ bytes: ByteBuffer) async throws {
        try await channel.writeAndFlush(bytes)
    }

    /// Bytes the server has sent so far, parsed as frames.
    func frames(maxFrameSize: Int = 1 << 20) throws -> [Frame] {
        var copy = collector.received.withLock { $0 }
        var frames: [Frame] = []
        while let frame = try FrameDecoder.nextFrame(from: &copy, maxFrameSize: maxFrameSize) { frames.append(frame) }
        return frames
    }

    var isClosed: Bool { !channel.isActive }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received = Mutex(ByteBuffer())

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            _ = received.withLock { $0.writeBuffer(&bytes) }
        }
    }
}
