import HTTPLimits
import HummingbirdCore
import NIOCore
import NIOSSL
import NodeRuntime

extension NodeServer {
    /// kv-node's HTTP/1.1 server: connection cap and idle timeout, optional TLS, and
    /// `KVFastPathHandler` in front of the routes. One function, so the route tests can serve
    /// the fast path over a socket exactly as kv-node does.
    static func httpServer(operations: KVOperations, metrics: NodeMetrics, connections: ConnectionLimit,
                           idleTimeout: TimeAmount, tls: NIOSSLContext? = nil, secure: Bool = false,
                           authenticator: ClientAuthenticator? = nil) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            LimitedHTTP1Channel(responder: responder, connections: connections, idleTimeout: idleTimeout, tls: tls) {
                KVFastPathHandler(operations: operations, metrics: metrics, maxBodyBytes: KVRoutes.maxBodyBytes,
                                  secure: secure, authenticator: authenticator)
            }
        }
    }
}
