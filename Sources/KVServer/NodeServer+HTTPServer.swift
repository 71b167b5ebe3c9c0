import HTTPLimits
import HummingbirdCore
import NIOCore
import NIOSSL
import NodeRuntime

extension NodeServer {
    /// kv-node's HTTP/1.1 server: connection cap and idle timeout, optional TLS,
    /// `KVLeanFrontHandler` in front of the HTTP codec and `KVFastPathHandler` behind it, in
    /// front of the routes. One function, so the route tests can serve the fast paths over a
    /// socket exactly as kv-node does.
    static func httpServer(operations: KVOperations, metrics: NodeMetrics, connections: ConnectionLimit,
                           idleTimeout: TimeAmount, tls: NIOSSLContext? = nil, secure: Bool = false,
                           authenticator: ClientAuthenticator? = nil) -> HTTPServerBuilder {
        let service = KVFastPathService(operations: operations, metrics: metrics, maxBodyBytes: KVRoutes.maxBodyBytes,
                                        secure: secure, authenticator: authenticator)
        return HTTPServerBuilder { responder in
            LimitedHTTP1Channel(responder: responder, connections: connections, idleTimeout: idleTimeout, tls: tls,
                                frontHandler: { KVLeanFrontHandler(service: service) },
                                innerHandler: { KVFastPathHandler(service: service) })
        }
    }
}
