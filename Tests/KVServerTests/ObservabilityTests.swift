import Foundation
import HTTPTestSupport
import Testing

/// `/health` and `/metrics` are what monitoring scrapes; their names are a contract.
@Suite("Health and metrics")
struct ObservabilityTests {
    @Test("GET /health is 200 and GET /metrics is Prometheus text with the core series")
    func healthAndMetrics() async throws {
        try await TestCluster.with(size: 1) { cluster in
            let node = try await cluster.leader()
            try await node.client.putAcknowledged("m", "1")
            let health = try await HTTP.send("GET", "http://\(node.apiAddress)/health")
            #expect(health.status == 200, "\(health)")

            let metrics = try await HTTP.send("GET", "http://\(node.apiAddress)/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.header("Content-Type")?.hasPrefix("text/plain") == true)
            let lines = metrics.text.split(separator: "\n").map(String.init)
            for name in ["kv_raft_term", "kv_raft_commit_index", "kv_storage_sync_seconds_bucket", "kv_http_request_seconds"] {
                #expect(lines.contains { $0.hasPrefix(name) && !$0.hasPrefix("#") }, "no \(name) sample in /metrics")
            }
            #expect(lines.contains("# TYPE kv_storage_sync_seconds histogram"))
            let term = lines.first { $0.hasPrefix("kv_raft_term ") }.flatMap { Double($0.split(separator: " ")[1]) }
            #expect((term ?? 0) >= 1, "a node that leads has a term")
            // Every sample line is `name{labels} value` with a numeric value.
            for line in lines where !line.hasPrefix("#") {
                #expect(line.split(separator: " ").last.flatMap { Double($0) } != nil, "malformed sample: \(line)")
            }
        }
    }
}
