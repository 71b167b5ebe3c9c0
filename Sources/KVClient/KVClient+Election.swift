/// Leader election on the lock recipe: the campaign whose key was created first leads, and its
/// key's value is the leader's announcement (etcd's `concurrency.Election`).
extension KVClient {
    /// Campaigns in `name` with `value`, waits until elected, then runs `body` as leader and
    /// resigns after (also when `body` throws or the task is cancelled).
    public func withLeadership<T: Sendable>(_ name: String, value: String, ttlSeconds: UInt64 = 10,
                                            _ body: @escaping @Sendable (Ownership) async throws -> T) async throws -> T {
        try await withLeasedKey(name: name, value: value, ttlSeconds: ttlSeconds, body)
    }

    /// The leaders of `name` as they change: the current one first (once there is one), then
    /// each new leader or new value.
    public func observeLeader(_ name: String) -> LeaderObservation {
        LeaderObservation(client: self, prefix: name.hasSuffix("/") ? name : name + "/")
    }
}

/// The successive leaders of an election, as an `AsyncSequence` that ends only by throwing or
/// cancellation.
public struct LeaderObservation: AsyncSequence, Sendable {
    public typealias Element = KeyValue
    let client: KVClient
    let prefix: String

    public func makeAsyncIterator() -> Iterator { Iterator(client: client, prefix: prefix) }

    public struct Iterator: AsyncIteratorProtocol {
        let client: KVClient
        let prefix: String
        private var announced: KeyValue?
        private var changes: WatchStream.Iterator?

        init(client: KVClient, prefix: String) {
            self.client = client
            self.prefix = prefix
        }

        public mutating func next() async throws -> KeyValue? {
            while true {
                if changes == nil {
                    let contenders = try await Contenders.read(client, prefix: prefix)
                    changes = client.watch(.prefix(prefix), startRevision: contenders.listedAt).makeAsyncIterator()
                    if let leader = contenders.keys.first,
                       leader.key != announced?.key || leader.value != announced?.value {
                        announced = leader
                        return leader
                    }
                }
                // Wait for any change under the prefix, then read the contenders again.
                while true {
                    guard let message = try await changes?.next() else { return nil }
                    if case .events = message { break }
                }
                changes = nil
            }
        }
    }
}
