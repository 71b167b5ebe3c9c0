import ArgumentParser
import FoundationEssentials
import HTTPLimits
import KVServer
import KVStore
import Logging
import NodeRuntime
import RaftCore
import Transport

/// `kv-node [serve]`: one member of the replicated key-value store. Parses flags and hands
/// over to `NodeServer`; everything else lives in the libraries.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve",
                                                    abstract: "Run one node of the Raft-replicated key-value store (the default).")

    @Option(help: "This node's id (letters, digits, _ and -; at most 64).") var id: String
    @Option(name: .customLong("api-addr"), help: "HOST:PORT for the HTTP API.") var apiAddr: String
    @Option(name: .customLong("raft-addr"), help: "HOST:PORT for Raft traffic between nodes.") var raftAddr: String
    @Option(name: .customLong("data-dir"), help: "Directory for this node's state.") var dataDir: String
    @Flag(help: "Create a new cluster from --peers if the data directory holds no Raft state.") var bootstrap = false
    @Option(help: "Founding members: ID=RAFTHOST:PORT@APIHOST:PORT,... (with --bootstrap).") var peers: String?
    @Option(help: "API address of a member to ask for admission: HOST:PORT, or https://HOST:PORT for a cluster serving HTTPS.") var join: String?
    @Option(name: .customLong("join-ca-file"), help: "PEM CA certificate(s) the --join target's HTTPS certificate must chain to (default: the system's).")
    var joinCAFile: String?
    @Option(name: .customLong("join-credentials-file"), help: "File whose first line is USER:PASSWORD (HTTP Basic) or a bearer token, sent with the join request.")
    var joinCredentialsFile: String?
    @Option(name: .customLong("tick-ms"), help: "Length of one Raft tick in milliseconds.") var tickMilliseconds = 10
    @Option(name: .customLong("heartbeat-ticks"), help: "Ticks between leader heartbeats.") var heartbeatTicks = 5
    @Option(name: .customLong("election-ticks"), help: "Minimum election timeout in ticks (the timeout is randomised up to twice this).") var electionTicks = 30
    @Option(name: .customLong("request-timeout-ms"), help: "How long a request may wait for a leader or a commit.") var requestTimeoutMilliseconds = 3_000
    @Option(name: .customLong("snapshot-entries"),
            help: "Compact the log after this many applied entries; a snapshot is taken when a follower needs one (default: 10000).")
    var snapshotEntries: UInt64?
    @Option(name: .customLong("history-revisions"), help: "Revisions of change history kept for watches and ?revision= reads; older ones are compacted (0: no count limit).")
    var historyRevisions: UInt64 = 100_000
    @Option(name: .customLong("history-age"), help: "Compact change history older than this (30s, 10m, 1h, 2d); off unless given.")
    var historyAge: String?
    @Option(name: .customLong("cluster-id"), help: "Nodes of different clusters refuse to talk to each other (default: the id `kv-node restore` recorded in --data-dir, else kv).")
    var clusterID: String?
    @Option(name: .customLong("max-peer-connections"), help: "Inbound Raft connections open at once; more are closed when accepted.")
    var maxPeerConnections = InboundLimits().maxConnections
    @Option(name: .customLong("max-unauthenticated-peer-connections"), help: "Inbound Raft connections awaiting their handshake; more are closed when accepted.")
    var maxUnauthenticatedPeerConnections = InboundLimits().maxUnauthenticatedConnections
    @Option(name: .customLong("max-connections-per-peer"), help: "Inbound Raft connections per sender id; a newer one closes the oldest.")
    var maxConnectionsPerPeer = InboundLimits().maxConnectionsPerPeer
    @Option(name: .customLong("peer-inbound-buffer-bytes"), help: "Bytes all inbound Raft connections may buffer together before they stop reading.")
    var peerInboundBufferBytes = InboundLimits().byteBudget
    @Option(name: .customLong("peer-handshake-timeout-ms"), help: "Close a Raft connection whose handshake has not completed in this long.")
    var peerHandshakeTimeoutMilliseconds = 5_000
    @Option(name: .customLong("max-http-connections"), help: "HTTP API connections open at once; more are closed when accepted.")
    var maxHTTPConnections = HTTPServerLimits.defaultMaxConnections
    @Option(name: .customLong("http-idle-timeout-ms"), help: "Close an HTTP connection that made no progress for this long.")
    var httpIdleTimeoutMilliseconds = HTTPServerLimits.defaultIdleTimeoutMilliseconds
    @Option(name: .customLong("max-page-bytes"), help: "Bytes of keys and values after which a GET /kv page ends early.")
    var maxPageBytes = NodeOptions.defaultMaxPageBytes
    @Option(name: .customLong("max-watchers"), help: "GET /watch streams this node serves at once; more are answered 503.")
    var maxWatchers = 10_000
    @Option(name: .customLong("idempotency-results"), help: "Idempotency-Key answers kept (the most recently used keys); the same on every node.")
    var idempotencyResults = SessionLimits().results
    @Option(name: .customLong("idempotency-evicted"), help: "Evicted Idempotency-Keys still refused with 409 (not answered, never applied again); the same on every node.")
    var idempotencyEvicted = SessionLimits().evicted
    @Option(name: .customLong("peer-cert-file"), help: "PEM certificate (chain) this node presents on the Raft port; with --peer-key-file and --peer-trusted-ca-file, Raft traffic uses mutual TLS.")
    var peerCertFile: String?
    @Option(name: .customLong("peer-key-file"), help: "PEM private key of --peer-cert-file.") var peerKeyFile: String?
    @Option(name: .customLong("peer-trusted-ca-file"), help: "PEM CA certificate(s) a peer's certificate must chain to.")
    var peerTrustedCAFile: String?
    @Option(name: .customLong("cluster-secret-file"), help: "File holding a secret (at least 16 bytes) every peer must prove at its Raft handshake, by challenge and response.")
    var clusterSecretFile: String?
    @Option(name: .customLong("cert-file"), help: "PEM certificate (chain) of the HTTP API; with --key-file, the API is served over HTTPS.")
    var certFile: String?
    @Option(name: .customLong("key-file"), help: "PEM private key of --cert-file.") var keyFile: String?
    @Option(name: .customLong("trusted-ca-file"), help: "PEM CA certificate(s) a client certificate must chain to (with --client-cert-auth).")
    var trustedCAFile: String?
    @Flag(name: .customLong("client-cert-auth"), help: "Require HTTPS clients to present a certificate from --trusted-ca-file.")
    var clientCertAuth = false
    @Option(name: .customLong("auth-file"), help: "JSON users (bcrypt) and tokens (SHA-256) with roles per key prefix; requests need credentials. Re-read on SIGHUP.")
    var authFile: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.") var logLevel = "info"

    func validate() throws {
        guard MemberIDSyntax.isValid(id) else {
            throw ValidationError("--id must match \(MemberIDSyntax.pattern)")
        }
        guard HostPort(parsing: apiAddr) != nil else { throw ValidationError("--api-addr must be HOST:PORT") }
        guard HostPort(parsing: raftAddr) != nil else { throw ValidationError("--raft-addr must be HOST:PORT") }
        if bootstrap && peers == nil { throw ValidationError("--bootstrap needs --peers") }
        if bootstrap && join != nil { throw ValidationError("use either --bootstrap or --join, not both") }
        guard maxPeerConnections > 0, maxUnauthenticatedPeerConnections > 0, maxConnectionsPerPeer > 0,
              peerInboundBufferBytes > 0, peerHandshakeTimeoutMilliseconds > 0 else {
            throw ValidationError("the --max-*peer* limits, --peer-inbound-buffer-bytes and --peer-handshake-timeout-ms must be > 0")
        }
        if let join, JoinTarget(parsing: join) == nil { throw ValidationError("--join must be HOST:PORT or https://HOST:PORT") }
        if join == nil && (joinCAFile != nil || joinCredentialsFile != nil) {
            throw ValidationError("--join-ca-file and --join-credentials-file need --join")
        }
        guard tickMilliseconds > 0, heartbeatTicks > 0, electionTicks > heartbeatTicks else {
            throw ValidationError("timing: --tick-ms > 0 and --election-ticks > --heartbeat-ticks > 0")
        }
        guard maxHTTPConnections > 0, httpIdleTimeoutMilliseconds > 0, maxPageBytes > 0 else {
            throw ValidationError("--max-http-connections, --http-idle-timeout-ms and --max-page-bytes must be > 0")
        }
        guard maxWatchers >= 0 else { throw ValidationError("--max-watchers must be >= 0") }
        guard idempotencyResults > 0, idempotencyEvicted >= 0 else {
            throw ValidationError("--idempotency-results must be > 0 and --idempotency-evicted >= 0")
        }
        if let historyAge, HistoryRetention.parseAge(historyAge) == nil {
            throw ValidationError("--history-age must be a whole number and a unit, such as 30s, 10m, 1h or 2d")
        }
        if let peers { _ = try Self.parsePeers(peers) }
    }

    /// The peer TLS files, all three or none; a missing, unreadable or invalid one stops the
    /// node with a message naming it and exit status 2 (a usage error, not a crash).
    static func loadPeerTLS(certificate: String?, key: String?, trustedCA: String?) throws -> PeerTLS? {
        switch (certificate, key, trustedCA) {
        case (nil, nil, nil):
            return nil
        case (let certificate?, let key?, let trustedCA?):
            do {
                return try PeerTLS.load(certificateFile: certificate, keyFile: key, trustedCAFile: trustedCA)
            } catch {
                Self.failStartup("kv-node: peer TLS: \(error)")
            }
        default:
            Self.failStartup("kv-node: --peer-cert-file, --peer-key-file and --peer-trusted-ca-file go together: give all three or none")
        }
    }

    /// The cluster secret, read once at start; a missing or short file stops the node with
    /// status 2, like the other security files.
    static func loadClusterSecret(path: String?) -> ClusterSecret? {
        guard let path else { return nil }
        do {
            return try ClusterSecret.load(path: path)
        } catch {
            Self.failStartup("kv-node: --cluster-secret-file: \(error)")
        }
    }

    /// HTTPS for the API: certificate and key both or neither, a CA only with
    /// --client-cert-auth and the other way round; bad files stop the node with status 2.
    static func loadClientTLS(certificate: String?, key: String?, trustedCA: String?, clientCertAuth: Bool) -> ClientTLS? {
        switch (certificate, key) {
        case (nil, nil):
            if clientCertAuth || trustedCA != nil {
                Self.failStartup("kv-node: --client-cert-auth and --trusted-ca-file need HTTPS: give --cert-file and --key-file too")
            }
            return nil
        case (let certificate?, let key?):
            if clientCertAuth && trustedCA == nil {
                Self.failStartup("kv-node: --client-cert-auth needs --trusted-ca-file (the CA client certificates must chain to)")
            }
            if !clientCertAuth && trustedCA != nil {
                Self.failStartup("kv-node: --trusted-ca-file is only used with --client-cert-auth; give both or neither")
            }
            do {
                return try ClientTLS.load(certificateFile: certificate, keyFile: key, clientCAFile: trustedCA)
            } catch {
                Self.failStartup("kv-node: HTTPS: \(error)")
            }
        default:
            Self.failStartup("kv-node: --cert-file and --key-file go together: give both or neither")
        }
    }

    /// The auth file as it is at start-up; a missing or invalid one stops the node with status 2.
    static func loadClientAuth(path: String?) -> ClientAuthenticator? {
        guard let path else { return nil }
        do {
            return try ClientAuthenticator.load(path: path)
        } catch {
            Self.failStartup("kv-node: --auth-file: \(error)")
        }
    }

    /// `--join` and how to reach it: the CA and credentials files are read now, so a missing
    /// or empty one stops the node (exit 2) instead of failing every join attempt. With its own
    /// `--cert-file`, the node presents that certificate when the target asks for one.
    static func joinTarget(_ join: String?, trustedCA: String?, credentials: String?,
                           certificate: String?, key: String?) -> JoinTarget? {
        guard let join, var target = JoinTarget(parsing: join) else { return nil }
        target.trustedCAFile = trustedCA
        if let certificate, let key { target.clientCertificate = (certificate, key) }
        do {
            _ = try target.tlsConfiguration()
        } catch {
            failStartup("kv-node: --join-ca-file or --cert-file/--key-file: \(error)")
        }
        if let credentials {
            guard let text = try? String(contentsOfFile: credentials, encoding: .utf8),
                  let header = JoinTarget.authorization(credentials: String(text.prefix { $0 != "\n" })) else {
                failStartup("kv-node: --join-credentials-file \(credentials): unreadable or empty")
            }
            target.authorization = header
        }
        return target
    }

    static func failStartup(_ message: String) -> Never {
        StandardError.exit(message, status: 2)
    }

    static func parsePeers(_ text: String) throws -> [(NodeID, MemberAddress)] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let address = MemberAddress(parsing: String(parts[1])) else {
                throw ValidationError("bad --peers entry \"\(item)\": expected ID=RAFTHOST:PORT@APIHOST:PORT")
            }
            return (NodeID(String(parts[0])), address)
        }
    }

    func run() async throws {
        let peerTLS = try Self.loadPeerTLS(certificate: peerCertFile, key: peerKeyFile, trustedCA: peerTrustedCAFile)
        let clusterSecret = Self.loadClusterSecret(path: clusterSecretFile)
        let clientTLS = Self.loadClientTLS(certificate: certFile, key: keyFile, trustedCA: trustedCAFile, clientCertAuth: clientCertAuth)
        let clientAuth = Self.loadClientAuth(path: authFile)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "kv-node")
        logger[metadataKey: "node"] = "\(id)"

        var options = NodeOptions(id: NodeID(id), apiAddress: HostPort(parsing: apiAddr)!,
                                  raftAddress: HostPort(parsing: raftAddr)!, dataDirectory: dataDir)
        if bootstrap, let peers {
            let founders = try Self.parsePeers(peers)
            guard founders.contains(where: { $0.0.rawValue == id }) else {
                throw ValidationError("--peers must include this node (\(id))")
            }
            options.bootstrapPeers = founders
        }
        options.join = Self.joinTarget(join, trustedCA: joinCAFile, credentials: joinCredentialsFile,
                                       certificate: certFile, key: keyFile)
        options.peerTLS = peerTLS
        options.clusterSecret = clusterSecret
        options.clientTLS = clientTLS
        options.clientAuth = clientAuth
        do {
            options.runtime.clusterID = try ClusterIdentity.resolve(dataDirectory: dataDir, flag: clusterID)
        } catch {
            Self.failStartup("kv-node: \(error)")
        }
        options.peerLimits.maxConnections = maxPeerConnections
        options.peerLimits.maxUnauthenticatedConnections = maxUnauthenticatedPeerConnections
        options.peerLimits.maxConnectionsPerPeer = maxConnectionsPerPeer
        options.peerLimits.byteBudget = peerInboundBufferBytes
        options.peerHandshakeTimeout = .milliseconds(peerHandshakeTimeoutMilliseconds)
        options.runtime.tickMilliseconds = tickMilliseconds
        options.runtime.heartbeatTicks = heartbeatTicks
        options.runtime.electionTicks = electionTicks
        options.runtime.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        options.http = HTTPServerLimits(maxConnections: maxHTTPConnections, idleTimeoutMilliseconds: httpIdleTimeoutMilliseconds)
        options.maxPageBytes = maxPageBytes
        options.runtime.watchLimits.maxWatchers = maxWatchers
        options.sessionLimits = SessionLimits(results: idempotencyResults, evicted: idempotencyEvicted)
        options.runtime.snapshotEveryEntries = max(1, snapshotEntries ?? 10_000)
        // A snapshot carries the whole retained history, so a follower that lacks fewer
        // entries than history keeps revisions is sent less as entries than as a snapshot:
        // the log keeps that many (Docs/KVSTORE.md, "Log compaction and snapshots").
        options.runtime.entriesRetainedAfterSnapshot = historyRevisions > 0 ? historyRevisions : 100_000
        options.runtime.historyRetention = HistoryRetention(revisions: historyRevisions, age: historyAge.flatMap(HistoryRetention.parseAge))
        try await NodeServer.run(options, logger: logger)
    }
}
