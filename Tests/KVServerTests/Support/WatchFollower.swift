import Foundation
import HTTPTestSupport

/// One change a watch delivered (`event: put|delete`), decoded from its `data` (Docs/API.md, "Watch").
struct WatchEvent: Sendable, Equatable, CustomStringConvertible {
    var kind: String
    var key: String
    var value: String
    var revision: Int
    var createRevision: Int
    var version: Int
    var lease: String?
    var expired: Bool
    var prevValue: String?
    /// The SSE `id:` of the block that carried it, nil when the block had none.
    var id: String?

    var description: String {
        "\(kind) \(key)=\(value.prefix(20))@\(revision)\(expired ? " expired" : "")\(id.map { " id:\($0)" } ?? "")"
    }
}

extension WatchEvent {
    /// Nil for events that are not changes (progress) or whose data lacks a field.
    init?(_ event: ServerSentEvent) {
        guard event.event == "put" || event.event == "delete", let object = event.object,
              let key = object["key"] as? String, let value = object["value"] as? String,
              let revision = object["revision"] as? Int else { return nil }
        kind = event.event
        self.key = key
        self.value = value
        self.revision = revision
        createRevision = object["create_revision"] as? Int ?? -1
        version = object["version"] as? Int ?? -1
        lease = object["lease"] as? String
        expired = object["expired"] as? Bool ?? false
        prevValue = object["prev_value"] as? String
        id = event.id
    }
}

/// A watch stream read in the background into a list, so a test can write, kill nodes and
/// check what arrived, and resume elsewhere with the last event id it saw.
final class WatchFollower: @unchecked Sendable {
    private let lock = NSLock()
    private var changes: [WatchEvent] = []
    private var progress: [Int] = []
    private var latestID: String?
    private var undecodable: [String] = []
    private var endReason: String?
    private var reader: Task<Void, Never>?
    let url: String

    private init(url: String) { self.url = url }

    /// Opens `url` (a `/watch?...` URL). A 503 or a refused connection throws `NotYet`
    /// (retry it inside `eventually`); any other non-stream answer throws `Unexpected`.
    static func start(_ url: String, lastEventID: String? = nil) async throws -> WatchFollower {
        let opening = try await EventStream.open(url, headers: lastEventID.map { ["Last-Event-ID": $0] } ?? [:])
        guard let stream = opening.stream else {
            if opening.reply.status == 503 { throw NotYet("\(url): \(opening.reply)") }
            throw Unexpected("watch \(url) was refused: \(opening.reply)")
        }
        let follower = WatchFollower(url: url)
        follower.reader = Task { await follower.read(stream) }
        return follower
    }

    /// Reads until the stream ends, the connection dies or the follower is stopped. A
    /// minute without any event (progress comes at least every 10 s) counts as dead.
    private func read(_ stream: EventStream) async {
        do {
            while !Task.isCancelled {
                guard let event = try await stream.next(deadline: .now + .seconds(60)) else {
                    finish("the stream ended")
                    return
                }
                record(event)
            }
            finish("stopped")
        } catch {
            finish("\(error)")
        }
    }

    private func record(_ event: ServerSentEvent) {
        lock.withLock {
            if let id = event.id { latestID = id }
            if event.event == "progress" {
                if let revision = event.object?["revision"] as? Int { progress.append(revision) } else { undecodable.append(event.data) }
            } else if let change = WatchEvent(event) {
                changes.append(change)
            } else {
                undecodable.append("\(event.event): \(event.data)")
            }
        }
    }

    private func finish(_ reason: String) { lock.withLock { if endReason == nil { endReason = reason } } }

    /// The changes received so far, in arrival order.
    var events: [WatchEvent] { lock.withLock { changes } }
    /// Revisions of the progress events received so far.
    var progressRevisions: [Int] { lock.withLock { progress } }
    /// What a client would send as `Last-Event-ID` to resume.
    var lastEventID: String? { lock.withLock { latestID } }
    /// Events whose data did not decode (each one a bug in the stream).
    var malformed: [String] { lock.withLock { undecodable } }
    /// Why the reading stopped, nil while it goes on.
    var ended: String? { lock.withLock { endReason } }

    /// Waits until the events received satisfy `condition`.
    @discardableResult
    func wait(for what: String, timeout: Duration = .seconds(30), _ condition: @escaping @Sendable ([WatchEvent]) -> Bool) async throws -> [WatchEvent] {
        try await eventually("watch \(url): \(what)", timeout: timeout) { () -> [WatchEvent]? in
            let seen = events
            if condition(seen) { return seen }
            throw NotYet("\(seen.count) events, last \(seen.last.map(String.init(describing:)) ?? "-"), ended: \(ended ?? "no")")
        }
    }

    /// Stops reading and closes the connection (synchronous, so it can run in a `defer`).
    func stop() { reader?.cancel() }
}
