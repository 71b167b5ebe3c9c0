import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 connection with this project's limits in front: each connection takes
/// a place under the server's connection cap (`ConnectionLimit`), and one that makes no
/// progress for the idle timeout is closed (`HTTPIdleTimeoutHandler`). kv-node and the
/// launcher serve through it; kv-node adds its fast path (`innerHandler`) between the HTTP
/// decoder and the router, where it sees every request before Hummingbird does.
public struct LimitedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    public typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    public let responder: HTTPChannelHandler.Responder
    let connections: ConnectionLimit
    let idleTimeout: TimeAmount
    let innerHandler: (@Sendable () -> any ChannelHandler)?

    public init(responder: @escaping HTTPChannelHandler.Responder, connections: ConnectionLimit, idleTimeout: TimeAmount,
                innerHandler: (@Sendable () -> any ChannelHandler)? = nil) {
        self.responder = responder
        self.connections = connections
        self.idleTimeout = idleTimeout
        self.innerHandler = innerHandler
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ConnectionLimitHandler(limit: connections))
            // No pipelining assistance and no error handler, as in `HTTP1Channel`: the routes
            // answer parse errors, and a fast path orders its answers itself.
            try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
            // Right behind the decoder: it sees every request and answer, whichever path serves it.
            try pipeline.addHandler(HTTPIdleTimeoutHandler(timeout: idleTimeout))
            if let innerHandler { try pipeline.addHandler(innerHandler()) }
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel,
                                       configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    public func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}
