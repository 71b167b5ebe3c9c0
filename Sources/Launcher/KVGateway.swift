import Foundation
import NIOCore

/// The dashboard's path to the data: forwards KV requests to a node of the user's choice (or
/// the leader) so the browser only ever talks to the launcher.
public struct KVGateway: Sendable {
    public enum Consistency: String, Sendable {
        case linearizable, stale
    }

    /// One key in a listing, with what the node's `GET /kv/{key}` told about it: its last
    /// modification, creation and number of writes, and its lease.
    public struct Item: Codable, Sendable, Equatable {
        public var key: String
        public var value: String
        public var revision: Int?
        public var createRevision: Int?
        public var version: Int?
        public var lease: String?

        public init(key: String, value: String, revision: Int? = nil, createRevision: Int? = nil,
                    version: Int? = nil, lease: String? = nil) {
            self.key = key
            self.value = value
            self.revision = revision
            self.createRevision = createRevision
            self.version = version
            self.lease = lease
        }

        enum CodingKeys: String, CodingKey {
            case key, value, revision, version, lease
            case createRevision = "create_revision"
        }
    }

    public struct Page: Codable, Sendable {
        public var node: String
        public var consistency: String
        /// The store revision the listing was read at (the node's `X-KV-Revision`): a watch
        /// that starts there misses no change made after the page was read.
        public var revision: Int?
        public var items: [Item]
        public var hasMore: Bool
        /// Pass as `start_after` to get the next page.
        public var next: String?

        enum CodingKeys: String, CodingKey {
            case node, consistency, revision, items, next
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

    /// `lease` attaches the key to that lease (without it the node detaches the key from any
    /// lease, etcd's rule); `ifRevision` makes the write conditional (`0`: the key must be absent).
    public func put(
        key: String, body: ByteBuffer, node: String?, lease: String? = nil, ifRevision: String? = nil
    ) async throws(ControlError) -> (NodeID, NodeResponse) {
        var query: [(String, String)] = []
        if let lease { query.append(("lease", try KVGateway.decimal(lease, "lease"))) }
        if let ifRevision { query.append(("if_revision", try KVGateway.decimal(ifRevision, "if_revision"))) }
        let (id, port) = try await target(node)
        let target = KVGateway.keyTarget(key, nil) + KVGateway.queryString(query)
        return (id, try await send(NodeRequest(method: "PUT", target: target, body: body), port))
    }

    public func delete(key: String, node: String?, ifRevision: String? = nil) async throws(ControlError) -> (NodeID, NodeResponse) {
        let query = try ifRevision.map { value throws(ControlError) in [("if_revision", try KVGateway.decimal(value, "if_revision"))] } ?? []
        let (id, port) = try await target(node)
        let target = KVGateway.keyTarget(key, nil) + KVGateway.queryString(query)
        return (id, try await send(NodeRequest(method: "DELETE", target: target), port))
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
        let target = "/kv" + KVGateway.queryString(query)
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
        let records = await records(of: page.map(\.key), port: port, consistency: consistency)
        // A key deleted since the listing is left out; one whose read failed keeps the listed value.
        let items = page.compactMap { pair -> Item? in
            switch records[pair.key] {
            case .found(let item): item
            case .missing: nil
            case .unknown, nil: Item(key: pair.key, value: pair.value)
            }
        }
        return Page(
            node: id.rawValue, consistency: consistency.rawValue, revision: response.storeRevision.flatMap { Int($0) },
            items: items, hasMore: hasMore, next: hasMore ? page.last?.key : nil)
    }

    private enum Record: Sendable {
        case found(Item), missing, unknown
    }

    private func records(of keys: [String], port: Int, consistency: Consistency) async -> [String: Record] {
        let api = self.api
        return await withTaskGroup(of: (String, Record).self) { group in
            var result: [String: Record] = [:]
            var pending = keys[...]
            // A few at a time: the node serves the dashboard and real clients alike.
            func enqueue() {
                guard let key = pending.popFirst() else { return }
                group.addTask {
                    let request = NodeRequest(method: "GET", target: KVGateway.keyTarget(key, consistency))
                    guard let response = try? await api.send(request, apiPort: port) else { return (key, .unknown) }
                    if response.status == 404 { return (key, .missing) }
                    guard response.status == 200, let item = KVGateway.decodeItem(response.body, key: key) else {
                        return (key, .unknown)
                    }
                    return (key, .found(item))
                }
            }
            for _ in 0..<8 { enqueue() }
            for await (key, record) in group {
                result[key] = record
                enqueue()
            }
            return result
        }
    }

    /// A key as `GET /kv/{key}` answers it (Docs/API.md); nil when the body is not that shape.
    static func decodeItem(_ body: ByteBuffer, key: String) -> Item? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
            let value = object["value"] as? String
        else { return nil }
        func integer(_ name: String) -> Int? { (object[name] as? NSNumber)?.intValue }
        let lease = (object["lease"] as? String) ?? (object["lease"] as? NSNumber)?.stringValue
        return Item(key: key, value: value, revision: integer("revision"), createRevision: integer("create_revision"),
                    version: integer("version"), lease: lease)
    }

    func send(_ request: NodeRequest, _ port: Int) async throws(ControlError) -> NodeResponse {
        do {
            return try await api.send(request, apiPort: port)
        } catch {
            throw .unavailable("node did not answer: \(error)")
        }
    }

    static func keyTarget(_ key: String, _ consistency: Consistency?) -> String {
        "/kv/" + encode(key) + (consistency == .stale ? "?consistency=stale" : "")
    }

    /// `?a=1&b=2` with each value percent-encoded; empty for no pairs.
    static func queryString(_ pairs: [(String, String)]) -> String {
        pairs.isEmpty ? "" : "?" + pairs.map { "\($0.0)=\(encode($0.1))" }.joined(separator: "&")
    }

    /// A revision or lease id as the node takes it: decimal digits that fit in 64 bits, so
    /// nothing else is ever put into a node's URL or headers.
    static func decimal(_ raw: String, _ name: String) throws(ControlError) -> String {
        guard !raw.isEmpty, raw.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), UInt64(raw) != nil else {
            throw .badRequest("\(name) must be a decimal number, not \(raw.debugDescription)")
        }
        return raw
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
