import Foundation
import NIOCore

/// The dashboard's path to the data: forwards KV requests to a node of the user's choice (or
/// the leader) so the browser only ever talks to the launcher.
public struct KVGateway: Sendable {
    public enum Consistency: String, Sendable {
        case linearizable, stale
    }

    /// One key in a listing, with its revision when the node told it.
    public struct Item: Codable, Sendable, Equatable {
        public var key: String
        public var value: String
        public var revision: Int?
    }

    public struct Page: Codable, Sendable {
        public var node: String
        public var consistency: String
        public var items: [Item]
        public var hasMore: Bool
        /// Pass as `start_after` to get the next page.
        public var next: String?

        enum CodingKeys: String, CodingKey {
            case node, consistency, items, next
            case hasMore = "has_more"
        }
    }

    public static let maxPageSize = 500
    let supervisor: Supervisor
    let monitor: StatusMonitor
    let api: any NodeAPI

    public init(supervisor: Supervisor, monitor: StatusMonitor, api: any NodeAPI) {
        self.supervisor = supervisor
        self.monitor = monitor
        self.api = api
    }

    /// The node to ask: the named one, or for nil/"any" the leader, else any node that answers.
    public func target(_ name: String?) async throws(ControlError) -> (NodeID, Int) {
        let config = await supervisor.snapshot().config
        let online = await monitor.onlineNodes()
        if let name, !name.isEmpty, name != "any" {
            let id = try ControlError.validID(name)
            guard let node = config.node(id) else { throw .notFound("no node \(id)") }
            guard online.contains(id) else { throw .unavailable("\(id) is not answering; choose another node") }
            return (id, node.apiPort)
        }
        if let leader = await monitor.knownLeader(), online.contains(leader), let node = config.node(leader) {
            return (leader, node.apiPort)
        }
        guard let node = config.nodes.first(where: { online.contains($0.id) }) else {
            throw .unavailable("no node is answering")
        }
        return (node.id, node.apiPort)
    }

    public func get(key: String, node: String?, consistency: Consistency) async throws(ControlError) -> (NodeID, NodeResponse) {
        let (id, port) = try await target(node)
        return (id, try await send(NodeRequest(method: "GET", target: KVGateway.keyTarget(key, consistency)), port))
    }

    public func put(key: String, body: ByteBuffer, node: String?) async throws(ControlError) -> (NodeID, NodeResponse) {
        let (id, port) = try await target(node)
        return (id, try await send(NodeRequest(method: "PUT", target: KVGateway.keyTarget(key, nil), body: body), port))
    }

    public func delete(key: String, node: String?) async throws(ControlError) -> (NodeID, NodeResponse) {
        let (id, port) = try await target(node)
        return (id, try await send(NodeRequest(method: "DELETE", target: KVGateway.keyTarget(key, nil)), port))
    }

    /// A page of keys in byte order from `GET /kv`, with each key's revision fetched
    /// alongside (the listing itself carries only values).
    public func list(
        prefix: String, startAfter: String?, limit: Int, node: String?, consistency: Consistency
    ) async throws(ControlError) -> Page {
        let (id, port) = try await target(node)
        let limit = min(max(limit, 1), KVGateway.maxPageSize)
        var query = [("prefix", prefix), ("limit", String(limit + 1))]
        if let startAfter, !startAfter.isEmpty { query.append(("start_after", startAfter)) }
        if consistency == .stale { query.append(("consistency", "stale")) }
        let target = "/kv?" + query.map { "\($0.0)=\(KVGateway.encode($0.1))" }.joined(separator: "&")
        let response = try await send(NodeRequest(method: "GET", target: target), port)
        guard response.status == 200 else { throw KVGateway.error(from: response, node: id) }
        let pairs = try KVGateway.decodePairs(response.body)
        var sorted = pairs.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        // Keep only what the page asked for even if a node ignores the paging parameters.
        sorted = sorted.filter { $0.key.hasPrefix(prefix) }
        if let startAfter, !startAfter.isEmpty {
            sorted = sorted.filter { startAfter.utf8.lexicographicallyPrecedes($0.key.utf8) }
        }
        let hasMore = sorted.count > limit
        let page = Array(sorted.prefix(limit))
        let revisions = await revisions(of: page.map(\.key), port: port, consistency: consistency)
        let items = page.map { Item(key: $0.key, value: $0.value, revision: revisions[$0.key]) }
        return Page(
            node: id.rawValue, consistency: consistency.rawValue, items: items, hasMore: hasMore,
            next: hasMore ? page.last?.key : nil)
    }

    private func revisions(of keys: [String], port: Int, consistency: Consistency) async -> [String: Int] {
        let api = self.api
        return await withTaskGroup(of: (String, Int?).self) { group in
            var result: [String: Int] = [:]
            var pending = keys[...]
            // A few at a time: the node serves the dashboard and real clients alike.
            func enqueue() {
                guard let key = pending.popFirst() else { return }
                group.addTask {
                    let request = NodeRequest(method: "GET", target: KVGateway.keyTarget(key, consistency))
                    guard let response = try? await api.send(request, apiPort: port), response.status == 200,
                        let object = try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                    else { return (key, nil) }
                    return (key, (object["revision"] as? NSNumber)?.intValue)
                }
            }
            for _ in 0..<8 { enqueue() }
            for await (key, revision) in group {
                if let revision { result[key] = revision }
                enqueue()
            }
            return result
        }
    }

    private func send(_ request: NodeRequest, _ port: Int) async throws(ControlError) -> NodeResponse {
        do {
            return try await api.send(request, apiPort: port)
        } catch {
            throw .unavailable("node did not answer: \(error)")
        }
    }

    static func keyTarget(_ key: String, _ consistency: Consistency?) -> String {
        "/kv/" + encode(key) + (consistency == .stale ? "?consistency=stale" : "")
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters, so a key with '/',
    /// '?' or '%' stays one path segment.
    static func encode(_ string: String) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        return string.addingPercentEncoding(withAllowedCharacters: allowed) ?? string
    }

    /// `GET /kv` answers an object of pairs; values that are not strings are shown as JSON.
    static func decodePairs(_ body: ByteBuffer) throws(ControlError) -> [(key: String, value: String)] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw .failed("the node's key listing is not a JSON object")
        }
        return object.map { key, value in
            if let string = value as? String { return (key, string) }
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])
            return (key, data.map { String(decoding: $0, as: UTF8.self) } ?? "\(value)")
        }
    }

    static func error(from response: NodeResponse, node: NodeID) -> ControlError {
        let text = String(buffer: response.body)
        let message =
            (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["error"] as? String ?? text
        switch response.status {
        case 400: return .badRequest(message)
        case 404: return .notFound(message)
        case 409: return .conflict(message)
        case 503: return .unavailable("\(node): \(message)")
        default: return .failed("\(node) answered \(response.status): \(message)")
        }
    }
}
