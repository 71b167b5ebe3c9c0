import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `/cluster/*`, `/health` and `/metrics` on a single node, which leads.
@Suite struct ClusterRouteTests {
    @Test func statusHasEveryDocumentedField() async throws {
        try await RouteHarness.with { api in
            let response = try await api.request(.get, "/cluster/status")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            let status = try #require(response.object)
            #expect(Set(status.keys) == ["id", "role", "term", "leader", "leader_api_addr", "commit_index", "applied_index",
                                         "last_index", "first_index", "is_member", "members", "db_size_bytes"])
            #expect((status["db_size_bytes"] as? Int).map { $0 > 0 } == true)
            #expect(status["id"] as? String == api.node.id.rawValue)
            #expect(status["role"] as? String == "leader")
            #expect(status["leader"] as? String == api.node.id.rawValue)
            #expect(status["leader_api_addr"] as? String == api.node.address.api.description)
            #expect((status["term"] as? Int).map { $0 >= 1 } == true)
            #expect(status["is_member"] as? Bool == true)
            let commit = try #require(status["commit_index"] as? Int)
            #expect(commit >= 1)
            #expect(status["last_index"] as? Int == commit)
            #expect((status["applied_index"] as? Int).map { $0 <= commit } == true)
            #expect(status["first_index"] as? Int == 1)

            let members = try #require(status["members"] as? [[String: Any]])
            #expect(members.count == 1)
            let member = try #require(members.first)
            #expect(Set(member.keys) == ["id", "raft_addr", "api_addr", "voter", "match_index", "lag", "last_contact_ms"])
            #expect(member["id"] as? String == api.node.id.rawValue)
            #expect(member["raft_addr"] as? String == api.node.address.raft.description)
            #expect(member["api_addr"] as? String == api.node.address.api.description)
            #expect(member["voter"] as? Bool == true)
            #expect(member["lag"] as? Int == 0)

            let health = try await api.request(.get, "/health")
            #expect(health.status == .ok)
            #expect(health.object?["status"] as? String == "ok")
            #expect(health.object?["role"] as? String == "leader")
        }
    }

    @Test func metricsRenderPrometheusTextIncludingTheRequestsServed() async throws {
        try await RouteHarness.with { api in
            #expect(try await api.request(.put, "/kv/counted", json: ["value": "x"]).status == .ok)
            #expect(try await api.request(.get, "/kv/missing").status == .notFound)
            let response = try await api.request(.get, "/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let lines = Set(response.text.split(separator: "\n").map(String.init))
            #expect(lines.contains("kv_raft_is_leader 1"))
            #expect(lines.contains("kv_raft_members 1"))
            for name in ["kv_raft_term", "kv_raft_commit_index", "kv_raft_applied_index", "kv_raft_leader_changes_total",
                         "kv_proposals_total", "kv_proposals_failed_total", "kv_linearizable_reads_total", "kv_read_index_requests_total",
                         "kv_forwarded_writes_total", "kv_forward_requests_total",
                         "kv_ready_batches_total", "kv_entries_persisted_total", "kv_entries_applied_total"] {
                #expect(lines.contains { $0.hasPrefix(name + " ") }, "\(name)")
            }
            #expect(lines.contains { $0.hasPrefix("kv_raft_messages_dropped_total{reason=\"unknown_sender\"} ") })
            #expect(lines.contains("kv_http_request_seconds_count{method=\"PUT\",route=\"/kv/{key}\",status=\"200\"} 1"))
            #expect(lines.contains("kv_http_request_seconds_count{method=\"GET\",route=\"/kv/{key}\",status=\"404\"} 1"))
        }
    }

    @Test func membershipRoutesAdmitAndRemoveAMemberAndRefuseBadInput() async throws {
        try await RouteHarness.with { api in
            // A learner nobody runs: it never answers, so it is never promoted.
            let join = try await api.request(.post, "/cluster/join",
                                             json: ["id": "ghost", "raft_addr": "127.0.0.1:1", "api_addr": "127.0.0.1:2"])
            #expect(join.status == .ok, "\(join.text)")
            #expect(join.object?["status"] as? String == "joined")
            let ids = (join.object?["members"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids.map(Set.init) == [api.node.id.rawValue, "ghost"])
            let status = try await api.request(.get, "/cluster/status")
            let ghost = (status.object?["members"] as? [[String: Any]])?.first { $0["id"] as? String == "ghost" }
            #expect(ghost?["voter"] as? Bool == false)

            let clash = try await api.request(.post, "/cluster/join",
                                              json: ["id": "ghost", "raft_addr": "127.0.0.1:3", "api_addr": "127.0.0.1:4"])
            #expect(clash.status == .conflict)
            #expect(clash.isErrorDocument)

            let remove = try await api.request(.post, "/cluster/remove", json: ["id": "ghost"])
            #expect(remove.status == .ok, "\(remove.text)")
            #expect(remove.object?["status"] as? String == "removed")
            #expect(remove.object?["id"] as? String == "ghost")
            let unknown = try await api.request(.post, "/cluster/remove", json: ["id": "ghost"])
            #expect(unknown.status == .notFound)
            #expect(unknown.isErrorDocument)

            for body: [String: Any] in [["id": "../etc", "raft_addr": "127.0.0.1:1", "api_addr": "127.0.0.1:2"],
                                        ["id": "ok", "raft_addr": "nonsense", "api_addr": "127.0.0.1:2"],
                                        ["raft_addr": "127.0.0.1:1", "api_addr": "127.0.0.1:2"]] {
                let bad = try await api.request(.post, "/cluster/join", json: body)
                #expect(bad.status == .badRequest, "\(body)")
                #expect(bad.isErrorDocument)
            }
            let badRemove = try await api.request(.post, "/cluster/remove", json: ["id": String(repeating: "x", count: 65)])
            #expect(badRemove.status == .badRequest)
        }
    }
}
