import Foundation
import KVClient

/// A tour of the client library against a running cluster (`swift run kv-launcher` starts one):
///
///     swift run KVClientExample 127.0.0.1:9000,127.0.0.1:9010,127.0.0.1:9020
///
/// It writes a key, reads it back, updates it only if nobody else did (compare-and-swap), runs
/// a transaction, watches its own writes, and keeps a leased key alive for a moment.
@main
enum KVClientExample {
    static func main() async {
        let endpoints = (CommandLine.arguments.dropFirst().first ?? "127.0.0.1:9000").split(separator: ",").map(String.init)
        do {
            let client = try KVClient(endpoints: endpoints)
            do {
                try await tour(client)
                try await client.shutdown()
            } catch {
                try? await client.shutdown()
                throw error
            }
        } catch {
            FileHandle.standardError.write(Data("KVClientExample: \(error)\n".utf8))
            exit(1)
        }
    }

    static func tour(_ client: KVClient) async throws {
        // Plain writes and reads; the write carries an Idempotency-Key, so a retry after a
        // lost answer never applies it twice.
        let written = try await client.put("example/greeting", "hello")
        print("put example/greeting at revision \(written.revision)")
        guard let read = try await client.get("example/greeting") else { return }
        print("get: \(read.value) (revision \(read.revision), version \(read.version))")

        // Compare-and-swap on the revision just read.
        do {
            try await client.put("example/greeting", "hello again", ifRevision: read.revision)
            print("updated, since nobody wrote in between")
        } catch KVClientError.preconditionFailed(let key, let current) {
            print("\(key) moved on to revision \(current); read again and retry")
        }

        // A transaction: create a counter only if it does not exist yet.
        let txn = Txn(compare: [.version("example/counter", .equal, 0)],
                      success: [.put("example/counter", "0")], failure: [.get("example/counter")])
        let result = try await client.txn(txn)
        print("txn \(result.succeeded ? "created the counter" : "found the counter") at revision \(result.revision)")

        // Watch our own next two writes: start after the current revision, then write.
        let start = try await client.put("example/watched", "0").revision
        try await client.put("example/watched", "1")
        try await client.delete("example/watched")
        var seen = 0
        for try await message in client.watch(.prefix("example/watched"), startRevision: start) {
            guard case .events(let revision, let events) = message else { continue }
            for event in events { print("watch: \(event.kind) \(event.key) at \(revision)") }
            seen += events.count
            if seen >= 2 { break }
        }

        // A key that lives as long as its lease is kept alive.
        let lease = try await client.grantLease(ttlSeconds: 5)
        try await client.put("example/session", "alive", lease: lease.id)
        try await client.withLeaseKeepAlive(lease.id) {
            let info = try await client.leaseTimeToLive(lease.id)
            print("lease \(info.id): \(info.remainingSeconds)s of \(info.ttlSeconds)s left, keys \(info.keys ?? [])")
        }
        try await client.revokeLease(lease.id)
        print("revoked the lease; example/session is \(try await client.get("example/session") == nil ? "gone" : "still there")")
    }
}
