import Foundation
import HTTPTestSupport
import Testing

/// Compare-and-swap and transactions through real nodes (Docs/API.md, "Conditional writes"
/// and "Transactions"): the condition is decided when the entry is applied, so clients on
/// different nodes racing on one key never lose an update and never see half a transaction.
@Suite("Conditional writes and transactions")
struct CoordinationTests {
    @Test("If-Match, If-None-Match and if_revision decide on the key's revision; a failed condition is 412 with the current revision")
    func conditionalWrites() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            // Through a follower too: the condition travels with the forwarded write.
            let follower = try #require(cluster.followers(of: leader).first).client

            let created = try await follower.put("cw", "one", headers: ["If-None-Match": "*"])
            try #require(created.status == 200, "\(created)")
            let r1 = try #require(created.int("revision"))
            let read = try await follower.linearizableGet("cw")
            #expect(read.header("ETag") == "\"\(r1)\"", "\(read.headers)")
            #expect(read.int("revision") == r1 && read.int("create_revision") == r1 && read.int("version") == 1, "\(read)")
            #expect(read.storeRevision.map { $0 >= r1 } == true, "X-KV-Revision: \(read.headers)")

            let second = try await follower.put("cw", "two", headers: ["If-Match": "\"\(r1)\""])
            try #require(second.status == 200, "\(second)")
            let r2 = try #require(second.int("revision"))
            let afterSecond = try await leader.client.get("cw")
            #expect(afterSecond.int("create_revision") == r1 && afterSecond.int("version") == 2, "\(afterSecond)")

            func expectMismatch(_ reply: HTTPReply, key: String, current: Int, _ what: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(reply.status == 412, "\(what): \(reply)", sourceLocation: sourceLocation)
                #expect(reply.object?["error"] as? String == "revision mismatch", "\(what): \(reply)", sourceLocation: sourceLocation)
                #expect(reply.object?["key"] as? String == key, "\(what): \(reply)", sourceLocation: sourceLocation)
                #expect(reply.int("revision") == current, "\(what): \(reply)", sourceLocation: sourceLocation)
            }
            expectMismatch(try await follower.put("cw", "stale", headers: ["If-Match": "\"\(r1)\""]), key: "cw", current: r2,
                           "If-Match with an old revision")
            expectMismatch(try await leader.client.put("cw", "again", headers: ["If-None-Match": "*"]), key: "cw", current: r2,
                           "If-None-Match: * on a present key")
            expectMismatch(try await follower.put("cw", "q", headers: [:], query: "if_revision=\(r1)"), key: "cw", current: r2,
                           "if_revision with an old revision")
            expectMismatch(try await follower.put("cw-absent", "x", headers: ["If-Match": "\"\(r2)\""]), key: "cw-absent", current: 0,
                           "If-Match on an absent key")
            expectMismatch(try await follower.delete("cw", headers: ["If-Match": "\"\(r1)\""]), key: "cw", current: r2,
                           "DELETE with an old revision")
            let unchanged = try await leader.client.get("cw")
            #expect(unchanged.object?["value"] as? String == "two" && unchanged.int("revision") == r2, "no failed write applied: \(unchanged)")

            // Unquoted If-Match is accepted; if_revision=0 means "must be absent".
            let unquoted = try await follower.put("cw", "three", headers: ["If-Match": "\(r2)"])
            #expect(unquoted.status == 200, "\(unquoted)")
            let absentCreate = try await follower.put("cw-new", "n", headers: [:], query: "if_revision=0")
            #expect(absentCreate.status == 200, "\(absentCreate)")
            let absentAgain = try await follower.put("cw-new", "n2", headers: [:], query: "if_revision=0")
            expectMismatch(absentAgain, key: "cw-new", current: try #require(absentCreate.int("revision")), "if_revision=0 on a present key")

            let r3 = try #require(unquoted.int("revision"))
            let deleted = try await follower.delete("cw", headers: ["If-Match": "\"\(r3)\""])
            #expect(deleted.status == 200 && deleted.object?["deleted"] as? Bool == true, "\(deleted)")
            #expect(try await leader.client.linearizableGet("cw").status == 404)
        }
    }

    @Test("8 clients increment one counter through all three nodes with GET + If-Match, retrying on 412: the final value is the number of acknowledged increments")
    func counterUnderContention() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            let created = try await leader.client.put("counter", "0", headers: ["If-None-Match": "*"])
            try #require(created.status == 200, "\(created)")
            let clients = (0..<8).map { cluster.nodes[$0 % cluster.nodes.count].client }
            let perClient = 12

            let outcomes = try await withThrowingTaskGroup(of: IncrementOutcome.self) { group in
                for client in clients {
                    group.addTask { try await Self.increment(client, times: perClient) }
                }
                var all: [IncrementOutcome] = []
                for try await outcome in group { all.append(outcome) }
                return all
            }
            let acknowledged = outcomes.map(\.acknowledged).reduce(0, +)
            #expect(acknowledged == clients.count * perClient)
            for outcome in outcomes { #expect(outcome.badConflicts.isEmpty, "412 answers of the wrong shape: \(outcome.badConflicts)") }

            for node in cluster.nodes {
                let final = try await node.client.linearizableGet("counter")
                #expect(final.object?["value"] as? String == "\(acknowledged)",
                        "\(node.id): counter \(final) after \(acknowledged) acknowledged increments (\(outcomes.map(\.conflicts).reduce(0, +)) conflicts)")
                #expect(final.int("version") == acknowledged + 1, "one version per increment plus the creation: \(final)")
            }
        }
    }

    struct IncrementOutcome: Sendable {
        var acknowledged = 0
        var conflicts = 0
        var badConflicts: [String] = []
    }

    /// Read-modify-write until `times` increments are acknowledged. A request that met a
    /// 503 or a lost connection is retried with its Idempotency-Key, so each attempt ends in
    /// a definite 200 (counted) or 412 (not applied).
    static func increment(_ client: NodeHTTPClient, times: Int) async throws -> IncrementOutcome {
        var outcome = IncrementOutcome()
        while outcome.acknowledged < times {
            let current = try await client.linearizableGet("counter")
            guard current.status == 200, let etag = current.header("ETag"),
                  let value = (current.object?["value"] as? String).flatMap({ Int($0) }) else {
                throw Unexpected("GET counter via \(client.base): \(current)")
            }
            let reply = try await client.untilAnswered("CAS counter") { idempotencyKey in
                try await client.put("counter", "\(value + 1)", headers: ["If-Match": etag, "Idempotency-Key": idempotencyKey])
            }
            switch reply.status {
            case 200: outcome.acknowledged += 1
            case 412:
                outcome.conflicts += 1
                if reply.object?["error"] as? String != "revision mismatch" || reply.int("revision") == nil {
                    outcome.badConflicts.append("\(reply)")
                }
            default: throw Unexpected("CAS counter via \(client.base): \(reply)")
            }
        }
        return outcome
    }

    @Test("a txn moving a token between two keys (compare both revisions, put both) under concurrent txn readers: never both keys or neither hold it")
    func tokenMove() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            let setup = try await leader.client.txn(["compare": [] as [Any], "success": [
                ["op": "put", "key": "tok/a", "value": "token"], ["op": "put", "key": "tok/b", "value": "empty"],
            ], "failure": [] as [Any]])
            try #require(setup.status == 200 && setup.object?["succeeded"] as? Bool == true, "\(setup)")

            let readers = cluster.nodes.map(\.client).map { client in Task { try await Self.readToken(client) } }
            defer { readers.forEach { $0.cancel() } }
            let movers = [cluster.nodes[0].client, cluster.nodes[1].client, cluster.nodes[2].client]
            let moves = try await withThrowingTaskGroup(of: Int.self) { group in
                for client in movers { group.addTask { try await Self.moveToken(client, times: 10) } }
                var total = 0
                for try await count in group { total += count }
                return total
            }
            readers.forEach { $0.cancel() }
            var reads = 0
            for reader in readers {
                let result = try await reader.value
                reads += result.reads
                #expect(result.violations.isEmpty, "a reader saw both or neither holding the token: \(result.violations.prefix(5))")
            }
            #expect(reads > 0, "the readers read nothing")
            #expect(moves == 30)
            // Every successful move flips the holder: an even number of moves leaves it at a.
            let a = try await leader.client.linearizableGet("tok/a")
            let b = try await leader.client.linearizableGet("tok/b")
            let holders = [a, b].filter { $0.object?["value"] as? String == "token" }.count
            #expect(holders == 1, "a: \(a), b: \(b)")
            #expect(a.object?["value"] as? String == (moves % 2 == 0 ? "token" : "empty"), "after \(moves) moves: a \(a)")
        }
    }

    /// The state of both keys from a txn's get results: (holder, revision of a, revision of b).
    static func tokenState(_ results: [[String: Any]]) -> (holder: String, a: Int, b: Int)? {
        let gets = results.filter { $0["op"] as? String == "get" }
        guard gets.count == 2, let a = gets.first(where: { $0["key"] as? String == "tok/a" }),
              let b = gets.first(where: { $0["key"] as? String == "tok/b" }),
              let ra = a["revision"] as? Int, let rb = b["revision"] as? Int else { return nil }
        let aHolds = a["value"] as? String == "token"
        let bHolds = b["value"] as? String == "token"
        guard aHolds != bHolds else { return nil }
        return (aHolds ? "tok/a" : "tok/b", ra, rb)
    }

    static var getBoth: [[String: Any]] { [["op": "get", "key": "tok/a"], ["op": "get", "key": "tok/b"]] }

    /// Moves the token `times` times; a move whose compare fails (another mover was first)
    /// takes the fresh state from its failure branch and tries again.
    static func moveToken(_ client: NodeHTTPClient, times: Int) async throws -> Int {
        let first = try await client.untilAnswered("txn read") { key in
            try await client.txn(["compare": [] as [Any], "success": getBoth, "failure": [] as [Any]], idempotencyKey: key)
        }
        guard first.status == 200, let firstResults = first.object?["results"] as? [[String: Any]],
              var state = tokenState(firstResults) else { throw Unexpected("txn read via \(client.base): \(first)") }
        var moved = 0
        while moved < times {
            let target = state.holder == "tok/a" ? "tok/b" : "tok/a"
            let body: [String: Any] = [
                "compare": [["key": "tok/a", "target": "revision", "op": "==", "value": state.a],
                            ["key": "tok/b", "target": "revision", "op": "==", "value": state.b]],
                "success": [["op": "put", "key": state.holder, "value": "empty"], ["op": "put", "key": target, "value": "token"]] + getBoth,
                "failure": getBoth,
            ]
            let reply = try await client.untilAnswered("txn move") { key in try await client.txn(body, idempotencyKey: key) }
            guard reply.status == 200, let succeeded = reply.object?["succeeded"] as? Bool,
                  let results = reply.object?["results"] as? [[String: Any]], let next = tokenState(results) else {
                throw Unexpected("txn move via \(client.base): \(reply)")
            }
            if succeeded {
                moved += 1
                guard next.holder == target else { throw Unexpected("after a move to \(target) the txn's own gets show \(next.holder): \(reply)") }
            }
            state = next
        }
        return moved
    }

    /// Reads both keys in one txn until cancelled; every answer must show exactly one holder.
    static func readToken(_ client: NodeHTTPClient) async throws -> (reads: Int, violations: [String]) {
        var reads = 0
        var violations: [String] = []
        while !Task.isCancelled {
            let reply: HTTPReply
            do {
                reply = try await client.txn(["compare": [] as [Any], "success": getBoth, "failure": [] as [Any]])
            } catch {
                if Task.isCancelled { break }
                throw error
            }
            if reply.status == 503 { continue }
            guard reply.status == 200, let results = reply.object?["results"] as? [[String: Any]] else {
                throw Unexpected("txn read via \(client.base): \(reply)")
            }
            reads += 1
            if tokenState(results) == nil { violations.append(reply.text) }
        }
        return (reads, violations)
    }
}
