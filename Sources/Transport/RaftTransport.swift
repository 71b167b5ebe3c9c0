import Logging
import NIOCore
import NIOPosix
import NIOSSL
import RaftCore
import Synchronization

/// The node runtime's view of the network: hand it Raft messages, read what arrives from
/// `events`. `send` never blocks; each peer has one outbound connection with its own bounded
/// queue, and inbound connections feed a single backpressured event stream.
///
/// Typical use:
/// ```swift
/// let transport = try await RaftTransport.start(configuration: config, peers: book)
/// Task { for await event in transport.events { ... } }
/// transport.send(ready.messages)
/// await transport.shutdown()
/// ```
public final class RaftTransport: Sendable {
    public let localID: NodeID
    /// Every inbound Raft message and peer request, plus unreachable and refusal reports.
    /// Iterate it exactly once.
    public let events: TransportEvents
    /// Runs Swift concurrency jobs on one of the transport's event loops. With a
    /// single-threaded group (the default) that is the loop every connection reads on, so an
    /// actor using it handles each event on the thread that received it.
    public let executor: EventLoopExecutor

    private let configuration: TransportConfiguration
    private let group: any EventLoopGroup
    private let ownsGroup: Bool
    private let server: TransportServer
    /// The TLS context every outbound connection dials with, when TLS is configured.
    private let clientTLS: NIOSSLContext?
    private let sink: EventSink
    private let logger: Logger
    private let book = Mutex(AddressBook())

    /// The peer connections, and whether shutdown has begun: kept under one lock so a peer
    /// added concurrently with shutdown is either closed by it or never created.
    private struct AddressBook {
        var connections: [NodeID: PeerConnection] = [:]
        var isShutDown = false
    }

    /// The address actually bound (useful with port 0).
    public var localAddress: SocketAddress? { server.localAddress }
    public var port: Int? { server.localAddress?.port }
    /// What inbound connections hold and how many are open (for tests).
    var inboundBudget: InboundBudget { sink.budget }
    var inboundAdmission: InboundAdmission { server.admission }

    private init(configuration: TransportConfiguration, group: any EventLoopGroup, ownsGroup: Bool,
                 server: TransportServer, sink: EventSink, events: TransportEvents, clientTLS: NIOSSLContext?,
                 logger: Logger) {
        self.clientTLS = clientTLS
        self.localID = configuration.localID
        self.configuration = configuration
        self.group = group
        self.ownsGroup = ownsGroup
        self.server = server
        self.sink = sink
        self.events = events
        self.logger = logger
        self.executor = EventLoopExecutor(group.next())
    }

    /// Binds the listening socket and starts dialling every peer in `peers`.
    /// - Parameter group: event loops to run on; when nil the transport makes (and on
    ///   shutdown stops) its own single-threaded group. Pass a group of your own when jobs
    ///   on `executor` may still run after `shutdown()`.
    public static func start(
        configuration: TransportConfiguration,
        peers: [NodeID: PeerAddress] = [:],
        group: (any EventLoopGroup)? = nil,
        logger: Logger = Logger(label: "raft.transport")
    ) async throws -> RaftTransport {
        var logger = logger
        logger[metadataKey: "node"] = "\(configuration.localID)"
        let ownsGroup = group == nil
        let group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let budget = InboundBudget(limit: configuration.inbound.byteBudget, maxFrameSize: configuration.maxFrameSize,
                                   maxConnections: configuration.inbound.maxConnections)
        let (sink, events) = EventSink.make(
            lowWatermark: configuration.inboundLowWatermark, highWatermark: configuration.inboundHighWatermark,
            budget: budget)
        let server: TransportServer
        let relay = GreetingRelay()
        let tlsContexts: (server: NIOSSLContext, client: NIOSSLContext)?
        do {
            tlsContexts = try configuration.tls?.makeContexts()
            server = try await TransportServer.bind(
                configuration: configuration, group: group, sink: sink, greeted: relay.greeted,
                tls: tlsContexts.map { ($0.server, PeerAuthentication(isKnown: relay.knows)) }, logger: logger)
        } catch {
            sink.finish()
            if ownsGroup { try? await group.shutdownGracefully() }
            throw error
        }
        logger.info("listening", metadata: ["address": "\(server.localAddress.map { "\($0)" } ?? "?")"])
        let transport = RaftTransport(
            configuration: configuration, group: group, ownsGroup: ownsGroup,
            server: server, sink: sink, events: events, clientTLS: tlsContexts?.client, logger: logger)
        relay.attach(transport)
        transport.setPeers(peers)
        return transport
    }

    fileprivate func hasPeer(_ peer: NodeID) -> Bool {
        book.withLock { $0.connections[peer] != nil }
    }

    /// A peer completed a handshake on an inbound connection: it is up, so stop waiting
    /// out our backoff to reach it.
    fileprivate func peerIsUp(_ peer: NodeID) {
        book.withLock { $0.connections[peer] }?.peerIsUp()
    }

    // MARK: Sending

    /// Queues `messages` for their peers and returns at once. Each peer's share leaves in
    /// order, in one write and one flush. Messages to unknown or unreachable peers, or past a
    /// full queue, are dropped and the peer is reported in `events` as unreachable.
    public func send(_ messages: [Message]) {
        guard !messages.isEmpty else { return }
        var byPeer: [NodeID: [OutboundItem]] = [:]
        for message in messages where message.to != localID {
            byPeer[message.to, default: []].append(.message(message))
        }
        let connections = book.withLock { book in byPeer.keys.map { ($0, book.connections[$0]) } }
        for (peer, connection) in connections {
            if let connection {
                connection.enqueue(byPeer[peer]!)
            } else {
                logger.debug("no address for peer '\(peer)'; dropping \(byPeer[peer]!.count) messages")
                sink.report(.unreachable(peer))
            }
        }
    }

    public func send(_ message: Message) { send([message]) }

    /// Sends a request to `peer` (typically the leader) and waits for its reply.
    public func request(_ request: PeerRequest, to peer: NodeID, timeout: Duration = .seconds(5)) async throws -> PeerResponse {
        guard let connection = book.withLock({ $0.connections[peer] }) else { throw TransportError.unknownPeer(peer) }
        return try await connection.request(request, timeout: timeout)
    }

    /// `request(_:to:timeout:)` for a caller that should not make a task per request: `reply`
    /// is called exactly once, on a transport thread or the caller's, and must not block.
    public func request(_ request: PeerRequest, to peer: NodeID, timeout: Duration,
                        reply: @escaping @Sendable (Result<PeerResponse, any Error>) -> Void) {
        guard let connection = book.withLock({ $0.connections[peer] }) else {
            return reply(.failure(TransportError.unknownPeer(peer)))
        }
        connection.request(request, timeout: timeout, reply: reply)
    }

    // MARK: Address book

    /// The peers currently dialled and where.
    public var peerIDs: Set<NodeID> { book.withLock { Set($0.connections.keys) } }

    /// Adds a peer or moves it to a new address.
    /// Drops the connection to `peer` and redials (see `PeerConnection.reset`).
    public func resetConnection(to peer: NodeID, reason: String) {
        book.withLock { $0.connections[peer] }?.reset(reason: reason)
    }

    public func setPeer(_ peer: NodeID, address: PeerAddress) {
        guard peer != localID else { return }
        let created: PeerConnection? = book.withLock { book in
            guard !book.isShutDown else { return nil }
            if let existing = book.connections[peer] {
                existing.update(address: address)
                return nil
            }
            let connection = PeerConnection(
                peer: peer, address: address, configuration: configuration, tls: clientTLS,
                eventLoop: group.next(), sink: sink, logger: logger)
            book.connections[peer] = connection
            return connection
        }
        created?.start()
    }

    /// Forgets a peer (it left the cluster): its connection closes and is not redialled.
    public func removePeer(_ peer: NodeID) {
        guard let connection = book.withLock({ $0.connections.removeValue(forKey: peer) }) else { return }
        Task { await connection.close() }
    }

    /// Makes the address book exactly `book`: new peers are dialled, moved ones redialled,
    /// missing ones closed.
    public func setPeers(_ book: [NodeID: PeerAddress]) {
        for (peer, address) in book { setPeer(peer, address: address) }
        for peer in peerIDs where book[peer] == nil { removePeer(peer) }
    }

    // MARK: Shutdown

    /// Closes every connection, ends `events`, and stops the event loops if the transport
    /// made them. Pending requests fail with `TransportError.shutdown`. Calling it again does
    /// nothing.
    public func shutdown() async {
        let connections: [PeerConnection]? = book.withLock { book in
            guard !book.isShutDown else { return nil }
            book.isShutDown = true
            defer { book.connections.removeAll() }
            return Array(book.connections.values)
        }
        guard let connections else { return }
        for connection in connections { await connection.close() }
        await server.close()
        sink.finish()
        if ownsGroup { try? await group.shutdownGracefully() }
        logger.info("transport shut down")
    }
}

/// Carries the server's "a peer greeted us" (and "do you know this peer?") to the transport, which exists only once the
/// server is bound (weakly: the transport owns the server).
private final class GreetingRelay: Sendable {
    private struct Target { weak var transport: RaftTransport? }
    private let target = Mutex(Target())

    func attach(_ transport: RaftTransport) {
        target.withLock { $0.transport = transport }
    }

    @Sendable func greeted(_ peer: NodeID) {
        target.withLock { $0.transport }?.peerIsUp(peer)
    }

    /// Whether `peer` is in the transport's address book (false once it is gone).
    @Sendable func knows(_ peer: NodeID) -> Bool {
        target.withLock { $0.transport }?.hasPeer(peer) ?? false
    }
}
