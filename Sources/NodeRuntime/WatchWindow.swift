import KVStore

/// The recent history every watcher of a node reads from, bounded by event count and bytes:
/// one store read per notification serves them all (Docs/API.md, "Watch").
///
/// It holds every event with a revision in `(start, end]`, whole revisions only, so a
/// reader that asks from inside the range gets exactly what the store would give it.
/// Revisions without events (no-ops, lease grants) only move `end`.
struct WatchWindow {
    private(set) var start: UInt64
    private(set) var end: UInt64
    /// Events from `head` on are live; the ones before it were trimmed and are dropped in
    /// bulk, so trimming one revision costs no copy.
    private var storage: [KVEvent] = []
    private var head = 0
    private(set) var bytes = 0
    let maxEvents: Int
    let maxBytes: Int

    init(at revision: UInt64, maxEvents: Int, maxBytes: Int) {
        start = revision
        end = revision
        self.maxEvents = max(1, maxEvents)
        self.maxBytes = max(1, maxBytes)
    }

    var count: Int { storage.count - head }

    /// What an event is counted as against the byte bounds: its key and values plus a
    /// fixed cost for the rest.
    static func size(of event: KVEvent) -> Int {
        64 + event.key.utf8.count + event.record.value.count + (event.previous?.value.count ?? 0)
    }

    /// Empties the window; it then covers nothing up to `revision`.
    mutating func reset(at revision: UInt64) {
        storage.removeAll(keepingCapacity: false)
        head = 0
        bytes = 0
        start = revision
        end = revision
    }

    /// Adds `events` (every event in `(end, through]`, in order), then drops the oldest
    /// whole revisions until the bounds hold again.
    mutating func append(_ events: [KVEvent], through: UInt64) {
        guard through > end else { return }
        for event in events where event.revision > end {
            storage.append(event)
            bytes += Self.size(of: event)
        }
        end = through
        trim()
    }

    private mutating func trim() {
        while count > maxEvents || bytes > maxBytes, head < storage.count {
            let revision = storage[head].revision
            while head < storage.count, storage[head].revision == revision {
                bytes -= Self.size(of: storage[head])
                head += 1
            }
            start = revision
        }
        // Compact once the dropped part outweighs the live part.
        if head > 1024, head > storage.count / 2 {
            storage.removeFirst(head)
            head = 0
        }
    }

    /// The matching events after `revision`, scanning at most about `scanLimit` events (never
    /// stopping inside a revision), and the revision they cover up to. nil when `revision`
    /// lies before the window: the caller must read the store.
    func events(after revision: UInt64, matching filter: WatchFilter, scanLimit: Int) -> (events: [KVEvent], through: UInt64)? {
        guard revision >= start else { return nil }
        if revision >= end { return ([], revision) }
        var index = firstIndex(after: revision)
        var found: [KVEvent] = []
        var scanned = 0
        while index < storage.count {
            let event = storage[index]
            if scanned >= scanLimit, scanned > 0, event.revision != storage[index - 1].revision {
                return (found, storage[index - 1].revision)
            }
            if filter.matches(event.key) { found.append(event) }
            scanned += 1
            index += 1
        }
        return (found, end)
    }

    /// The position of the first event with a revision above `revision` (binary search).
    private func firstIndex(after revision: UInt64) -> Int {
        var low = head
        var high = storage.count
        while low < high {
            let middle = low + (high - low) / 2
            if storage[middle].revision <= revision { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
