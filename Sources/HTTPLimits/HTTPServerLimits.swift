import NIOCore

/// The limits every HTTP connection of a server lives under; `kv-node` and `kv-launcher`
/// take both from flags (`--max-http-connections`, `--http-idle-timeout-ms`).
public struct HTTPServerLimits: Sendable {
    /// Connections open at once; more are closed as soon as they are accepted.
    public var maxConnections: Int
    /// How long a connection may go without progress (see `HTTPIdleTimeoutHandler`).
    public var idleTimeoutMilliseconds: Int

    public static let defaultMaxConnections = 1_024
    public static let defaultIdleTimeoutMilliseconds = 30_000

    public init(maxConnections: Int = Self.defaultMaxConnections,
                idleTimeoutMilliseconds: Int = Self.defaultIdleTimeoutMilliseconds) {
        self.maxConnections = maxConnections
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
    }

    public var idleTimeout: TimeAmount { .milliseconds(Int64(max(1, idleTimeoutMilliseconds))) }
}
