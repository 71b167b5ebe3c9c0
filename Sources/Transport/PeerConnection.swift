import Logging
import NIOCore
import NIOPosix
import NIOSSL
import RaftCore
import Synchronization

/// The one outbound connection to a peer. It dials, shakes hands, and redials with capped
/// exponential backoff for as long as the peer is in the address book. Senders only touch a
/// bounded queue under a lock; encoding and writing happen on the connection's event loop,
/// one write per batch, so the Raft loop never waits on the network.
final class PeerConnection: Sendable {
    let peer: NodeID
    private let configuration: TransportConfiguration
    /// Set when connections run over TLS (see `OutboundPeerHandler` for what is checked).
    private let tls: NIOSSLContext?
    private let eventLoop: any EventLoop
    private let sink: EventSink
    private let logger: Logger
    private let state: Mutex<State>

    private enum Phase {
        /// Dialling or shaking hands: messages queue, to leave once the handshake succeeds.
        case connecting
        case ready
        /// Known to be down until the next attempt: messages are dropped at once.
        case backingOff
        case closed
    }

    private struct Waiter {
        var reply: @Sendable (Result<PeerResponse, any Error>) -> Void
        var deadline: Scheduled<Void>
    }

    private struct State {
        var address: PeerAddress
        var phase = Phase.connecting
        /// Bumped for each dial; callbacks from an older channel see a stale value and do nothing.
        var generation: UInt64 = 0
        var channel: (any Channel)?
        var reconnect: Scheduled<Void>?
        var attempt = 0
        var queue: [OutboundItem] = []
        var queuedBytes = 0
        var flushScheduled = false
        var unreachableReported = false
        var waiters: [UInt64: Waiter] = [:]
        var nextRequestID: UInt64 = 1
        var random = SystemRandomNumberGenerator()
    }

    init(peer: NodeID, address: PeerAddress, configuration: TransportConfiguration, tls: NIOSSLContext? = nil,
         eventLoop: any EventLoop, sink: EventSink, logger: Logger) {
        self.peer = peer
        self.configuration = configuration
        self.tls = tls
        self.eventLoop = eventLoop
        self.sink = sink
        var logger = logger
        logger[metadataKey: "peer"] = "\(peer)"
        self.logger = logger
        self.state = Mutex(State(address: address))
    }

    func start() {
        eventLoop.execute { self.connect() }
    }

    // MARK: Sending

    /// Queues `items` in order, dropping the tail once the queue is full or the peer is known
    /// to be down. Returns false if anything was dropped.
    @discardableResult
    func enqueue(_ items: some Collection<OutboundItem>) -> Bool {
        var accepted = 0
        var reportUnreachable = false
        var scheduleFlush = false
        state.withLock { state in
            if state.phase == .connecting || state.phase == .ready {
                for item in items {
                    let size = item.estimatedSize
                    let fits = state.queue.isEmpty
                        || (state.queue.count < configuration.outboundQueueLimit
                            && state.queuedBytes + size <= configuration.outboundQueueByteLimit)
                    guard fits else { break }
                    state.queue.append(item)
                    state.queuedBytes += size
                    accepted += 1
                }
            }
            if accepted < items.count, !state.unreachableReported {
                state.unreachableReported = true
                reportUnreachable = true
            }
            if accepted > 0, state.phase == .ready, !state.flushScheduled {
                state.flushScheduled = true
                scheduleFlush = true
            }
        }
        if reportUnreachable {
            logger.debug("dropped \(items.count - accepted) outbound items; reporting peer unreachable")
            sink.report(.unreachable(peer))
        }
        if scheduleFlush { eventLoop.execute { self.flush() } }
        return accepted == items.count
    }

    /// Writes everything queued as one batch with a single flush. Waits (leaving the queue to
    /// fill and then drop) while the socket is not writable, so a slow peer costs bounded memory.
    func flush() {
        guard eventLoop.inEventLoop else {
            eventLoop.execute { self.flush() }
            return
        }
        let batch: (channel: any Channel, items: [OutboundItem], bytes: Int)? = state.withLock { state in
            state.flushScheduled = false
            guard state.phase == .ready, let channel = state.channel, channel.isWritable, !state.queue.isEmpty else {
                return nil
            }
            var items: [OutboundItem] = []
            swap(&items, &state.queue)
            defer { state.queuedBytes = 0 }
            state.unreachableReported = false
            return (channel, items, state.queuedBytes)
        }
        guard let batch else { return }
        write(batch.items, estimatedBytes: batch.bytes, to: batch.channel)
    }

    private func write(_ items: [OutboundItem], estimatedBytes: Int, to channel: any Channel) {
        // Large batches go out in slices so no single buffer grows with the queue limit.
        let slice = 256 * 1024
        var buffer = channel.allocator.buffer(capacity: min(estimatedBytes, slice))
        for item in items {
            let start = buffer.writerIndex
            item.writeFrame(into: &buffer)
            let frameLength = buffer.writerIndex - start - FrameHeader.lengthSize
            if frameLength > configuration.maxFrameSize {
                buffer.moveWriterIndex(to: start)
                logger.error("dropping an outbound frame of \(frameLength) bytes: over the \(configuration.maxFrameSize)-byte limit")
                if case .request(let id, _) = item { resolve(id, with: .failure(TransportError.peerUnreachable(peer))) }
                continue
            }
            if buffer.readableBytes >= slice {
                channel.write(buffer, promise: nil)
                buffer = channel.allocator.buffer(capacity: slice)
            }
        }
        channel.writeAndFlush(buffer, promise: nil)
    }

    // MARK: Requests

    /// Sends `request` and waits for the reply. Fails on timeout, on cancellation, and as soon
    /// as the connection it went out on drops (a reply can then no longer arrive).
    func request(_ request: PeerRequest, timeout: Duration) async throws -> PeerResponse {
        let id = nextRequestID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                send(request, id: id, timeout: timeout) { continuation.resume(with: $0) }
                // Cancelled before the waiter was registered: `onCancel` found nothing to resolve.
                if Task.isCancelled { resolve(id, with: .failure(CancellationError())) }
            }
        } onCancel: {
            self.resolve(id, with: .failure(CancellationError()))
        }
    }

    /// `request(_:timeout:)` for a caller that takes the reply where it arrives: `reply` is
    /// called exactly once, on this connection's event loop or the caller's thread, with the
    /// same outcomes. No task is made for the wait.
    func request(_ request: PeerRequest, timeout: Duration,
                 reply: @escaping @Sendable (Result<PeerResponse, any Error>) -> Void) {
        send(request, id: nextRequestID(), timeout: timeout, reply: reply)
    }

    private func nextRequestID() -> UInt64 {
        state.withLock { state in
            defer { state.nextRequestID &+= 1 }
            return state.nextRequestID
        }
    }

    private func send(_ request: PeerRequest, id: UInt64, timeout: Duration,
                      reply: @escaping @Sendable (Result<PeerResponse, any Error>) -> Void) {
        let deadline = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            self.resolve(id, with: .failure(TransportError.timedOut))
        }
        state.withLock { $0.waiters[id] = Waiter(reply: reply, deadline: deadline) }
        if !enqueue(CollectionOfOne(.request(id: id, request))) {
            resolve(id, with: .failure(TransportError.peerUnreachable(peer)))
        }
    }

    func complete(requestID: UInt64, with response: PeerResponse) {
        resolve(requestID, with: .success(response))
    }

    private func resolve(_ id: UInt64, with result: Result<PeerResponse, any Error>) {
        guard let waiter = state.withLock({ $0.waiters.removeValue(forKey: id) }) else { return }
        waiter.deadline.cancel()
        waiter.reply(result)
    }

    // MARK: Connection lifecycle

    private func connect() {
        let dial: (address: PeerAddress, generation: UInt64)? = state.withLock { state in
            guard state.phase != .closed else { return nil }
            state.generation += 1
            state.phase = .connecting
            state.channel = nil
            state.reconnect = nil
            return (state.address, state.generation)
        }
        guard let dial else { return }
        let hello = Handshake(clusterID: configuration.clusterID, sender: configuration.localID)
        let configuration = self.configuration
        let logger = self.logger
        let tls = self.tls
        TCPUserTimeout.set(configuration.peerSilenceTimeout, on: ClientBootstrap(group: eventLoop))
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: 256 * 1024, high: 1024 * 1024))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        // No host name: the peer's certificate is checked for its node id instead.
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil))
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(FrameDecoder(maxFrameSize: configuration.maxFrameSize)),
                        OutboundPeerHandler(
                            connection: self, generation: dial.generation, hello: hello, overTLS: tls != nil,
                            secret: configuration.clusterSecret, handshakeTimeout: configuration.handshakeTimeout, logger: logger))
                }
            }
            .connect(host: dial.address.host, port: dial.address.port)
            .whenComplete { result in
                switch result {
                case .success(let channel): self.connected(channel, generation: dial.generation)
                case .failure(let error): self.lost(generation: dial.generation, reason: "cannot connect to \(dial.address): \(error)")
                }
            }
    }

    private func connected(_ channel: any Channel, generation: UInt64) {
        let current = state.withLock { state in
            guard state.generation == generation, state.phase == .connecting else { return false }
            state.channel = channel
            return true
        }
        guard current else {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { _ in
            self.lost(generation: generation, reason: "connection closed")
        }
    }

    func handshakeAccepted(generation: UInt64, channel: any Channel) {
        let current = state.withLock { state in
            guard state.generation == generation, state.phase == .connecting else { return false }
            state.phase = .ready
            state.attempt = 0
            state.unreachableReported = false
            return true
        }
        guard current else { return }
        logger.info("connected", metadata: ["address": "\(channel.remoteAddress.map { "\($0)" } ?? "?")"])
        flush()
    }

    /// `byPeer`: the peer sent a refusal; otherwise this side refused the peer's part.
    func handshakeRefused(generation: UInt64, reason: String, byPeer: Bool = true) {
        guard state.withLock({ $0.generation == generation }) else { return }
        logger.error("\(byPeer ? "peer refused the handshake" : "refusing the peer's handshake"): \(PeerText.escaped(reason, limit: 256))")
        sink.report(.refused(peer: peer, reason: reason))
    }

    /// The dial failed or the connection closed: drop what was queued, fail waiting requests,
    /// tell Raft, and schedule the next attempt.
    private func lost(generation: UInt64, reason: String) {
        let outcome: (dropped: Int, waiters: [Waiter], wasReady: Bool, attempt: Int, delay: Duration, report: Bool)? =
            state.withLock { state in
                guard state.generation == generation, state.phase == .connecting || state.phase == .ready else {
                    return nil
                }
                let wasReady = state.phase == .ready
                let dropped = state.queue.count
                state.queue.removeAll()
                state.queuedBytes = 0
                let waiters = Array(state.waiters.values)
                state.waiters.removeAll()
                state.phase = .backingOff
                state.channel = nil
                state.attempt += 1
                let report = (wasReady || dropped > 0) && !state.unreachableReported
                if report { state.unreachableReported = true }
                let delay = configuration.reconnectBackoff.delay(attempt: state.attempt, using: &state.random)
                return (dropped, waiters, wasReady, state.attempt, delay, report)
            }
        guard let outcome else { return }
        for waiter in outcome.waiters {
            waiter.deadline.cancel()
            waiter.reply(.failure(TransportError.peerUnreachable(peer)))
        }
        if outcome.report { sink.report(.unreachable(peer)) }
        let line: Logger.Message = "\(reason); dropped \(outcome.dropped) queued; retry \(outcome.attempt) in \(outcome.delay)"
        if outcome.wasReady || outcome.attempt == 1 { logger.warning(line) } else { logger.debug(line) }

        let task = eventLoop.scheduleTask(in: TimeAmount(outcome.delay)) { self.connect() }
        state.withLock { state in
            if state.generation == generation, state.phase == .backingOff { state.reconnect = task } else { task.cancel() }
        }
    }

    /// Gives up the current connection (or dial) at once, as if it had failed: what is queued
    /// is dropped, Raft hears the peer is unreachable, and the redial follows the backoff.
    /// For a peer the runtime has heard nothing from for too long: a connection that carries
    /// nothing back is no connection, whatever the socket says.
    func reset(reason: String) {
        let channel = state.withLock { state in
            state.phase == .ready || state.phase == .connecting ? state.channel : nil
        }
        guard let channel else { return }
        logger.warning("resetting the connection: \(reason)")
        channel.close(promise: nil)
    }

    /// Points the connection at a new address: the current connection (if any) is dropped and
    /// the next dial goes to `address` without waiting out the backoff.
    func update(address: PeerAddress) {
        let change: (channel: (any Channel)?, reconnect: Scheduled<Void>?)? = state.withLock { state in
            guard state.address != address, state.phase != .closed else { return nil }
            state.address = address
            state.attempt = 0
            return (state.channel, state.reconnect)
        }
        guard let change else { return }
        logger.info("address changed to \(address)")
        if let channel = change.channel {
            channel.close(promise: nil)
        } else if let reconnect = change.reconnect {
            reconnect.cancel()
            eventLoop.execute { self.connect() }
        }
    }

    /// The peer just connected to us, so it is up: if we are waiting out a backoff to reach
    /// it, dial now. Without this a restarted peer would wait for our backoff (which grew
    /// while it was down) before hearing from us.
    func peerIsUp() {
        let reconnect: Scheduled<Void>? = state.withLock { state in
            guard state.phase == .backingOff, let reconnect = state.reconnect else { return nil }
            state.reconnect = nil
            state.attempt = 0
            return reconnect
        }
        guard let reconnect else { return }
        reconnect.cancel()
        logger.debug("peer connected to us; redialing now")
        eventLoop.execute { self.connect() }
    }

    /// Stops for good: cancels the pending redial, closes the channel, fails waiting requests.
    func close() async {
        let (channel, reconnect, waiters) = state.withLock { state in
            state.phase = .closed
            state.queue.removeAll()
            state.queuedBytes = 0
            defer { state.waiters.removeAll() }
            return (state.channel, state.reconnect, Array(state.waiters.values))
        }
        reconnect?.cancel()
        for waiter in waiters {
            waiter.deadline.cancel()
            waiter.reply(.failure(TransportError.shutdown))
        }
        try? await channel?.close()
    }
}
