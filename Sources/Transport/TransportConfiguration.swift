import RaftCore

/// Where a peer listens for Raft traffic.
public struct PeerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }
}

/// Everything a transport needs to know about itself. Defaults suit a LAN cluster; tests
/// shrink the timeouts and limits to reach the interesting edges quickly.
public struct TransportConfiguration: Sendable {
    public var localID: NodeID
    /// Connections from another cluster are refused at the handshake, so two clusters sharing
    /// hosts (or a stale node pointed at the wrong one) cannot mix their logs.
    public var clusterID: String
    public var host: String
    /// 0 binds an ephemeral port; `RaftTransport.port` reports the one chosen.
    public var port: Int
    /// The largest frame accepted or sent. A message that would encode larger is dropped at
    /// the sender (with an error log) rather than sent and refused by every receiver.
    public var maxFrameSize: Int = WireProtocol.defaultMaxFrameSize
    /// Per-peer outbound queue bounds. Past either one, messages are dropped and the peer is
    /// reported unreachable: the Raft loop never waits on a slow or dead peer.
    public var outboundQueueLimit: Int = 8192
    public var outboundQueueByteLimit: Int = 64 * 1024 * 1024
    public var reconnectBackoff = ReconnectBackoff()
    public var connectTimeout: Duration = .seconds(2)
    /// How long data we sent may go unacknowledged by the peer's kernel before the connection
    /// is given up (`TCP_USER_TIMEOUT`). A partition that drops packets otherwise leaves the
    /// connection open for minutes while TCP retransmits with growing gaps, and whatever was
    /// queued arrives in one late burst after the heal; given up, the queue is dropped, Raft is
    /// told the peer is unreachable, and the redial finds the healed link within a backoff.
    /// A backstop: the runtime resets a silent member's connection much sooner (after an
    /// election timeout). Long, because a receiver that stops reading for a while (its
    /// window at zero) counts as unacknowledged too, and that is backpressure, not a fault.
    public var peerSilenceTimeout: Duration = .seconds(10)
    /// How long either side waits for the handshake before closing, so an idle or stray
    /// connection cannot hold a slot forever.
    public var handshakeTimeout: Duration = .seconds(5)
    /// Inbound events buffered for the consumer before the transport stops reading sockets;
    /// TCP flow control then slows the senders instead of this node's memory growing.
    public var inboundHighWatermark: Int = 4096
    public var inboundLowWatermark: Int = 1024
    /// Bounds on what inbound connections may hold before and after their handshake.
    public var inbound = InboundLimits()
    /// Mutual TLS on every connection, both ways, when set: a peer must present a certificate
    /// from the trusted CA naming the id it claims, and be in the address book
    /// (Docs/TRANSPORT.md, "TLS"). When nil, connections are plain TCP.
    public var tls: PeerTLS?
    /// When set, every handshake, both ways, proves this secret by challenge and response
    /// (Docs/TRANSPORT.md, "Cluster secret"); with `tls` too, both are checked.
    public var clusterSecret: ClusterSecret?

    public init(localID: NodeID, clusterID: String, host: String = "127.0.0.1", port: Int = 0) {
        self.localID = localID
        self.clusterID = clusterID
        self.host = host
        self.port = port
    }
}

/// Capped exponential backoff with jitter. Jitter spreads the reconnect attempts of many
/// nodes that lost the same peer at the same moment, so it is not flooded when it returns.
public struct ReconnectBackoff: Sendable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The wait before reconnect attempt `attempt` (1 for the first retry): the capped
    /// exponential step, of which a random half is kept ("equal jitter") so it never drops to 0.
    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let step = min(initial * (1 << exponent), maximum)
        let half = step / 2
        return half + half * Double.random(in: 0...1, using: &generator)
    }
}
