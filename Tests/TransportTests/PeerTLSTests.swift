import Foundation
import NIOCore
import NIOPosix
import RaftCore
import TLSTestSupport
import Testing
@testable import Transport

/// Mutual TLS between transports on 127.0.0.1, with certificate authorities made in the
/// test: who is let in (a certificate from the trusted CA naming the sender id, a sender in
/// the address book), who is not, and that the inbound limits still hold behind TLS.
@Suite(.timeLimit(.minutes(3))) struct PeerTLSTests {
    private func heartbeat(from: NodeID, to: NodeID, term: UInt64 = 1) -> Message {
        Message(from: from, to: to, term: term, body: .heartbeat(Heartbeat(commit: 0)))
    }

    private func hello(_ sender: NodeID) -> ByteBuffer {
        var bytes = ByteBuffer()
        Handshake(clusterID: "test-cluster", sender: sender).writeFrame(into: &bytes)
        return bytes
    }

    @Test func twoTLSTransportsExchangeMessagesAndRequests() async throws {
        let authority = try TestCertificateAuthority()
        // One identity in the CN, the other in a SAN: both rules admit.
        let a = tlsConfiguration("a", tls: try peerTLS("a", signedBy: authority))
        let b = tlsConfiguration("b", tls: try peerTLS("b", san: true, signedBy: authority))
        try await withTransports([a, b]) { transports in
            let (alpha, beta) = (transports[0], transports[1])
            let alphaLog = EventLog(alpha)
            let betaLog = EventLog(beta) { incoming in
                if case .propose(let command) = incoming.request { incoming.respond(.proposeResult(command.reversed())) }
            }
            alpha.setPeer("b", address: try address(of: beta))
            beta.setPeer("a", address: try address(of: alpha))
            alpha.send((1...100).map { heartbeat(from: "a", to: "b", term: $0) })
            beta.send(heartbeat(from: "b", to: "a"))
            try await eventually("messages both ways") {
                betaLog.read { $0.messages.count } == 100 && alphaLog.read { $0.messages.count } == 1
            }
            #expect(betaLog.read { $0.messages.map(\.term) } == Array(1...100))
            #expect(try await alpha.request(.propose(command: [1, 2]), to: "b", timeout: answerDeadline) == .proposeResult([2, 1]))
            #expect(alphaLog.read { $0.refusals.isEmpty } && betaLog.read { $0.refusals.isEmpty })
        }
    }

    @Test func aCertificateFromAnotherCAIsRefused() async throws {
        let trusted = try TestCertificateAuthority()
        let stranger = try TestCertificateAuthority(name: "another CA")
        let logs = LogCapture()
        // "c" trusts b's CA (so it would accept b) but presents a certificate from another one.
        let b = tlsConfiguration("b", tls: try peerTLS("b", signedBy: trusted))
        let c = tlsConfiguration("c", tls: try peerTLS("c", signedBy: stranger, trusting: trusted))
        try await withTransports([b, c], logs: logs) { transports in
            let (beta, gamma) = (transports[0], transports[1])
            let betaLog = EventLog(beta)
            beta.setPeer("c", address: PeerAddress(host: "127.0.0.1", port: 1))  // c is a member as far as b knows
            gamma.setPeer("b", address: try address(of: beta))
            gamma.send(heartbeat(from: "c", to: "b"))
            try await eventually("b logs the failed TLS handshake") { logs.contains("TLS handshake failed") }
            gamma.send(heartbeat(from: "c", to: "b"))
            #expect(betaLog.read { $0.messages.isEmpty })
            #expect(beta.inboundAdmission.counts.total - beta.inboundAdmission.counts.unauthenticated == 0)
        }
    }

    @Test func aPeerWithoutAClientCertificateIsRefused() async throws {
        let authority = try TestCertificateAuthority()
        let logs = LogCapture()
        let b = tlsConfiguration("b", tls: try peerTLS("b", signedBy: authority))
        try await withTransports([b], logs: logs) { transports in
            let beta = transports[0]
            beta.setPeer("x", address: PeerAddress(host: "127.0.0.1", port: 1))
            let betaLog = EventLog(beta)
            try await withEventLoopGroup { group in
                let raw = try await RawPeer.connect(port: try #require(beta.port), group: group,
                                                    tls: try rawClientTLS(trusting: authority))
                try? await raw.write(hello("x"))
                try await eventually("a certificate-less connection is closed") { raw.isClosed }
                // The client may see the close before the server has logged why.
                try await eventually("b logs the failed TLS handshake") { logs.contains("TLS handshake failed") }
                #expect(!((try? raw.frames()) ?? []).contains { $0.type == .handshakeAccept })
                #expect(betaLog.read { $0.messages.isEmpty })
            }
        }
    }

    @Test func aCertificateForBClaimingToBeCIsRefused() async throws {
        let authority = try TestCertificateAuthority()
        let logs = LogCapture()
        let a = tlsConfiguration("a", tls: try peerTLS("a", signedBy: authority))
        // A transport that says it is "c" with b's certificate.
        let impostor = tlsConfiguration("c", tls: try peerTLS("b", signedBy: authority))
        try await withTransports([a, impostor], logs: logs) { transports in
            let (alpha, gamma) = (transports[0], transports[1])
            let alphaLog = EventLog(alpha)
            let gammaLog = EventLog(gamma)
            alpha.setPeer("b", address: PeerAddress(host: "127.0.0.1", port: 1))
            alpha.setPeer("c", address: PeerAddress(host: "127.0.0.1", port: 1))
            gamma.setPeer("a", address: try address(of: alpha))
            gamma.send(heartbeat(from: "c", to: "a"))
            try await eventually("the impostor hears why it was refused") { gammaLog.read { !$0.refusals.isEmpty } }
            let refusal = try #require(gammaLog.read { $0.refusals.first })
            #expect(refusal.reason.contains("'c' is not a name in its certificate (b)"), "\(refusal.reason)")
            try await eventually("the refusal is logged") { logs.contains("refused connection from 'c'") }
            #expect(alphaLog.read { $0.messages.isEmpty })
        }
    }

    @Test func aSenderOutsideTheAddressBookIsRefusedUntilItIsAdded() async throws {
        let authority = try TestCertificateAuthority()
        let a = tlsConfiguration("a", tls: try peerTLS("a", signedBy: authority))
        let d = tlsConfiguration("d", tls: try peerTLS("d", signedBy: authority))
        try await withTransports([a, d]) { transports in
            let (alpha, delta) = (transports[0], transports[1])
            let alphaLog = EventLog(alpha)
            let deltaLog = EventLog(delta)
            delta.setPeer("a", address: try address(of: alpha))
            delta.send(heartbeat(from: "d", to: "a"))
            try await eventually("d refused: a does not know it") { deltaLog.read { !$0.refusals.isEmpty } }
            #expect(deltaLog.read { $0.refusals.first?.reason.contains("not in this node's address book") } == true)
            #expect(alphaLog.read { $0.messages.isEmpty })

            // The change adding d applies at a: a dials d, d's redial is let in.
            alpha.setPeer("d", address: try address(of: delta))
            try await eventually("d's messages arrive once a knows it") {
                delta.send(heartbeat(from: "d", to: "a"))
                return alphaLog.read { !$0.messages.isEmpty }
            }
        }
    }

    @Test func aDiallerRefusesAServerWhoseCertificateNamesAnotherNode() async throws {
        let authority = try TestCertificateAuthority()
        let logs = LogCapture()
        let a = tlsConfiguration("a", tls: try peerTLS("a", signedBy: authority))
        // Listening where a expects "b", with a certificate for "z".
        let b = tlsConfiguration("b", tls: try peerTLS("z", signedBy: authority))
        try await withTransports([a, b], logs: logs) { transports in
            let (alpha, beta) = (transports[0], transports[1])
            let betaLog = EventLog(beta)
            beta.setPeer("a", address: PeerAddress(host: "127.0.0.1", port: 1))
            alpha.setPeer("b", address: try address(of: beta))
            alpha.send(heartbeat(from: "a", to: "b"))
            try await eventually("a logs the wrong certificate") { logs.contains("certificate names [z], not 'b'") }
            #expect(betaLog.read { $0.messages.isEmpty })
        }
    }

    @Test func plaintextConnectionsToATLSPortAreRefusedAndLoggedOnce() async throws {
        let authority = try TestCertificateAuthority()
        let logs = LogCapture()
        var b = tlsConfiguration("b", tls: try peerTLS("b", signedBy: authority))
        b.inbound.refusalLogInterval = .seconds(600)
        try await withTransports([b], logs: logs) { transports in
            let beta = transports[0]
            beta.setPeer("x", address: PeerAddress(host: "127.0.0.1", port: 1))
            let betaLog = EventLog(beta)
            try await withEventLoopGroup { group in
                for _ in 0..<5 {
                    let raw = try await RawPeer.connect(port: try #require(beta.port), group: group)
                    try? await raw.write(hello("x"))
                    try await eventually("a plaintext connection is closed") { raw.isClosed }
                    #expect(!((try? raw.frames()) ?? []).contains { $0.type == .handshakeAccept })
                }
                try await eventually("every slot is given back") { beta.inboundAdmission.counts.total == 0 }
            }
            #expect(logs.all.filter { $0.contains("TLS handshake failed") }.count == 1, "\(logs.all)")
            #expect(betaLog.read { $0.messages.isEmpty })
        }
    }

    @Test func thePreHandshakeLimitsHoldBehindTLS() async throws {
        let authority = try TestCertificateAuthority()
        let logs = LogCapture()
        // b waits long for handshakes (only the frame cap can close its connection in time);
        // c gives up quickly.
        var b = tlsConfiguration("b", tls: try peerTLS("b", signedBy: authority))
        var c = tlsConfiguration("c", tls: try peerTLS("c", signedBy: authority))
        c.handshakeTimeout = .milliseconds(300)
        b.inbound.refusalLogInterval = .zero  // every closing is logged
        c.inbound.refusalLogInterval = .zero
        try await withTransports([b, c], logs: logs) { transports in
            let (beta, gamma) = (transports[0], transports[1])
            try await withEventLoopGroup { group in
                // A trusted certificate, then a frame header over the pre-handshake cap.
                let member = try rawClientTLS(trusting: authority, identity: try peerTLS("x", signedBy: authority))
                let raw = try await RawPeer.connect(port: try #require(beta.port), group: group, tls: member)
                var header = ByteBuffer()
                header.writeInteger(UInt32(4 * 1024 + 1), endianness: .little)
                header.writeInteger(FrameType.handshake.rawValue)
                try await raw.write(header)
                try await eventually("an oversized pre-handshake frame closes the connection") { raw.isClosed }
                try await eventually("the reason is logged") { logs.contains("outside 1...4096") }

                // A connection that never starts its TLS handshake is closed at the handshake timeout.
                let silent = try await RawPeer.connect(port: try #require(gamma.port), group: group)
                try await eventually("a silent connection is closed") { silent.isClosed }
                try await eventually("the reason is logged") { logs.contains("no handshake in time") }
                try await eventually("their slots are given back") {
                    beta.inboundAdmission.counts.total == 0 && gamma.inboundAdmission.counts.total == 0
                }
            }
        }
    }

    @Test func loadingNamesTheFileAtFault() throws {
        let authority = try TestCertificateAuthority()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("peer-tls-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try authority.writeFiles(commonName: "a", into: directory)
        let other = try authority.writeFiles(commonName: "b", into: directory)
        let loaded = try PeerTLS.load(certificateFile: files.certificate, keyFile: files.key, trustedCAFile: files.trustedCA)
        #expect(loaded.certificateChain.count == 1 && loaded.trustedRoots.count == 1)

        let missing = directory.appendingPathComponent("missing.pem").path
        #expect(throws: PeerTLSError.self) { try PeerTLS.load(certificateFile: missing, keyFile: files.key, trustedCAFile: files.trustedCA) }
        do {
            _ = try PeerTLS.load(certificateFile: files.certificate, keyFile: files.key, trustedCAFile: missing)
            Issue.record("a missing CA file was accepted")
        } catch {
            #expect("\(error)".contains(missing))
        }
        do {
            _ = try PeerTLS.load(certificateFile: files.certificate, keyFile: other.key, trustedCAFile: files.trustedCA)
            Issue.record("a key of another certificate was accepted")
        } catch {
            #expect("\(error)".contains(other.key))
        }
        do {
            _ = try PeerTLS.load(certificateFile: files.key, keyFile: files.key, trustedCAFile: files.trustedCA)
            Issue.record("a key file was accepted as a certificate")
        } catch {
            #expect("\(error)".contains(files.key))
        }
    }
}
