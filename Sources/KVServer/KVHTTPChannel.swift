import HTTPLimits
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 connection, with `KVFastPathHandler` between the HTTP decoder and
/// the router: single-key requests are answered in the pipeline, everything else reaches
/// the routes exactly as `HTTP1Channel` would deliver it. Every connection first takes a
/// place under the server's connection cap and is closed when idle (`HTTPLimits`).
struct KVHTTPChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let makeFastPath: @Sendable () -> KVFastPathHandler
    let connections: ConnectionLimit
    let idleTimeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ConnectionLimitHandler(limit: connections))
            // No pipelining assistance and no error handler: the fast path orders answers
            // itself, and the routes answer parse errors, as in `HTTP1Channel`.
            try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
            // Behind the decoder and in front of the fast path: it sees every request and
            // answer of both paths.
            try pipeline.addHandler(HTTPIdleTimeoutHandler(timeout: idleTimeout))
            try pipeline.addHandler(makeFastPath())
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel,
                                       configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}
