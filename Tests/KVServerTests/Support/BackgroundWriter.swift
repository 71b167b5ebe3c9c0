import Foundation
import HTTPTestSupport

/// A client writing one key after another under a prefix until stopped, keeping the
/// revision of every acknowledged write, so a watch can be checked against exactly what
/// the cluster acknowledged while nodes were killed around it.
final class BackgroundWriter: @unchecked Sendable {
    /// One acknowledged PUT.
    struct Write: Sendable, Equatable {
        var key: String
        var value: String
        var revision: Int
    }

    private let lock = NSLock()
    private var acknowledged: [Write] = []
    private var stopRequested = false
    private var failure: (any Error)?
    private var task: Task<Void, Never>?

    private init() {}

    /// Starts writing `prefix`k0 ... `prefix`k(keys-1) in turn (so keys get several versions)
    /// through `client`. Each write is retried with one Idempotency-Key until acknowledged,
    /// so it applies once even when its first attempts met a dying node.
    static func start(_ client: NodeHTTPClient, prefix: String, keys: Int = 5) -> BackgroundWriter {
        let writer = BackgroundWriter()
        writer.task = Task {
            var index = 0
            while !writer.lock.withLock({ writer.stopRequested }) {
                let key = "\(prefix)k\(index % keys)"
                let value = "v\(index)"
                do {
                    let revision = try await client.putAcknowledged(key, value, timeout: .seconds(60))
                    writer.lock.withLock { writer.acknowledged.append(Write(key: key, value: value, revision: Int(revision))) }
                } catch {
                    writer.lock.withLock { writer.failure = error }
                    return
                }
                index += 1
            }
        }
        return writer
    }

    var count: Int { lock.withLock { acknowledged.count } }

    /// Waits until `count` writes are acknowledged.
    func wait(forCount count: Int, timeout: Duration = .seconds(60)) async throws {
        try await eventually("\(count) acknowledged writes", timeout: timeout) { () -> Bool? in
            try lock.withLock { if let failure { throw Unexpected("the writer failed: \(failure)") } }
            return self.count >= count ? true : nil
        }
    }

    /// Lets the write in flight finish and returns every acknowledged write in order;
    /// throws the error that stopped the writer early, if one did.
    func stop() async throws -> [Write] {
        lock.withLock { stopRequested = true }
        await task?.value
        return try lock.withLock {
            if let failure { throw failure }
            return acknowledged
        }
    }

    /// For `defer`: stops without waiting.
    func cancel() {
        lock.withLock { stopRequested = true }
        task?.cancel()
    }

    /// The events a watch on the prefix must deliver for `writes`: one put per write, with
    /// each key's create_revision and version counted from its first write.
    static func expectedEvents(_ writes: [Write]) -> [WatchEvent] {
        var created: [String: Int] = [:]
        var versions: [String: Int] = [:]
        return writes.map { write in
            let createRevision = created[write.key] ?? write.revision
            created[write.key] = createRevision
            let version = (versions[write.key] ?? 0) + 1
            versions[write.key] = version
            return WatchEvent(kind: "put", key: write.key, value: write.value, revision: write.revision,
                              createRevision: createRevision, version: version, lease: nil, expired: false,
                              prevValue: nil, id: "\(write.revision)")
        }
    }
}
