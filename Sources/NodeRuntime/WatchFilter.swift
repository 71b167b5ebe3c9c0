import KVStore

/// Which keys a watch follows (Docs/API.md, "Watch"). Keys are compared by their bytes,
/// as LMDB orders and tells them apart, not by Unicode equivalence.
public enum WatchFilter: Sendable, Equatable {
    case key(String)
    /// Every key that starts with these bytes; the empty prefix follows every key.
    case prefix(String)

    public func matches(_ key: String) -> Bool {
        switch self {
        case .key(let wanted): key.utf8.elementsEqual(wanted.utf8)
        case .prefix(let prefix): key.utf8.starts(with: prefix.utf8)
        }
    }
}

/// What a watcher is handed next.
public enum WatchDelivery: Sendable, Equatable {
    /// Changes in revision order; a batch always holds every matching event of each of its
    /// revisions, so the last event of a revision is known when it is written.
    case events([KVEvent])
    /// Nothing matched for a while: the watch has seen every change up to this revision.
    case progress(UInt64)
    /// The watch is over; the client may resume after the last revision it received.
    case ended(WatchEnd)
}

/// Why a watch stopped.
public enum WatchEnd: Sendable, Equatable {
    /// It did not take its events fast enough: its buffer filled up.
    case overrun
    /// History it still needed was compacted away (history at and below this revision is gone).
    case compacted(compactRevision: UInt64)
    /// The node is shutting down, or the watcher was cancelled.
    case closed
}

/// Why a watch cannot start.
public enum WatchRefusal: Error, Sendable, Equatable {
    /// This node serves as many watches as it may (`--max-watchers`).
    case tooManyWatchers(limit: Int)
    case compacted(compactRevision: UInt64)
    case closed
    /// The store could not be read (out of reader slots, a failing disk).
    case unavailable(String)
}
