import NIOCore
import NIOPosix
import RaftCore
import Testing
@testable import Transport

/// Real transports on 127.0.0.1 with ephemeral ports. Every test waits on outcomes with a
/// deadline and shuts its transports and event loops down, also when it fails.
@Suite(.timeLimit(.minutes(3))) struct LoopbackTests {
    /// Messages with their sequence number in `term`, so order and content are both checked.
    private func numbered(_ count: Int, from: NodeID, to: NodeID, seed: UInt64) -> [Message] {
        var generator = MessageGenerator(seed: seed, maxDataSize: 48, maxEntries: 2)
        return (0..<count).map { index in
            var message = generator.message(from: from, to: to)
            message.term = UInt64(index)
            return message
        }
    }

    @Test func hundredThousandMessagesArriveInOrder() async throws {
        var a = testConfiguration("a")
        var b = testConfiguration("b")
        for index in [0, 1] {
            // Small inbound watermarks make the consumers' pace pause and resume socket reads
            // many times during the run; large outbound queues let the senders run ahead.
            var configuration = index == 0 ? a : b
            configuration.inboundHighWatermark = 64
            configuration.inboundLowWatermark = 16
            configuration.outboundQueueLimit = 100_000
            if index == 0 { a = configuration } else { b = configuration }
        }
        try await withTransports([a, b]) { transports in
            let (alpha, beta) = (transports[0], transports[1])
            let alphaLog = EventLog(alpha)
            let betaLog = EventLog(beta)
            alpha.setPeer("b", address: try address(of: beta))
            beta.setPeer("a", address: try address(of: alpha))

            let toBeta = numbered(50_000, from: "a", to: "b", seed: 11)
            let toAlpha = numbered(50_000, from: "b", to: "a", seed: 12)
            for start in stride(from: 0, to: 50_000, by: 500) {
                alpha.send(Array(toBeta[start..<(start + 500)]))
                beta.send(Array(toAlpha[start..<(start + 500)]))
            }
            try await eventually("100,000 messages", timeout: .seconds(120)) {
                betaLog.read { $0.messages.count } >= 50_000 && alphaLog.read { $0.messages.count } >= 50_000
            }
            #expect(betaLog.read { $0.messages } == toBeta)
            #expect(alphaLog.read { $0.messages } == toAlpha)
            #expect(alphaLog.read { $0.unreachable }.isEmpty)
            #expect(betaLog.read { $0.unreachable }.isEmpty)
        }
    }

    /// Has `alpha` reach `beta` once, then shuts `beta` down and waits until `alpha` noticed.
    private func deliverThenShutDown(from alpha: RaftTransport, to beta: RaftTransport) async throws -> (Message, PeerAddress) {
        let alphaLog = EventLog(alpha)
        let betaLog = EventLog(beta)
        let betaAddress = try address(of: beta)
        alpha.setPeer("b", address: betaAddress)
        let ping = Message(from: "a", to: "b", term: 1, body: .heartbeat(Heartbeat(commit: 1)))
        alpha.send(ping)
        try await eventually("first delivery") { betaLog.read { !$0.messages.isEmpty } }
        await beta.shutdown()
        try await eventually("loss reported") { alphaLog.read { $0.unreachable.contains("b") } }
        return (ping, betaAddress)
    }

    @Test func reconnectsAfterThePeerRestarts() async throws {
        try await withTransports([testConfiguration("a"), testConfiguration("b")]) { transports in
            let alpha = transports[0]
            let (ping, betaAddress) = try await deliverThenShutDown(from: alpha, to: transports[1])

            let restarted = try await RaftTransport.start(configuration: testConfiguration("b", port: betaAddress.port))
            do {
                let restartedLog = EventLog(restarted)
                // Like Raft's heartbeats, keep sending: messages sent while the link is down are
                // dropped by design, and the first one after the redial must get through.
                try await eventually("delivery after restart") {
                    alpha.send(ping)
                    return restartedLog.read { !$0.messages.isEmpty }
                }
                #expect(restartedLog.read { $0.messages.first } == ping)
                await restarted.shutdown()
            } catch {
                await restarted.shutdown()
                throw error
            }
        }
    }

    @Test func aRestartedPeerThatDialsUsIsRedialedWithoutWaitingOutTheBackoff() async throws {
        var patient = testConfiguration("a")
        // Only the restarted peer's own dial can explain a reconnection within this test.
        patient.reconnectBackoff = ReconnectBackoff(initial: .seconds(600), maximum: .seconds(600))
        try await withTransports([patient, testConfiguration("b")]) { transports in
            let alpha = transports[0]
            let (ping, betaAddress) = try await deliverThenShutDown(from: alpha, to: transports[1])

            let restarted = try await RaftTransport.start(configuration: testConfiguration("b", port: betaAddress.port),
                                                          peers: ["a": try address(of: alpha)])
            do {
                let restartedLog = EventLog(restarted)
                restarted.send([Message(from: "b", to: "a", term: 1, body: .heartbeatResponse(HeartbeatResponse()))])
                try await eventually("delivery after the peer dialed us") {
                    alpha.send(ping)
                    return restartedLog.read { !$0.messages.isEmpty }
                }
                await restarted.shutdown()
            } catch {
                await restarted.shutdown()
                throw error
            }
        }
    }

    @Test func wrongClusterIsRefusedAndLoggedOnBothSides() async throws {
        let logs = LogCapture()
        let configurations = [testConfiguration("a", cluster: "alpha"), testConfiguration("b", cluster: "beta")]
        try await withTransports(configurations, logs: logs) { transports in
            let (alpha, beta) = (transports[0], transports[1])
            let alphaLog = EventLog(alpha)
            let betaLog = EventLog(beta)
            alpha.setPeer("b", address: try address(of: beta))
            alpha.send(Message(from: "a", to: "b", term: 1, body: .timeoutNow))

            try await eventually("refusal reported to the dialler") { alphaLog.read { !$0.refusals.isEmpty } }
            let refusal = try #require(alphaLog.read { $0.refusals.first })
            #expect(refusal.peer == "b")
            #expect(refusal.reason.contains("alpha"))
            #expect(logs.contains("refused connection from 'a'"))
            #expect(logs.contains("peer refused the handshake"))
            #expect(betaLog.read { $0.messages }.isEmpty)
        }
    }

    @Test func unknownProtocolVersionIsRefused() async throws {
        let logs = LogCapture()
        try await withTransports([testConfiguration("b")], logs: logs) { transports in
            let reply = try await withEventLoopGroup { group in
                let raw = try await RawPeer.connect(port: try #require(transports[0].port), group: group)
                var hello = ByteBuffer()
                Handshake(version: WireProtocol.version + 1, clusterID: "test-cluster", sender: "x").writeFrame(into: &hello)
                try await raw.write(hello)
                try await eventually("connection closed") { raw.isClosed }
                return try #require(try raw.frames().first)
            }
            #expect(reply.type == .handshakeReject)
            #expect(try HandshakeRefusal.decode(reply.payload).code == HandshakeRefusal.unsupportedVersion(0).code)
            #expect(logs.contains("unsupported protocol version \(WireProtocol.version + 1)"))
        }
    }

    /// Byte streams a broken peer might send after (or instead of) a valid handshake. Each
    /// must close that connection with a log line and leave the node serving others.
    static let badStreams: [(name: String, bytes: @Sendable (ByteBuffer) -> ByteBuffer)] = [
        ("oversized frame", { hello in
            var bytes = hello
            bytes.writeInteger(UInt32(1025), endianness: .little)
            bytes.writeInteger(FrameType.append.rawValue)
            return bytes
        }),
        ("truncated payload", { hello in
            var bytes = hello
            bytes.writeFrame(.heartbeat) { $0.writeWire(NodeID("x")) }
            return bytes
        }),
        ("unknown frame type", { hello in
            var bytes = hello
            bytes.writeInteger(UInt32(1), endianness: .little)
            bytes.writeInteger(UInt8(0xEE))
            return bytes
        }),
        ("message claiming another sender", { hello in
            var bytes = hello
            RaftMessageCodec.writeFrame(Message(from: "y", to: "b", term: 1, body: .timeoutNow), into: &bytes)
            return bytes
        }),
        ("no handshake", { _ in ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n") }),
    ]

    @Test(arguments: 0..<badStreams.count)
    func malformedStreamClosesOnlyThatConnection(index: Int) async throws {
        let logs = LogCapture()
        var configuration = testConfiguration("b")
        configuration.maxFrameSize = 1024
        try await withTransports([testConfiguration("a"), configuration], logs: logs) { transports in
            let (alpha, beta) = (transports[0], transports[1])
            let betaLog = EventLog(beta)
            try await withEventLoopGroup { group in
                let raw = try await RawPeer.connect(port: try #require(beta.port), group: group)
                var hello = ByteBuffer()
                Handshake(clusterID: "test-cluster", sender: "x").writeFrame(into: &hello)
                try await raw.write(Self.badStreams[index].bytes(hello))
                try await eventually("\(Self.badStreams[index].name) closes the connection") { raw.isClosed }
            }
            #expect(logs.contains("closing inbound connection"), "\(Self.badStreams[index].name)")

            alpha.setPeer("b", address: try address(of: beta))
            alpha.send(Message(from: "a", to: "b", term: 3, body: .heartbeat(Heartbeat(commit: 3))))
            try await eventually("the node still serves a good peer") { betaLog.read { $0.messages.count == 1 } }
        }
    }

    @Test func forwardedRequestsGetTheirOwnReplies() async throws {
        try await withTransports([testConfiguration("a"), testConfiguration("b")]) { transports in
            let (alpha, beta) = (transports[0], transports[1])
            _ = EventLog(beta) { incoming in
                switch incoming.request {
                case .propose(let command) where command.isEmpty: incoming.respond(.failure(code: 7, message: "empty"))
                case .propose(let command): incoming.respond(.proposeResult(command.reversed()))
                case .proposeOnBehalf(let command, let identity): incoming.respond(.proposeResult(command + Array(identity.utf8)))
                case .proposeBatch(let proposals):
                    incoming.respond(.proposeResults(proposals.map { proposal in
                        proposal.identity.map { .failure(code: 9, message: $0) } ?? .result(proposal.command.reversed())
                    }))
                }
            }
            alpha.setPeer("b", address: try address(of: beta))

            #expect(try await alpha.request(.propose(command: []), to: "b", timeout: answerDeadline) == .failure(code: 7, message: "empty"))
            let replies = try await withThrowingTaskGroup(of: (UInt8, PeerResponse).self) { group in
                for value in UInt8(0)..<100 {
                    group.addTask { (value, try await alpha.request(.propose(command: [value, 7]), to: "b", timeout: answerDeadline)) }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            #expect(replies.count == 100)
            for (value, reply) in replies { #expect(reply == .proposeResult([7, value])) }
            let batch = PeerRequest.proposeBatch([ForwardedProposal(command: [1, 2]), ForwardedProposal(command: [3], identity: "app")])
            #expect(try await alpha.request(batch, to: "b", timeout: answerDeadline) == .proposeResults([.result([2, 1]), .failure(code: 9, message: "app")]))
            await #expect(throws: TransportError.unknownPeer("z")) { try await alpha.request(.propose(command: [1]), to: "z", timeout: answerDeadline) }
        }
    }

    @Test func unansweredRequestsTimeOutAndFailWhenTheConnectionDrops() async throws {
        try await withTransports([testConfiguration("a"), testConfiguration("b")]) { transports in
            let (alpha, beta) = (transports[0], transports[1])
            let betaLog = EventLog(beta)
            alpha.setPeer("b", address: try address(of: beta))

            await #expect(throws: TransportError.timedOut) {
                try await alpha.request(.propose(command: [0]), to: "b", timeout: .milliseconds(300))
            }
            let pending = Task { try await alpha.request(.propose(command: [1]), to: "b", timeout: .seconds(60)) }
            try await eventually("the request reached b") { betaLog.read { $0.requests.count == 2 } }
            await beta.shutdown()
            await #expect(throws: TransportError.peerUnreachable("b")) { try await pending.value }
        }
    }

    @Test func unreachableAndUnknownPeersAreReported() async throws {
        // A port that was just free: bind, note it, close.
        let deadPort = try await withEventLoopGroup { group in
            let placeholder = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
            defer { placeholder.close(promise: nil) }
            return try #require(placeholder.localAddress?.port)
        }

        try await withTransports([testConfiguration("a")]) { transports in
            let alpha = transports[0]
            let log = EventLog(alpha)
            alpha.setPeer("ghost", address: PeerAddress(host: "127.0.0.1", port: deadPort))
            alpha.send(Message(from: "a", to: "stranger", term: 1, body: .timeoutNow))
            try await eventually("unknown peer reported") { log.read { $0.unreachable.contains("stranger") } }
            try await eventually("dead peer reported") {
                alpha.send(Message(from: "a", to: "ghost", term: 1, body: .timeoutNow))
                return log.read { $0.unreachable.contains("ghost") }
            }
            await #expect(throws: TransportError.peerUnreachable("ghost")) {
                try await alpha.request(.propose(command: [1]), to: "ghost", timeout: .seconds(30))
            }
        }
    }

    /// A peer that stops reading must cost the sender bounded memory and never block `send`:
    /// once its queue is full, messages are dropped and the peer is reported unreachable.
    @Test func slowPeerFillsItsQueueThenDrops() async throws {
        var sender = testConfiguration("a")
        sender.outboundQueueLimit = 32
        var stalled = testConfiguration("b")
        stalled.inboundHighWatermark = 4
        stalled.inboundLowWatermark = 1
        try await withTransports([sender, stalled]) { transports in
            let (alpha, beta) = (transports[0], transports[1])
            let alphaLog = EventLog(alpha)
            alpha.setPeer("b", address: try address(of: beta))
            // Nobody consumes b's events, so b stops reading and the bytes back up to a.
            let chunk = SnapshotChunk(metadata: SnapshotMetadata(index: 1, term: 1), offset: 0,
                                      data: [UInt8](repeating: 0xAB, count: 64 * 1024), isLast: false)
            let message = Message(from: "a", to: "b", term: 1, body: .snapshot(chunk))
            try await eventually("drops reported") {
                alpha.send(Array(repeating: message, count: 16))
                return alphaLog.read { $0.unreachable.contains("b") }
            }
        }
    }

    /// A message too large for a frame is dropped (and logged) at the sender; the messages
    /// around it still arrive, because the connection itself is never handed a bad frame.
    @Test func oversizedMessageIsDroppedAtTheSender() async throws {
        let logs = LogCapture()
        var sender = testConfiguration("a")
        sender.maxFrameSize = 1024
        try await withTransports([sender, testConfiguration("b")], logs: logs) { transports in
            let (alpha, beta) = (transports[0], transports[1])
            let betaLog = EventLog(beta)
            alpha.setPeer("b", address: try address(of: beta))
            let big = SnapshotChunk(metadata: SnapshotMetadata(index: 1, term: 1), offset: 0,
                                    data: [UInt8](repeating: 1, count: 2000), isLast: true)
            let before = Message(from: "a", to: "b", term: 1, body: .heartbeat(Heartbeat(commit: 1)))
            let after = Message(from: "a", to: "b", term: 2, body: .heartbeat(Heartbeat(commit: 2)))
            alpha.send([before, Message(from: "a", to: "b", term: 1, body: .snapshot(big)), after])
            try await eventually("both small messages") { betaLog.read { $0.messages.count == 2 } }
            #expect(betaLog.read { $0.messages } == [before, after])
            #expect(logs.contains("over the 1024-byte limit"))
        }
    }

    /// Membership changes move peers: after `setPeer` with a new address the next dial goes
    /// there.
    @Test func addressBookUpdatesRedial() async throws {
        try await withTransports([testConfiguration("a"), testConfiguration("b"), testConfiguration("b")]) { transports in
            let (alpha, oldBeta, newBeta) = (transports[0], transports[1], transports[2])
            let oldLog = EventLog(oldBeta)
            let newLog = EventLog(newBeta)
            let ping = Message(from: "a", to: "b", term: 1, body: .timeoutNow)
            alpha.setPeer("b", address: try address(of: oldBeta))
            alpha.send(ping)
            try await eventually("delivery to the old address") { oldLog.read { $0.messages.count == 1 } }

            alpha.setPeer("b", address: try address(of: newBeta))
            try await eventually("delivery to the new address") {
                alpha.send(ping)
                return newLog.read { !$0.messages.isEmpty }
            }
            alpha.removePeer("b")
            #expect(alpha.peerIDs.isEmpty)
            await #expect(throws: TransportError.unknownPeer("b")) { try await alpha.request(.propose(command: [1]), to: "b", timeout: answerDeadline) }
        }
    }
}
