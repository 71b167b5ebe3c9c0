import FoundationEssentials
import Hummingbird
import KVStore
import NodeRuntime
import RaftCore

/// `/health`, `/metrics`, and the middleware that times every request.
struct ObservabilityRoutes {
    let runtime: NodeRuntime
    let metrics: NodeMetrics

    func register(on router: Router<BasicRequestContext>) {
        router.get("health") { _, _ in
            let status = await runtime.status()
            return JSON.response(HealthBody(status: "ok", id: status.id.rawValue, role: status.role.rawValue,
                                            leader: status.leader?.rawValue))
        }
        router.get("metrics") { _, _ in
            let text = PrometheusText.render(status: await runtime.status(), values: metrics.snapshot)
            var headers: HTTPFields = [:]
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
    }
}

struct HealthBody: Encodable {
    var status: String
    var id: String
    var role: String
    var leader: String?
}

/// Records each request's duration by method, route and status.
struct RequestTimingMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: NodeMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError {
            record(request, status: Int(error.status.code), since: started)
            return JSON.error(Int(error.status.code), error.body ?? (error.status.code == 404 ? "no such endpoint" : error.status.reasonPhrase))
        }
        record(request, status: Int(response.status.code), since: started)
        return response
    }

    private func record(_ request: Request, status: Int, since started: ContinuousClock.Instant) {
        let path = request.uri.path
        let route = path.hasPrefix("/kv/") ? "/kv/{key}" : (["/kv", "/cluster/status", "/cluster/join", "/cluster/remove", "/health", "/metrics"].contains(path) ? path : "other")
        let elapsed = ContinuousClock.now - started
        let (seconds, attoseconds) = elapsed.components
        metrics.observeHTTP(method: request.method.rawValue, route: route, status: status,
                            seconds: Double(seconds) + Double(attoseconds) / 1e18)
    }
}

/// The Prometheus text exposition format, written by hand: a handful of series does not
/// justify a metrics dependency.
enum PrometheusText {
    static func render(status: ClusterStatus, values: NodeMetrics.Values) -> String {
        var out = ""
        func gauge(_ name: String, _ help: String, _ value: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(value)\n"
        }
        func counter(_ name: String, _ help: String, _ value: UInt64) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(value)\n"
        }
        func histogram(_ name: String, labels: String, _ h: NodeMetrics.Histogram) {
            let sep = labels.isEmpty ? "" : ","
            var cumulative: UInt64 = 0
            for (bound, count) in zip(NodeMetrics.Histogram.bounds, h.counts) {
                cumulative += count
                out += "\(name)_bucket{\(labels)\(sep)le=\"\(bound)\"} \(cumulative)\n"
            }
            out += "\(name)_bucket{\(labels)\(sep)le=\"+Inf\"} \(h.count)\n"
            let braces = labels.isEmpty ? "" : "{\(labels)}"
            out += "\(name)_sum\(braces) \(h.sum)\n\(name)_count\(braces) \(h.count)\n"
        }
        gauge("kv_raft_term", "Current Raft term.", "\(status.term)")
        gauge("kv_raft_is_leader", "1 if this node is the leader.", status.role == .leader ? "1" : "0")
        gauge("kv_raft_commit_index", "Highest committed log index.", "\(status.commitIndex)")
        gauge("kv_raft_applied_index", "Highest applied log index.", "\(status.appliedIndex)")
        gauge("kv_raft_members", "Members in the configuration.", "\(status.members.count)")
        counter("kv_raft_leader_changes_total", "Leader changes seen by this node.", values.leaderChanges)
        out += "# HELP kv_raft_messages_dropped_total Peer messages Raft refused before acting on them (Docs/TRANSPORT.md).\n# TYPE kv_raft_messages_dropped_total counter\n"
        for reason in DropReason.allCases {
            out += "kv_raft_messages_dropped_total{reason=\"\(reason.rawValue)\"} \(status.droppedMessages[reason])\n"
        }
        counter("kv_proposals_total", "Writes proposed by this node as leader.", values.proposals)
        counter("kv_proposals_failed_total", "Proposals that failed or timed out.", values.proposalsFailed)
        counter("kv_forwarded_writes_total", "Writes this node forwarded to the leader.", values.forwardedWrites)
        counter("kv_forward_requests_total", "Peer requests that carried forwarded writes (a batch is one).", values.forwardRequests)
        counter("kv_linearizable_reads_total", "Linearizable reads served.", values.linearizableReads)
        counter("kv_read_index_requests_total", "Read indexes asked for (one covers the reads gathered between two Ready turns).",
                values.readIndexRequests)
        counter("kv_ready_batches_total", "Ready batches processed.", values.readyBatches)
        counter("kv_entries_persisted_total", "Log entries written to disk.", values.entriesPersisted)
        counter("kv_entries_applied_total", "Log entries applied to the state machine.", values.entriesApplied)
        counter("kv_storage_durable_commits_total",
                "LMDB commits with two syncs (data, then meta page): batches holding snapshot data.",
                values.durableCommits)
        out += "# HELP kv_wal_sync_seconds Duration of one write-ahead log append and its flush (new entries, a term or a vote).\n# TYPE kv_wal_sync_seconds histogram\n"
        histogram("kv_wal_sync_seconds", labels: "", values.walSyncDuration)
        out += "# HELP kv_storage_sync_seconds Duration of one LMDB commit: a batch copied into LMDB's log and applied (one sync, or two for snapshot data).\n# TYPE kv_storage_sync_seconds histogram\n"
        histogram("kv_storage_sync_seconds", labels: "", values.syncDuration)
        out += "# HELP kv_http_request_seconds HTTP request durations.\n# TYPE kv_http_request_seconds histogram\n"
        for key in values.http.keys.sorted() {
            let parts = key.split(separator: " ", maxSplits: 2).map(String.init)
            histogram("kv_http_request_seconds", labels: "method=\"\(parts[0])\",route=\"\(parts[1])\",status=\"\(parts[2])\"", values.http[key]!)
        }
        return out
    }
}
