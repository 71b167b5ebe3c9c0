import Foundation
import Launcher
import NIOConcurrencyHelpers
import NIOCore

/// The key-value side of `FakeCluster`: an in-memory store with the node's revision fields
/// (Docs/API.md), leases and `/watch` streams, enough for the launcher's proxy to be tested
/// without kv-node. One event per revision; every answer carries `X-KV-Revision`.
final class FakeKVStore: Sendable {
    struct Entry {
        var value: String
        var revision: Int
        var createRevision: Int
        var version: Int
        var lease: String?
    }

    struct Watcher {
        var prefix: String
        var exact: Bool
        var continuation: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var revision = 0
        var compactRevision = 0
        /// Every change so far, each an SSE frame with its revision and key.
        var history: [(revision: Int, key: String, frame: String)] = []
        var leases: [String: (ttl: Int, remaining: Int)] = [:]
        var watchers: [Int: Watcher] = [:]
        var nextWatcher = 0
        var watchRequests: [(target: String, headers: [String: String])] = []
    }

    private let state = NIOLockedValueBox(State())

    var revision: Int { state.withLockedValue { $0.revision } }
    var activeWatchers: Int { state.withLockedValue { $0.watchers.count } }
    var watchRequests: [(target: String, headers: [String: String])] { state.withLockedValue { $0.watchRequests } }

    func grantLease(_ id: String, ttl: Int, remaining: Int) {
        state.withLockedValue { $0.leases[id] = (ttl, remaining) }
    }

    /// Forgets history up to `revision`: a watch starting before it is refused with 410.
    func compact(_ revision: Int) {
        state.withLockedValue { state in
            state.compactRevision = revision
            state.history.removeAll { $0.revision <= revision }
        }
    }

    /// The node failing under its watchers: every stream ends with an error.
    func failWatchers() {
        let continuations = state.withLockedValue { $0.watchers.values.map(\.continuation) }
        for continuation in continuations { continuation.finish(throwing: NodeUnreachable("connection reset")) }
    }

    /// A progress event to every watcher, as a node sends while idle.
    func sendProgress() {
        let (continuations, revision) = state.withLockedValue { ($0.watchers.values.map(\.continuation), $0.revision) }
        for continuation in continuations { continuation.yield(ByteBuffer(string: Self.progress(revision))) }
    }

    func handle(method: String, path: String, query: [String: String], body: String) -> NodeResponse {
        if path == "/lease" { return json(200, ["leases": state.withLockedValue { $0.leases }.sorted { $0.key < $1.key }.map {
            ["id": $0.key, "ttl_seconds": $0.value.ttl, "remaining_seconds": $0.value.remaining] as [String: Any]
        }]) }
        if path.hasPrefix("/lease/") {
            let id = String(path.dropFirst(7))
            guard let lease = state.withLockedValue({ $0.leases[id] }) else { return json(404, ["error": "lease not found: \(id)"]) }
            let keys = state.withLockedValue { $0.entries.filter { $0.value.lease == id }.keys.sorted() }
            return json(200, ["id": id, "ttl_seconds": lease.ttl, "remaining_seconds": lease.remaining, "keys": keys])
        }
        guard path.hasPrefix("/kv/"), let key = String(path.dropFirst(4)).removingPercentEncoding else {
            return json(404, ["error": "no route"])
        }
        switch method {
        case "PUT": return put(key, body: body, query: query)
        case "DELETE": return delete(key, query: query)
        default:
            guard let entry = state.withLockedValue({ $0.entries[key] }) else { return json(404, ["error": "not found"]) }
            var response = json(200, Self.fields(key, entry))
            response.etag = "\"\(entry.revision)\""
            return response
        }
    }

    /// `GET /kv`: an object of pairs, as kv-node answers it.
    func list(prefix: String, after: String, limit: Int) -> NodeResponse {
        let pairs = state.withLockedValue { $0.entries }
            .filter { $0.key.hasPrefix(prefix) && (after.isEmpty || $0.key > after) }
            .sorted { $0.key < $1.key }.prefix(limit)
        return json(200, Dictionary(uniqueKeysWithValues: pairs.map { ($0.key, $0.value.value) }))
    }

    private func put(_ key: String, body: String, query: [String: String]) -> NodeResponse {
        guard let value = (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["value"] as? String
        else { return json(400, ["error": "no value"]) }
        let lease = query["lease"]
        if let lease, state.withLockedValue({ $0.leases[lease] }) == nil { return json(404, ["error": "lease not found: \(lease)"]) }
        let result = state.withLockedValue { state -> Outcome in
            let current = state.entries[key]
            if let expected = query["if_revision"].flatMap(Int.init), expected != (current?.revision ?? 0) {
                return .mismatch(current?.revision ?? 0)
            }
            state.revision += 1
            let entry = Entry(value: value, revision: state.revision, createRevision: current?.createRevision ?? state.revision,
                              version: (current?.version ?? 0) + 1, lease: lease)
            state.entries[key] = entry
            state.history.append((state.revision, key, Self.frame("put", Self.fields(key, entry), id: state.revision)))
            return .applied(state.revision)
        }
        switch result {
        case .applied(let revision):
            publish()
            return json(200, ["status": "success", "key": key, "revision": revision])
        case .mismatch(let current):
            return json(412, ["error": "revision mismatch", "key": key, "revision": current])
        }
    }

    private enum Outcome {
        case applied(Int), mismatch(Int)
    }

    private func delete(_ key: String, query: [String: String]) -> NodeResponse {
        let current = state.withLockedValue { $0.entries[key]?.revision ?? 0 }
        if let expected = query["if_revision"].flatMap(Int.init), expected != current {
            return json(412, ["error": "revision mismatch", "key": key, "revision": current])
        }
        let deleted = state.withLockedValue { state -> Bool in
            guard state.entries.removeValue(forKey: key) != nil else { return false }
            state.revision += 1
            let fields: [String: Any] = ["key": key, "value": "", "revision": state.revision, "create_revision": 0, "version": 0]
            state.history.append((state.revision, key, Self.frame("delete", fields, id: state.revision)))
            return true
        }
        if deleted { publish() }
        return json(200, ["status": "success", "deleted": deleted, "revision": revision])
    }

    /// `GET /watch`: a progress event at once, the retained changes after the start, then
    /// live changes, until the consumer goes away.
    func watch(query: [String: String], headers: [String: String], target: String) -> NodeStream {
        state.withLockedValue { $0.watchRequests.append((target, headers)) }
        guard (query["key"] == nil) != (query["prefix"] == nil) else {
            return Self.refusal(400, ["error": "send exactly one of key and prefix"])
        }
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let refused = state.withLockedValue { state -> NodeStream? in
            let start = headers["Last-Event-ID"].flatMap(Int.init) ?? query["start_revision"].flatMap(Int.init) ?? state.revision
            if start < state.compactRevision {
                return Self.refusal(410, ["error": "compacted", "compact_revision": state.compactRevision])
            }
            let watcher = Watcher(prefix: query["key"] ?? query["prefix"] ?? "", exact: query["key"] != nil, continuation: continuation)
            continuation.yield(ByteBuffer(string: Self.progress(max(start, state.revision))))
            for change in state.history where change.revision > start && Self.matches(watcher, change.key) {
                continuation.yield(ByteBuffer(string: change.frame))
            }
            let id = state.nextWatcher
            state.nextWatcher += 1
            state.watchers[id] = watcher
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLockedValue { $0.watchers.removeValue(forKey: id) }
            }
            return nil
        }
        if let refused {
            continuation.finish()
            return refused
        }
        return NodeStream(status: 200, contentType: "text/event-stream", body: stream)
    }

    /// Sends the newest change to the watchers it concerns. Outside the lock: a consumer that
    /// has gone away runs `onTermination`, which takes it.
    private func publish() {
        let (change, watchers) = state.withLockedValue { ($0.history.last, Array($0.watchers.values)) }
        guard let change else { return }
        for watcher in watchers where Self.matches(watcher, change.key) {
            watcher.continuation.yield(ByteBuffer(string: change.frame))
        }
    }

    private static func matches(_ watcher: Watcher, _ key: String) -> Bool {
        watcher.exact ? key == watcher.prefix : key.hasPrefix(watcher.prefix)
    }

    private static func fields(_ key: String, _ entry: Entry) -> [String: Any] {
        var fields: [String: Any] = [
            "key": key, "value": entry.value, "revision": entry.revision, "create_revision": entry.createRevision,
            "version": entry.version,
        ]
        if let lease = entry.lease { fields["lease"] = lease }
        return fields
    }

    private static func frame(_ event: String, _ fields: [String: Any], id: Int) -> String {
        "event: \(event)\ndata: \(text(fields))\nid: \(id)\n\n"
    }

    static func progress(_ revision: Int) -> String {
        "event: progress\ndata: {\"revision\":\(revision)}\n\n"
    }

    private static func refusal(_ status: Int, _ object: [String: Any]) -> NodeStream {
        NodeStream(status: status, contentType: "application/json", body: AsyncThrowingStream { continuation in
            continuation.yield(ByteBuffer(string: text(object)))
            continuation.finish()
        })
    }

    private static func text(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private func json(_ status: Int, _ object: Any) -> NodeResponse {
        NodeResponse(status: status, storeRevision: String(revision), body: ByteBuffer(string: Self.text(object)))
    }
}
