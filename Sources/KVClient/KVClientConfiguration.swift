/// How a ``KVClient`` reaches the cluster: which nodes, over what, as whom, and how long it
/// keeps trying.
public struct KVClientConfiguration: Sendable {
    /// The nodes to send requests to. The client starts with the first and moves to the next
    /// when one does not answer or answers 503; any node serves any request.
    public var endpoints: [Endpoint]
    /// TLS trust and client certificate; nil for the system's trust roots and no certificate.
    public var tls: TLSSettings?
    public var credentials: Credentials?
    /// How long one attempt on one endpoint may take until the answer's head arrives. Larger
    /// than the server's own request timeout (3 s by default), which answers 503 first.
    public var requestTimeout: Duration
    /// How long one call keeps retrying on other endpoints (503s, lost connections) before it
    /// gives up with ``KVClientError/unavailable(_:)`` or ``KVClientError/unreachable(endpoints:underlying:)``.
    public var retryBudget: Duration
    /// Full rounds over every endpoint in which none answered at all before the call is
    /// declared unreachable: a cluster that is down is reported promptly, while one that is
    /// electing a leader (its nodes answer 503) is waited for up to ``retryBudget``.
    public var unreachableRounds: Int
    /// The consistency of reads that do not say.
    public var defaultConsistency: ReadConsistency
    /// How long a stream (a watch, a snapshot, an export) may stay silent before it is taken as
    /// lost: a node that vanished without closing the connection sends nothing, forever. A
    /// watch then resumes on the next endpoint. The node sends a watch progress at least every
    /// 10 s, so the default of 30 s allows two of them to go missing.
    public var streamIdleTimeout: Duration
    /// The most bytes of events of one revision a watch holds while it waits for the block that
    /// ends the revision (the node sends them all at once; a prefix delete of many keys makes
    /// one large revision). Past it, or past ``maxWatchRevisionEvents``, the watch ends with
    /// ``KVClientError/invalidResponse(_:)`` instead of growing without bound.
    public var maxWatchRevisionBytes: Int
    /// The most events of one revision a watch holds (see ``maxWatchRevisionBytes``).
    public var maxWatchRevisionEvents: Int

    public init(
        endpoints: [Endpoint], tls: TLSSettings? = nil, credentials: Credentials? = nil,
        requestTimeout: Duration = .seconds(10), retryBudget: Duration = .seconds(30), unreachableRounds: Int = 3,
        defaultConsistency: ReadConsistency = .linearizable, streamIdleTimeout: Duration = .seconds(30),
        maxWatchRevisionBytes: Int = 128 * 1024 * 1024, maxWatchRevisionEvents: Int = 1_000_000
    ) {
        self.endpoints = endpoints
        self.tls = tls
        self.credentials = credentials
        self.requestTimeout = requestTimeout
        self.retryBudget = retryBudget
        self.unreachableRounds = unreachableRounds
        self.defaultConsistency = defaultConsistency
        self.streamIdleTimeout = streamIdleTimeout
        self.maxWatchRevisionBytes = maxWatchRevisionBytes
        self.maxWatchRevisionEvents = maxWatchRevisionEvents
    }

    /// Parses `host:port` strings (optionally `http://` or `https://`); addresses without a
    /// scheme use HTTPS when `tls` is given.
    public init(
        endpoints: [String], tls: TLSSettings? = nil, credentials: Credentials? = nil,
        requestTimeout: Duration = .seconds(10), retryBudget: Duration = .seconds(30), unreachableRounds: Int = 3,
        defaultConsistency: ReadConsistency = .linearizable, streamIdleTimeout: Duration = .seconds(30)
    ) throws(KVClientError) {
        let scheme: Endpoint.Scheme = tls == nil ? .http : .https
        var parsed: [Endpoint] = []
        for text in endpoints { parsed.append(try Endpoint(parsing: text, defaultScheme: scheme)) }
        self.init(endpoints: parsed, tls: tls, credentials: credentials, requestTimeout: requestTimeout,
                  retryBudget: retryBudget, unreachableRounds: unreachableRounds, defaultConsistency: defaultConsistency,
                  streamIdleTimeout: streamIdleTimeout)
    }
}

/// PEM files for HTTPS: the CA that signed the nodes' certificates, and the client's own
/// certificate and key for nodes started with `--client-cert-auth`.
public struct TLSSettings: Sendable {
    /// nil: trust the system's roots only.
    public var caFile: String?
    public var certificateFile: String?
    public var keyFile: String?
    /// Whether the node's certificate must name the host dialled. Off only for certificates
    /// that name no address (test clusters on 127.0.0.1); the chain is checked either way.
    public var verifyHostname: Bool

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, verifyHostname: Bool = true) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.verifyHostname = verifyHostname
    }
}

/// Who the client is to a node started with `--auth-file`.
public enum Credentials: Sendable {
    /// HTTP Basic.
    case basic(user: String, password: String)
    /// `Authorization: Bearer <token>`.
    case bearer(String)
}

/// Whether a read must reflect every write acknowledged before it (`linearizable`, a read
/// barrier through the leader) or may be served from the answering node's state at once
/// (`stale`: faster, and available without a quorum).
public enum ReadConsistency: String, Sendable, CaseIterable {
    case linearizable
    case stale
}
