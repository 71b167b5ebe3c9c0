import Foundation
import NIOCore
import NIOPosix
import RaftCore
import Testing
@testable import Transport

/// The cluster-secret handshake between transports on 127.0.0.1 (Docs/TRANSPORT.md, "Cluster
/// secret"): the same secret connects, another secret or none is refused in both directions,
/// and a recorded answer is worth nothing on the next connection.
@Suite(.timeLimit(.minutes(3))) struct ClusterSecretTests {
    private static let secret = Array("correct horse battery staple".utf8)
    private static let otherSecret = Array("incorrect horse battery staple".utf8)

    private func configuration(_ id: NodeID, secret: [UInt8]?) throws -> TransportConfiguration {
        var configuration = testConfiguration(id)
        configuration.clusterSecret = try secret.map { try ClusterSecret($0) }
        return configuration
    }

    private func heartbeat(from: NodeID, to: NodeID, term: UInt64 = 1) -> Message {
        Message(from: from, to: to, term: term, body: .heartbeat(Heartbeat(commit: 0)))
    }

    @Test func theSameSecretConnectsBothWays() async throws {
        let a = try configuration("a", secret: Self.secret)
        let b = try configuration("b", secret: Self.secret)
        try await withTransports([a, b]) { transports in
            let (alpha, beta) = (transports[0], transports[1])
            let alphaLog = EventLog(alpha)
            let betaLog = EventLog(beta) { incoming in
                if case .propose(let command) = incoming.request { incoming.respond(.proposeResult(command.reversed())) }
            }
            alpha.setPeer("b", address: try address(of: beta))
            beta.setPeer("a", address: try address(of: alpha))
            alpha.send((1...20).map { heartbeat(from: "a", to: "b", term: $0) })
            beta.send(heartbeat(from: "b", to: "a"))
            try await eventually("messages both ways") {
                betaLog.read { $0.messages.count } == 20 && alphaLog.read { $0.messages.count } == 1
            }
            #expect(try await alpha.request(.propose(command: [1, 2]), to: "b", timeout: answerDeadline) == .proposeResult([2, 1]))
            #expect(alphaLog.read { $0.refusals.isEmpty } && betaLog.read { $0.refusals.isEmpty })
        }
    }

    @Test func anotherSecretIsRefusedBothWays() async throws {
        let logs = LogCapture()
        let a = try configuration("a", secret: Self.secret)
        let b = try configuration("b", secret: Self.otherSecret)
        try await withTransports([a, b], logs: logs) { transports in
            let (alpha, beta) = (transports[0], transports[1])
            let alphaLog = EventLog(alpha)
            let betaLog = EventLog(beta)
            alpha.setPeer("b", address: try address(of: beta))
            beta.setPeer("a", address: try address(of: alpha))
            alpha.send(heartbeat(from: "a", to: "b"))
            beta.send(heartbeat(from: "b", to: "a"))
            try await eventually("both dialers refused") {
                alphaLog.read { !$0.refusals.isEmpty } && betaLog.read { !$0.refusals.isEmpty }
            }
            for log in [alphaLog, betaLog] {
                let reason = try #require(log.read { $0.refusals.first?.reason })
                #expect(reason.contains("did not prove the cluster secret"), "\(reason)")
            }
            try await eventually("the refusal is logged") { logs.contains("refused connection from 'a'") && logs.contains("refused connection from 'b'") }
            alpha.send(heartbeat(from: "a", to: "b"))
            #expect(alphaLog.read { $0.messages.isEmpty } && betaLog.read { $0.messages.isEmpty })
        }
    }

    @Test func aSecretAndNoSecretRefuseEachOtherBothWays() async throws {
        let withSecret = try configuration("a", secret: Self.secret)
        let without = try configuration("b", secret: nil)
        try await withTransports([withSecret, without]) { transports in
            let (alpha, beta) = (transports[0], transports[1])
            let alphaLog = EventLog(alpha)
            let betaLog = EventLog(beta)
            alpha.setPeer("b", address: try address(of: beta))
            beta.setPeer("a", address: try address(of: alpha))
            alpha.send(heartbeat(from: "a", to: "b"))
            beta.send(heartbeat(from: "b", to: "a"))
            try await eventually("both sides refuse") {
                alphaLog.read { !$0.refusals.isEmpty } && betaLog.read { !$0.refusals.isEmpty }
            }
            // a dialled b: b accepted without a proof, so a would not go on.
            #expect(alphaLog.read { $0.refusals.contains { $0.reason.contains("accepted without proving the cluster secret") } })
            // b dialled a: a challenged, and b has nothing to answer with.
            #expect(betaLog.read { $0.refusals.contains { $0.reason.contains("has no --cluster-secret-file") } })
            alpha.send(heartbeat(from: "a", to: "b"))
            beta.send(heartbeat(from: "b", to: "a"))
            #expect(alphaLog.read { $0.messages.isEmpty } && betaLog.read { $0.messages.isEmpty })
        }
    }

    /// A raw peer that knows the secret completes a handshake; its answer, replayed on a new
    /// connection (as by someone who recorded the first), is refused: the challenge is new.
    @Test func aReplayedAnswerIsRefused() async throws {
        let logs = LogCapture()
        let secret = try ClusterSecret(Self.secret)
        try await withTransports([try configuration("b", secret: Self.secret)], logs: logs) { transports in
            let beta = transports[0]
            let betaLog = EventLog(beta)
            let port = try #require(beta.port)
            try await withEventLoopGroup { group in
                var hello = ByteBuffer()
                Handshake(clusterID: "test-cluster", sender: "x").writeFrame(into: &hello)

                let honest = try await RawPeer.connect(port: port, group: group)
                try await honest.write(hello)
                try await eventually("a challenge") { ((try? honest.frames()) ?? []).count == 1 }
                let challenge = try SecretChallenge.decode(try #require(try honest.frames().first).payload)
                let nonce = ClusterSecret.nonce()
                let answer = SecretResponse(nonce: nonce, proof: secret.proof(
                    .dialler, clusterID: "test-cluster", dialler: "x", acceptor: "b",
                    acceptorNonce: challenge.nonce, diallerNonce: nonce))
                var recorded = ByteBuffer()
                answer.writeFrame(into: &recorded)
                try await honest.write(recorded)
                try await eventually("the proof and the accept") { ((try? honest.frames()) ?? []).count == 3 }
                let frames = try honest.frames()
                #expect(frames.map(\.type) == [.secretChallenge, .secretProof, .handshakeAccept])
                let proof = try SecretProof.decode(frames[1].payload)
                #expect(secret.verify(proof.proof, .acceptor, clusterID: "test-cluster", dialler: "x", acceptor: "b",
                                      acceptorNonce: challenge.nonce, diallerNonce: nonce))

                let replayer = try await RawPeer.connect(port: port, group: group)
                try await replayer.write(hello)
                try await eventually("a challenge") { ((try? replayer.frames()) ?? []).count == 1 }
                let second = try SecretChallenge.decode(try #require(try replayer.frames().first).payload)
                #expect(second.nonce != challenge.nonce)
                try await replayer.write(recorded)
                try await eventually("the replay is refused and closed") { replayer.isClosed }
                let reply = try #require(try replayer.frames().last)
                #expect(reply.type == .handshakeReject)
                #expect(try HandshakeRefusal.decode(reply.payload).code == HandshakeRefusal.secretMismatch("x").code)
                try await eventually("the refusal is logged") { logs.contains("refused connection from 'x'") }
                #expect(beta.inboundAdmission.counts.total - beta.inboundAdmission.counts.unauthenticated == 1)
                _ = betaLog
            }
        }
    }

    /// A dialler that takes the challenge and never answers holds a pre-handshake slot until
    /// the handshake timeout, no longer.
    @Test func anUnansweredChallengeEndsAtTheHandshakeTimeout() async throws {
        var b = try configuration("b", secret: Self.secret)
        // Short, but long enough for a loaded machine to send the hello before it ends: with
        // the unit phase running every suite at once on two cores, 2 s once ran out between
        // the connect and the hello.
        b.handshakeTimeout = .seconds(6)
        try await withTransports([b]) { transports in
            let beta = transports[0]
            try await withEventLoopGroup { group in
                let raw = try await RawPeer.connect(port: try #require(beta.port), group: group)
                var hello = ByteBuffer()
                Handshake(clusterID: "test-cluster", sender: "x").writeFrame(into: &hello)
                try await raw.write(hello)
                try await eventually("a challenge") { ((try? raw.frames()) ?? []).count == 1 }
                // Challenged is not authenticated: the connection never leaves the pre-handshake slot.
                #expect(beta.inboundAdmission.counts.total - beta.inboundAdmission.counts.unauthenticated == 0)
                try await eventually("closed at the handshake timeout") { raw.isClosed }
                #expect(try raw.frames().map(\.type) == [.secretChallenge])
            }
        }
    }

    @Test func proofsAreBoundToTheirRoleAndEveryInput() throws {
        let secret = try ClusterSecret(Self.secret)
        let (nA, nD) = (ClusterSecret.nonce(), ClusterSecret.nonce())
        let proof = secret.proof(.dialler, clusterID: "c", dialler: "d", acceptor: "a", acceptorNonce: nA, diallerNonce: nD)
        #expect(secret.verify(proof, .dialler, clusterID: "c", dialler: "d", acceptor: "a", acceptorNonce: nA, diallerNonce: nD))
        #expect(!secret.verify(proof, .acceptor, clusterID: "c", dialler: "d", acceptor: "a", acceptorNonce: nA, diallerNonce: nD))
        #expect(!secret.verify(proof, .dialler, clusterID: "c2", dialler: "d", acceptor: "a", acceptorNonce: nA, diallerNonce: nD))
        #expect(!secret.verify(proof, .dialler, clusterID: "c", dialler: "a", acceptor: "d", acceptorNonce: nA, diallerNonce: nD))
        #expect(!secret.verify(proof, .dialler, clusterID: "c", dialler: "d", acceptor: "a", acceptorNonce: nD, diallerNonce: nA))
        let other = try ClusterSecret(Self.otherSecret)
        #expect(!other.verify(proof, .dialler, clusterID: "c", dialler: "d", acceptor: "a", acceptorNonce: nA, diallerNonce: nD))
        #expect(!secret.verify(Array(proof.dropLast()), .dialler, clusterID: "c", dialler: "d", acceptor: "a", acceptorNonce: nA, diallerNonce: nD))
    }

    @Test func theSecretFileMustHoldSixteenBytes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let short = directory.appendingPathComponent("short").path
        try "fifteen bytes!!\n".write(toFile: short, atomically: true, encoding: .utf8)
        #expect(throws: ClusterSecretError.tooShort(file: short, length: 15)) { try ClusterSecret.load(path: short) }
        let missing = directory.appendingPathComponent("missing").path
        #expect(throws: ClusterSecretError.unreadable(file: missing)) { try ClusterSecret.load(path: missing) }

        // A trailing newline is not part of the secret.
        let withNewline = directory.appendingPathComponent("a").path
        let without = directory.appendingPathComponent("b").path
        try "0123456789abcdef0123\n".write(toFile: withNewline, atomically: true, encoding: .utf8)
        try "0123456789abcdef0123".write(toFile: without, atomically: true, encoding: .utf8)
        let (one, two) = (try ClusterSecret.load(path: withNewline), try ClusterSecret.load(path: without))
        let (nA, nD) = (ClusterSecret.nonce(), ClusterSecret.nonce())
        let proof = one.proof(.dialler, clusterID: "c", dialler: "d", acceptor: "a", acceptorNonce: nA, diallerNonce: nD)
        #expect(two.verify(proof, .dialler, clusterID: "c", dialler: "d", acceptor: "a", acceptorNonce: nA, diallerNonce: nD))
    }
}
