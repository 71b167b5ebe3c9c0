import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOSSL

/// Hummingbird's HTTP/1 connection with this project's limits in front: each connection takes
/// a place under the server's connection cap (`ConnectionLimit`), and one that makes no
/// progress for the idle timeout is closed (`HTTPIdleTimeoutHandler`). kv-node and the
/// launcher serve through it; kv-node adds its fast path (`innerHandler`) between the HTTP
/// decoder and the router, where it sees every request before Hummingbird does, and a
/// handler in front of the decoder (`frontHandler`) that serves the commonest requests from
/// the bytes.
///
/// With a `tls` context the connection speaks HTTPS: TLS sits right behind the connection
/// cap (a refused connection costs no handshake) and in front of the HTTP decoder, so the
/// fast path and the idle timeout work as without it. The idle timeout runs from the moment
/// the connection is accepted, so a client that never finishes the TLS handshake is closed
/// like one that never finishes its request.
public struct LimitedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    public typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    public let responder: HTTPChannelHandler.Responder
    let connections: ConnectionLimit
    let idleTimeout: TimeAmount
    let innerHandler: (@Sendable () -> any ChannelHandler)?
    let frontHandler: (@Sendable () -> any ChannelHandler)?
    let tls: NIOSSLContext?

    public init(responder: @escaping HTTPChannelHandler.Responder, connections: ConnectionLimit, idleTimeout: TimeAmount,
                tls: NIOSSLContext? = nil, frontHandler: (@Sendable () -> any ChannelHandler)? = nil,
                innerHandler: (@Sendable () -> any ChannelHandler)? = nil) {
        self.responder = responder
        self.connections = connections
        self.idleTimeout = idleTimeout
        self.tls = tls
        self.frontHandler = frontHandler
        self.innerHandler = innerHandler
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ConnectionLimitHandler(limit: connections))
            if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls)) }
            // Plain bytes in and out, after TLS and before the HTTP codec.
            if let frontHandler { try pipeline.addHandler(frontHandler()) }
            // No pipelining assistance and no error handler, as in `HTTP1Channel`: the routes
            // answer parse errors, and a fast path orders its answers itself.
            try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
            // Right behind the decoder: it sees every request and answer, whichever path serves it.
            try pipeline.addHandler(HTTPIdleTimeoutHandler(timeout: idleTimeout))
            if let innerHandler { try pipeline.addHandler(innerHandler()) }
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: tls != nil))
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel,
                                       configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    public func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}
