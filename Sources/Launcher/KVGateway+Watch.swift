import Foundation
import NIOCore

/// The explorer's live view: a node's `/watch` stream and its leases, reached through the
/// launcher like every other KV call (Docs/LAUNCHER.md, "KV through the launcher").
extension KVGateway {
    /// What to watch: one key, or every key under a prefix (`""`: every key).
    public enum WatchScope: Sendable, Equatable {
        case key(String)
        case prefix(String)
    }

    /// Opens `GET /watch` on the chosen node (default the leader) and hands back its stream
    /// unread. `lastEventID`, the browser's `Last-Event-ID` after a reconnect, goes to the node
    /// as that header and so takes precedence over `startRevision` there, which makes a resumed
    /// stream continue exactly after the last revision the browser saw, on whichever node now
    /// serves it (revisions are cluster-wide).
    public func watch(
        _ scope: WatchScope, startRevision: String?, lastEventID: String?, prevValue: Bool,
        node: String?, consistency: Consistency
    ) async throws(ControlError) -> (NodeID, NodeStream) {
        var query: [(String, String)] = []
        switch scope {
        case .key(let key):
            guard !key.isEmpty else { throw .badRequest("key must not be empty; use prefix= to watch every key") }
            query.append(("key", key))
        case .prefix(let prefix): query.append(("prefix", prefix))
        }
        if let startRevision { query.append(("start_revision", try KVGateway.decimal(startRevision, "start_revision"))) }
        if prevValue { query.append(("prev_value", "true")) }
        if consistency == .stale { query.append(("consistency", "stale")) }
        var headers: [String: String] = [:]
        if let lastEventID { headers["Last-Event-ID"] = try KVGateway.decimal(lastEventID, "Last-Event-ID") }
        let (id, port) = try await target(node)
        let request = NodeRequest(method: "GET", target: "/watch" + KVGateway.queryString(query), headers: headers)
        do {
            return (id, try await api.openStream(request, apiPort: port))
        } catch {
            throw .unavailable("\(id) did not answer: \(error)")
        }
    }

    /// `GET /lease`: every lease with its TTL and the seconds it has left.
    public func leases(node: String?) async throws(ControlError) -> (NodeID, NodeResponse) {
        let (id, port) = try await target(node)
        return (id, try await send(NodeRequest(method: "GET", target: "/lease"), port))
    }

    /// `GET /lease/{id}`: one lease, its remaining seconds and its keys.
    public func lease(_ lease: String, node: String?) async throws(ControlError) -> (NodeID, NodeResponse) {
        let lease = try KVGateway.decimal(lease, "lease id")
        let (id, port) = try await target(node)
        return (id, try await send(NodeRequest(method: "GET", target: "/lease/" + lease), port))
    }

    /// The node writes the whole backup before it answers: about 2 s per million keys here.
    static let snapshotHeadTimeout = TimeAmount.minutes(10)

    /// `GET /snapshot` on the chosen node (default the leader), unread: a backup of the whole
    /// store for the dashboard's "Download snapshot".
    public func snapshot(node: String?) async throws(ControlError) -> (NodeID, NodeStream) {
        let (id, port) = try await target(node)
        do {
            let request = NodeRequest(method: "GET", target: "/snapshot", headTimeout: KVGateway.snapshotHeadTimeout)
            return (id, try await api.openStream(request, apiPort: port))
        } catch {
            throw .unavailable("\(id) did not answer: \(error)")
        }
    }
}
