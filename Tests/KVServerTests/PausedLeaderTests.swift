import Foundation
import HTTPTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A leader that was frozen (SIGSTOP) wakes up still believing it leads; ReadIndex must
/// keep it from answering a linearizable read with the value it holds locally.
@Suite("Paused leader")
struct PausedLeaderTests {
    @Test("after SIGSTOP/SIGCONT the old leader never serves the overwritten value")
    func pausedLeaderServesNoStaleRead() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let oldLeader = try await cluster.leader()
            let oldTerm = try await oldLeader.client.status().term
            try await oldLeader.client.putAcknowledged("pause", "old")
            try await eventually("every node to hold the old value") { () -> Bool? in
                for node in cluster.nodes {
                    let reply = try await node.client.get("pause", stale: true)
                    guard reply.object?["value"] as? String == "old" else { return nil }
                }
                return true
            }

            oldLeader.signal(SIGSTOP)
            let others = cluster.followers(of: oldLeader)
            let newLeader = try await cluster.leader(among: others, newerThan: oldTerm)
            try await newLeader.client.putAcknowledged("pause", "new")
            // Requests already waiting in the frozen leader's socket race its discovery that
            // it was deposed, the way a real client's would.
            let deadline = ContinuousClock.now + .seconds(30)
            var waiting: [HTTPExchange] = []
            for _ in 0..<8 {
                let exchange = try HTTPExchange(port: oldLeader.apiPort)
                try await exchange.send("GET", "/kv/pause", deadline: deadline)
                waiting.append(exchange)
            }
            oldLeader.signal(SIGCONT)

            // Right after waking it may still think it leads: every answer is the new value or a 503.
            var answers: [String] = []
            for request in waiting {
                let reply = try await request.reply(deadline: deadline)
                answers.append("\(reply.status) \(reply.text)")
                #expect(reply.status == 503 || (reply.status == 200 && reply.object?["value"] as? String == "new"),
                        "a request sent while paused was answered with: \(reply)")
            }
            let final = try await eventually("the old leader to answer the new value") { () -> String? in
                let reply = try await oldLeader.client.get("pause")
                let value = reply.object?["value"] as? String
                answers.append(reply.status == 200 ? "200 \(value ?? "?")" : "\(reply.status)")
                if reply.status == 200, value != "new" { throw Unexpected("stale read from the woken leader: \(reply)") }
                if reply.status != 200 && reply.status != 503 { throw Unexpected("unexpected answer: \(reply)") }
                return reply.status == 200 ? value : nil
            }
            #expect(final == "new", "answers: \(answers)")
        }
    }
}
