import NIOCore
import NIOPosix
import RaftCore
import Testing
@testable import Transport

/// What a stranger on the Raft port can make a node hold: frames before the handshake,
/// connections, buffered bytes, log lines. Each test opens raw connections as a hostile peer
/// would and checks the node refuses, closes or pauses, and still serves a good peer after.
@Suite(.timeLimit(.minutes(3))) struct InboundLimitsTests {
    private func hello(_ sender: NodeID) -> ByteBuffer {
        var bytes = ByteBuffer()
        Handshake(clusterID: "test-cluster", sender: sender).writeFrame(into: &bytes)
        return bytes
    }

    /// One append frame from `from` to "b" carrying `dataSize` bytes of entry data.
    private func appendFrame(from: NodeID, dataSize: Int) -> ByteBuffer {
        var bytes = ByteBuffer()
        let entry = Entry(term: 1, index: 1, data: [UInt8](repeating: 7, count: dataSize))
        let append = AppendRequest(prevLogIndex: 0, prevLogTerm: 0, entries: [entry], leaderCommit: 0)
        RaftMessageCodec.writeFrame(Message(from: from, to: "b", term: 1, body: .append(append)), into: &bytes)
        return bytes
    }

    private func handshakeAccepted(_ raw: RawPeer) -> Bool {
        ((try? raw.frames()) ?? []).contains { $0.type == .handshakeAccept }
    }

    @Test func aFrameOverThePreHandshakeLimitClosesTheConnectionAtOnce() async throws {
        let logs = LogCapture()
        try await withTransports([testConfiguration("b")], logs: logs) { transports in
            let beta = transports[0]
            let betaLog = EventLog(beta)
            try await withEventLoopGroup { group in
                let raw = try await RawPeer.connect(port: try #require(beta.port), group: group)
                var header = ByteBuffer()
                header.writeInteger(UInt32(4 * 1024 + 1), endianness: .little)
                header.writeInteger(FrameType.handshake.rawValue)
                try await raw.write(header)
                // The test configuration waits 60 s for a handshake: only the length check
                // can close this connection within the deadline.
                try await eventually("oversized pre-handshake frame closes the connection") { raw.isClosed }
                #expect(logs.contains("outside 1...4096"))

                // After a handshake the normal maximum applies.
                let member = try await RawPeer.connect(port: try #require(beta.port), group: group)
                var bytes = hello("x")
                var big = appendFrame(from: "x", dataSize: 64 * 1024)
                bytes.writeBuffer(&big)
                try await member.write(bytes)
                try await eventually("a large frame after the handshake arrives") { betaLog.read { $0.messages.count == 1 } }
                #expect(!member.isClosed)
            }
        }
    }

    @Test func aConnectionWithoutHandshakeIsClosedAtTheTimeout() async throws {
        var configuration = testConfiguration("b")
        configuration.handshakeTimeout = .milliseconds(200)
        let logs = LogCapture()
        try await withTransports([configuration], logs: logs) { transports in
            try await withEventLoopGroup { group in
                let raw = try await RawPeer.connect(port: try #require(transports[0].port), group: group)
                try await eventually("silent connection closed") { raw.isClosed }
                #expect(logs.contains("no handshake in time"))
                try await eventually("its slot is given back") { transports[0].inboundAdmission.counts.total == 0 }
            }
        }
    }

    @Test func connectionsPastTheUnauthenticatedCapAreClosed() async throws {
        var configuration = testConfiguration("b")
        configuration.inbound.maxUnauthenticatedConnections = 4
        try await withTransports([configuration]) { transports in
            let beta = transports[0]
            try await withEventLoopGroup { group in
                var waiting: [RawPeer] = []
                for _ in 0..<4 { waiting.append(try await RawPeer.connect(port: try #require(beta.port), group: group)) }
                try await eventually("four connections await their handshake") {
                    beta.inboundAdmission.counts.unauthenticated == 4
                }
                let extra = try await RawPeer.connect(port: try #require(beta.port), group: group)
                try await eventually("the fifth is closed") { extra.isClosed }
                #expect(waiting.allSatisfy { !$0.isClosed })

                // A completed handshake frees its slot for a newcomer.
                try await waiting[0].write(hello("x"))
                try await eventually("handshake accepted") { handshakeAccepted(waiting[0]) }
                try await eventually("slot freed") { beta.inboundAdmission.counts.unauthenticated == 3 }
                let newcomer = try await RawPeer.connect(port: try #require(beta.port), group: group)
                try await eventually("newcomer admitted") { beta.inboundAdmission.counts.unauthenticated == 4 }
                #expect(!newcomer.isClosed)
            }
        }
    }

    @Test func connectionsPastTheTotalCapAreClosedAndAPeerKeepsOnlyItsNewest() async throws {
        var configuration = testConfiguration("b")
        configuration.inbound.maxConnections = 6
        configuration.inbound.maxConnectionsPerPeer = 2
        try await withTransports([configuration]) { transports in
            let beta = transports[0]
            try await withEventLoopGroup { group in
                let port = try #require(beta.port)
                // Three connections as "x": the oldest is closed when the third shakes hands.
                var asX: [RawPeer] = []
                for _ in 0..<3 {
                    let raw = try await RawPeer.connect(port: port, group: group)
                    try await raw.write(hello("x"))
                    try await eventually("handshake accepted") { handshakeAccepted(raw) }
                    asX.append(raw)
                }
                try await eventually("the oldest connection of x is closed") { asX[0].isClosed }
                #expect(!asX[1].isClosed && !asX[2].isClosed)

                var others: [RawPeer] = []
                for index in 0..<4 {
                    let raw = try await RawPeer.connect(port: port, group: group)
                    try await raw.write(hello(NodeID("p\(index)")))
                    try await eventually("handshake accepted") { handshakeAccepted(raw) }
                    others.append(raw)
                }
                #expect(beta.inboundAdmission.counts.total == 6)
                let extra = try await RawPeer.connect(port: port, group: group)
                try await eventually("the seventh connection is closed") { extra.isClosed }
                #expect(others.allSatisfy { !$0.isClosed })
            }
        }
    }

    /// Twelve peers each send a whole 1 MiB frame while nobody consumes events: without a
    /// budget the node would hold all 12 MiB. With it, the bytes held never pass the budget,
    /// some connections wait, and once the consumer drains every frame still arrives.
    @Test func inboundBytesStayWithinTheBudgetAndEveryFrameArrivesOnceDrained() async throws {
        var configuration = testConfiguration("b")
        configuration.maxFrameSize = 1024 * 1024 + 1024
        configuration.inbound.maxConnections = 16
        configuration.inbound.byteBudget = 0  // raised to the smallest safe budget
        let senders = 12
        try await withTransports([configuration]) { transports in
            let beta = transports[0]
            let budget = beta.inboundBudget
            #expect(budget.limit < 3 * 1024 * 1024)
            try await withEventLoopGroup { group in
                var peers: [RawPeer] = []
                for index in 0..<senders {
                    let raw = try await RawPeer.connect(port: try #require(beta.port), group: group)
                    var bytes = hello(NodeID("p\(index)"))
                    var frame = appendFrame(from: NodeID("p\(index)"), dataSize: 1024 * 1024)
                    bytes.writeBuffer(&frame)
                    // Not awaited: the node is expected to stop reading, so the write may not finish.
                    raw.channel.writeAndFlush(bytes, promise: nil)
                    peers.append(raw)
                }
                try await eventually("connections wait for room in the budget") {
                    budget.waitingCount > 0 && budget.used > budget.limit - 1024 * 1024 - 64 * 1024
                }
                #expect(budget.peak <= budget.limit)

                let betaLog = EventLog(beta)
                try await eventually("every frame arrives once the consumer drains", timeout: .seconds(60)) {
                    betaLog.read { $0.messages.count } == senders
                }
                #expect(budget.peak <= budget.limit)
                #expect(peers.allSatisfy { !$0.isClosed })
                try await eventually("bytes given back") { budget.used <= (senders + 1) * InboundBudget.readSize }
            }
        }
    }

    @Test func peerTextIsEscapedAndCut() {
        #expect(PeerText.escaped("node2") == "node2")
        #expect(PeerText.escaped("a\nb\u{1B}[31m\\") == "a\\x0ab\\x1b[31m\\x5c")
        #expect(PeerText.escaped("é") == "\\xc3\\xa9")
        let long = String(repeating: "x", count: 100)
        #expect(PeerText.escaped(long) == String(repeating: "x", count: 64) + "...(36 more bytes)")
        #expect(PeerText.escaped(long, limit: 100) == long)
    }

    @Test func refusalLinesAreThrottledAndCounted() {
        let throttle = LogThrottle(interval: .seconds(1))
        let start = ContinuousClock.now
        #expect(throttle.admit(now: start) == 0)
        #expect(throttle.admit(now: start + .milliseconds(10)) == nil)
        #expect(throttle.admit(now: start + .milliseconds(999)) == nil)
        #expect(throttle.admit(now: start + .seconds(1)) == 2)
        #expect(throttle.admit(now: start + .milliseconds(1500)) == nil)
        #expect(throttle.admit(now: start + .seconds(3)) == 1)
    }

    @Test func aRefusedHandshakeLogsTheSenderEscapedAndOneLinePerInterval() async throws {
        let logs = LogCapture()
        var configuration = testConfiguration("b")
        configuration.inbound.refusalLogInterval = .seconds(600)
        try await withTransports([configuration], logs: logs) { transports in
            try await withEventLoopGroup { group in
                for _ in 0..<3 {
                    let raw = try await RawPeer.connect(port: try #require(transports[0].port), group: group)
                    var bytes = ByteBuffer()
                    Handshake(clusterID: "other\ncluster", sender: NodeID("evil\nFAKE LINE" + String(repeating: "z", count: 200)))
                        .writeFrame(into: &bytes)
                    try await raw.write(bytes)
                    try await eventually("refused connection closed") { raw.isClosed }
                }
            }
        }
        let refusals = logs.all.filter { $0.contains("refused connection") }
        #expect(refusals.count == 1)
        let line = try #require(refusals.first)
        #expect(!line.contains("\n"))
        #expect(line.contains("evil\\x0aFAKE LINE"))
        #expect(line.contains("more bytes"))
        #expect(line.contains("other\\x0acluster"))
    }
}
