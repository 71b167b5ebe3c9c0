import Foundation
import Testing

/// The key-value API of a bootstrapped three-node cluster, in the shapes of the seed's
/// curl examples, used through followers so forwarding is part of every write.
@Suite("KV API through followers")
struct KVAPITests {
    @Test("a write through one follower is read back through the other, with its revision")
    func writeThroughFollowerReadThroughOther() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            let followers = cluster.followers(of: leader)
            try #require(followers.count == 2)
            let writer = followers[0].client, reader = followers[1].client

            let put = try await writer.put("raft", "is a distributed systems algorithm")
            try #require(put.status == 200, "PUT: \(put)")
            let putBody = try #require(put.object)
            #expect(putBody["status"] as? String == "success")
            #expect(putBody["key"] as? String == "raft")
            let revision = try #require(putBody["revision"] as? Int)
            #expect(revision > 0)

            let get = try await reader.linearizableGet("raft")
            try #require(get.status == 200, "GET: \(get)")
            #expect(get.object?["key"] as? String == "raft")
            #expect(get.object?["value"] as? String == "is a distributed systems algorithm")
            #expect(get.object?["revision"] as? Int == revision)

            let deleted = try await reader.delete("raft")
            try #require(deleted.status == 200, "DELETE: \(deleted)")
            #expect(deleted.object?["status"] as? String == "success")
            #expect(deleted.object?["deleted"] as? Bool == true)
            let gone = try await writer.linearizableGet("raft")
            #expect(gone.status == 404, "GET after DELETE: \(gone)")
            let again = try await writer.delete("raft")
            #expect(again.object?["deleted"] as? Bool == false, "second DELETE: \(again)")
        }
    }

    @Test("GET /kv returns all pairs and pages with prefix, limit and start_after")
    func listAndPage() async throws {
        try await TestCluster.with(size: 3) { cluster in
            let leader = try await cluster.leader()
            let client = try #require(cluster.followers(of: leader).first).client
            let paged = ["pg-a": "1", "pg-b": "2", "pg-c": "3", "pg-d": "4", "pg-e": "5"]
            for (key, value) in paged.sorted(by: { $0.key < $1.key }) {
                try #require(try await client.put(key, value).status == 200)
            }
            try #require(try await client.put("other", "x").status == 200)

            let all = try await client.list()
            try #require(all.status == 200, "GET /kv: \(all)")
            #expect(all.object as? [String: String] == paged.merging(["other": "x"]) { $1 })

            var seen: [String: String] = [:]
            var cursor: String?
            var pages: [[String]] = []
            repeat {
                let query = "prefix=pg-&limit=2" + (cursor.map { "&start_after=\($0)" } ?? "")
                let page = try await client.list(query)
                try #require(page.status == 200, "GET /kv?\(query): \(page)")
                let pairs = try #require(page.object as? [String: String])
                pages.append(pairs.keys.sorted())
                seen.merge(pairs) { $1 }
                cursor = page.header("X-Next-Start-After")
            } while cursor != nil && pages.count < 10
            #expect(pages == [["pg-a", "pg-b"], ["pg-c", "pg-d"], ["pg-e"]])
            #expect(seen == paged)
        }
    }
}
