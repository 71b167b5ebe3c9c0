/// What a stranger on the Raft port can make this node hold. Nothing arriving on an inbound
/// connection is trusted before its handshake (and the handshake proves only that the dialler
/// knows the cluster id), so each of these bounds one way a peer could grow the node's memory,
/// file descriptors or log. Docs/TRANSPORT.md lists them with their kv-node flags.
public struct InboundLimits: Sendable {
    /// The largest frame accepted before the handshake completes. The handshake frame is a
    /// few dozen bytes; without this, every stray connection could make the node buffer a
    /// full `maxFrameSize` frame before proving anything.
    public var preHandshakeMaxFrameSize: Int = 4 * 1024
    /// Connections still waiting for their handshake; past it a new connection is closed at
    /// once. Each one costs a descriptor and a timer until `handshakeTimeout`.
    public var maxUnauthenticatedConnections: Int = 64
    /// All inbound connections, handshake done or not; past it a new connection is closed at
    /// once. Members need one each, so this is far above any real cluster's need.
    public var maxConnections: Int = 256
    /// Connections that completed a handshake as the same sender id. A new one past it closes
    /// that sender's oldest, since a peer reconnecting replaces its previous connection.
    public var maxConnectionsPerPeer: Int = 4
    /// Bytes all inbound connections together may hold: their receive buffers (partial frames
    /// included) plus events not yet taken by the consumer. At the limit connections stop
    /// reading until bytes are given back. Raised, if smaller, to one `maxFrameSize` frame
    /// plus 64 KiB of read headroom per `maxConnections`, so any frame can always arrive.
    public var byteBudget: Int = 128 * 1024 * 1024
    /// At most one refusal or protocol-error log line per interval (across all inbound
    /// connections); the next line that gets through says how many were held back.
    public var refusalLogInterval: Duration = .seconds(1)

    public init() {}
}
