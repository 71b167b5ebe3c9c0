import KVStore
import Synchronization

/// Fans the node's changes out to its watchers (Docs/API.md, "Watch").
///
/// Why one hub instead of a store read per watcher: with a thousand watchers on a busy
/// node, each of them reading history after every applied batch would multiply the reads
/// by the watchers. Here one filler task reads what was applied (one
/// `KVStateMachine.events(after:limit:)` per notification) into a bounded `WatchWindow`,
/// and hands every live watcher its matching events into a bounded queue of its own. A
/// watcher that starts behind the window reads the store itself, page by page, until it
/// reaches the window and goes live.
///
/// Guarantees: each watcher gets every matching event after its start revision exactly
/// once, in revision order, whole revisions at a time. A watcher whose queue overflows is
/// ended (`WatchEnd.overrun`) rather than allowed to hold memory: its client resumes after
/// the last revision it received. History compacted away under a watcher ends it with
/// `compacted`.
///
/// The runtime calls `notify()` from the write thread as soon as a batch is applied, since
/// the state machine shows applied events before their transaction commits; it brackets a
/// snapshot install with `beginInstall()` and `reset()`, so that no read which overlapped
/// the install (and could mix the old history with the new revision) is used.
public final class WatchHub: Sendable {
    public struct Limits: Sendable {
        /// Concurrent watchers on this node (`--max-watchers`); more are refused.
        public var maxWatchers = 10_000
        /// Bounds of the shared window of recent events.
        public var windowEvents = 10_000
        public var windowBytes = 16 << 20
        /// Bounds of one watcher's queue of events not yet taken: about a second or more of
        /// a busy prefix. Beyond either, the watcher is ended.
        public var watcherEvents = 4_096
        public var watcherBytes = 4 << 20
        /// Events queued for all watchers together. Each queued event is a copy of its
        /// record, so without this bound many watchers that never read (each within its own
        /// limit) could still hold gigabytes; past it, a watcher about to be handed more is
        /// ended instead, as on its own overrun.
        public var queuedEventsTotal = 500_000
        /// An idle watcher is handed a progress report at least every two of these.
        public var progressInterval: Duration = .seconds(5)
        /// Events read from the store, or scanned in the window, at a time.
        public var pageEvents = 1_000

        public init() {}
    }

    private struct Watcher {
        let filter: WatchFilter
        /// Every matching event at or below this revision was delivered or is queued.
        var cursor: UInt64
        /// Fed by the filler; otherwise catching up from the window or the store.
        var live = false
        var queue: [KVEvent] = []
        var queuedBytes = 0
        var ending: WatchEnd?
        var waiter: CheckedContinuation<Void, Never>?
        var progressDue = false
        var deliveredSinceTick = false

        init(filter: WatchFilter, cursor: UInt64) {
            self.filter = filter
            self.cursor = cursor
        }

        func hasWork(installing: Bool) -> Bool {
            !queue.isEmpty || ending != nil || progressDue || (!live && !installing)
        }
    }

    private struct State {
        var window: WatchWindow
        var watchers: [UInt64: Watcher] = [:]
        var nextID: UInt64 = 1
        var closed = false
        /// Raised when a snapshot install begins and ends: a store read that overlapped
        /// either is thrown away and done again.
        var generation: UInt64 = 0
        var installing = false
        /// Events in all watchers' queues (bounded by `Limits.queuedEventsTotal`).
        var queuedEvents = 0
    }

    /// A page of the store's history: its events, and the revision it covers up to.
    struct StorePage {
        var events: [KVEvent]
        var through: UInt64
    }

    private enum Step {
        case deliver(WatchDelivery)
        case readStore(after: UInt64, generation: UInt64)
        case wait
        case again
    }

    let stateMachine: KVStateMachine
    public let limits: Limits
    private let state: Mutex<State>
    /// Whether anyone watches: read by `notify()` on the write thread without the lock, so
    /// that a node nobody watches wakes no thread per applied batch.
    private let watched = Atomic<Bool>(false)
    private let signals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation
    private let tasks = Mutex<[Task<Void, Never>]>([])

    public init(stateMachine: KVStateMachine, limits: Limits = Limits()) {
        self.stateMachine = stateMachine
        self.limits = limits
        state = Mutex(State(window: WatchWindow(at: stateMachine.revision, maxEvents: limits.windowEvents,
                                                maxBytes: limits.windowBytes)))
        (signals, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Starts the filler and the progress ticker.
    public func start() {
        let filler = Task { [weak self, signals] in
            for await _ in signals {
                guard let self else { return }
                self.fill()
            }
        }
        let ticker = Task { [weak self, interval = limits.progressInterval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self else { return }
                self.tick()
            }
        }
        tasks.withLock { $0 += [filler, ticker] }
    }

    /// Ends every watch and refuses new ones: the node is stopping.
    public func close() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.closed = true
            return Self.takeWaiters(&s) { _ in true }
        }
        for waiter in waiters { waiter.resume() }
        signal.finish()
        for task in tasks.withLock({ $0 }) { task.cancel() }
    }

    /// Something was applied: called from the write thread, so it only signals the filler.
    public func notify() {
        if watched.load(ordering: .relaxed) { signal.yield() }
    }

    /// A snapshot is about to replace the state machine: nothing read from now on is used
    /// until `reset()`.
    public func beginInstall() {
        state.withLock { s in
            s.installing = true
            s.generation &+= 1
        }
    }

    /// A snapshot was installed: the window is dropped (what follows is read from the new
    /// history) and everyone waiting looks again.
    public func reset() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.installing = false
            s.generation &+= 1
            s.window.reset(at: s.window.end)
            return Self.takeWaiters(&s) { !$0.live }
        }
        for waiter in waiters { waiter.resume() }
        notify()
    }

    /// Watchers being served now.
    public var watcherCount: Int { state.withLock { $0.watchers.count } }

    /// Starts a watch of `filter` that delivers every change with a revision above `revision`.
    public func subscribe(_ filter: WatchFilter, after revision: UInt64) throws(WatchRefusal) -> WatchSubscription {
        let compacted: UInt64
        do {
            compacted = try stateMachine.compactRevision()
        } catch {
            throw .unavailable("\(error)")
        }
        if revision < compacted { throw .compacted(compactRevision: compacted) }
        let limit = limits.maxWatchers
        let id = try state.withLock { s throws(WatchRefusal) -> UInt64 in
            if s.closed { throw .closed }
            guard s.watchers.count < limit else { throw .tooManyWatchers(limit: limit) }
            let id = s.nextID
            s.nextID &+= 1
            var watcher = Watcher(filter: filter, cursor: revision)
            // Nothing to catch up on: the filler hands it everything after the window's end.
            watcher.live = revision >= s.window.end && !s.installing
            if s.watchers.isEmpty {
                // Nobody watched, so nothing moved the window: start it at the store's revision
                // rather than page through everything applied meanwhile.
                s.window.reset(at: max(s.window.end, stateMachine.revision))
                watcher.live = revision >= s.window.end && !s.installing
            }
            s.watchers[id] = watcher
            watched.store(true, ordering: .relaxed)
            return id
        }
        notify()
        return WatchSubscription(hub: self, id: id)
    }

    func cancel(_ id: UInt64) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let watcher = s.watchers.removeValue(forKey: id) else { return nil }
            if s.watchers.isEmpty { watched.store(false, ordering: .relaxed) }
            s.queuedEvents -= watcher.queue.count
            return watcher.waiter
        }
        waiter?.resume()
    }

    // MARK: Watchers

    /// What watcher `id` is handed next; waits while there is nothing. One caller at a time.
    func next(_ id: UInt64) async -> WatchDelivery {
        while true {
            switch step(id) {
            case .deliver(let delivery):
                return delivery
            case .again:
                continue
            case .readStore(let after, let generation):
                catchUp(id, after: after, generation: generation)
            case .wait:
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let now = state.withLock { s -> Bool in
                            guard let index = s.watchers.index(forKey: id), !s.closed,
                                  !s.watchers.values[index].hasWork(installing: s.installing) else { return true }
                            s.watchers.values[index].waiter = continuation
                            return false
                        }
                        if now { continuation.resume() }
                    }
                } onCancel: {
                    cancel(id)
                }
            }
        }
    }

    private func step(_ id: UInt64) -> Step {
        let scanLimit = limits.pageEvents
        return state.withLock { s -> Step in
            guard let index = s.watchers.index(forKey: id) else { return .deliver(.ended(.closed)) }
            if !s.watchers.values[index].queue.isEmpty {
                let events = s.watchers.values[index].queue
                s.queuedEvents -= events.count
                s.watchers.values[index].queue = []
                s.watchers.values[index].queuedBytes = 0
                s.watchers.values[index].deliveredSinceTick = true
                return .deliver(.events(events))
            }
            if let end = s.watchers.values[index].ending {
                s.watchers.remove(at: index)
                if s.watchers.isEmpty { watched.store(false, ordering: .relaxed) }
                return .deliver(.ended(end))
            }
            if s.closed {
                s.watchers.remove(at: index)
                if s.watchers.isEmpty { watched.store(false, ordering: .relaxed) }
                return .deliver(.ended(.closed))
            }
            let watcher = s.watchers.values[index]
            if !watcher.live {
                if s.installing { return .wait }
                guard let found = s.window.events(after: watcher.cursor, matching: watcher.filter, scanLimit: scanLimit) else {
                    return .readStore(after: watcher.cursor, generation: s.generation)
                }
                s.watchers.values[index].cursor = found.through
                // Caught up: from here on the filler hands it what comes after the window.
                if found.through >= s.window.end { s.watchers.values[index].live = true }
                guard !found.events.isEmpty else { return .again }
                s.watchers.values[index].deliveredSinceTick = true
                return .deliver(.events(found.events))
            }
            if watcher.progressDue {
                s.watchers.values[index].progressDue = false
                return .deliver(.progress(watcher.cursor))
            }
            return .wait
        }
    }

    /// Reads one page of the store for a watcher behind the window; it is queued like
    /// anything else the watcher gets.
    private func catchUp(_ id: UInt64, after revision: UInt64, generation: UInt64) {
        let outcome: Result<StorePage, KVStoreError>
        do {
            outcome = .success(try readStore(after: revision, limit: limits.pageEvents))
        } catch {
            outcome = .failure(error)
        }
        state.withLock { s in
            guard s.generation == generation, let index = s.watchers.index(forKey: id),
                  s.watchers.values[index].cursor == revision, !s.watchers.values[index].live else { return }
            switch outcome {
            case .success(let page):
                let filter = s.watchers.values[index].filter
                let matching = page.events.filter { filter.matches($0.key) }
                guard s.queuedEvents + matching.count <= limits.queuedEventsTotal else {
                    s.watchers.values[index].ending = .overrun
                    return
                }
                s.watchers.values[index].cursor = page.through
                s.watchers.values[index].queue = matching
                s.queuedEvents += matching.count
            case .failure(.compacted(let compactRevision)):
                s.watchers.values[index].ending = .compacted(compactRevision: compactRevision)
            case .failure:
                // The store could not be read (no reader slot, a failing disk): the client
                // retries from its last revision.
                s.watchers.values[index].ending = .closed
            }
        }
    }

    /// Events after `revision` and the revision the page covers up to.
    ///
    /// The store's revision is read first: every event at or below it has been recorded
    /// in full, while a revision above it may still be half applied (a transaction records
    /// its events one by one), so the page is cut there unless it ended earlier.
    func readStore(after revision: UInt64, limit: Int) throws(KVStoreError) -> StorePage {
        let upTo = stateMachine.revision
        let events = try stateMachine.events(after: revision, limit: limit)
        // A full page may end before everything there is; it never ends inside a revision.
        if events.count >= limit, let last = events.last?.revision, last < upTo {
            return StorePage(events: events, through: last)
        }
        let through = max(upTo, revision)
        return StorePage(events: events.filter { $0.revision <= through }, through: through)
    }

    // MARK: The filler

    /// Reads what was applied since the window's end into the window and every live
    /// watcher's queue, a page at a time, until it has caught up.
    func fill() {
        while true {
            let next = state.withLock { s -> (from: UInt64, generation: UInt64)? in
                if s.closed || s.installing { return nil }
                if s.watchers.isEmpty {
                    // Nobody to read for: move on without reading.
                    s.window.reset(at: max(s.window.end, stateMachine.revision))
                    return nil
                }
                return (s.window.end, s.generation)
            }
            guard let (from, generation) = next else { return }
            let page: StorePage
            do {
                page = try readStore(after: from, limit: limits.pageEvents)
            } catch .compacted(let compactRevision) {
                skipCompacted(to: compactRevision, generation: generation)
                continue
            } catch {
                // Tried again at the next notification.
                return
            }
            guard page.through > from else { return }
            let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>]? in
                guard s.generation == generation, s.window.end == from, !s.closed else { return nil }
                s.window.append(page.events, through: page.through)
                return hand(page, to: &s)
            }
            guard let waiters else { continue }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// Queues `page` for every live watcher; returns the waiters that now have work.
    private func hand(_ page: StorePage, to s: inout State) -> [CheckedContinuation<Void, Never>] {
        var waiters: [CheckedContinuation<Void, Never>] = []
        let (maxEvents, maxBytes, maxTotal) = (limits.watcherEvents, limits.watcherBytes, limits.queuedEventsTotal)
        var queuedEvents = s.queuedEvents
        defer { s.queuedEvents = queuedEvents }
        Self.forEachWatcher(&s) { watcher in
            guard watcher.live, watcher.ending == nil else { return }
            let cursor = watcher.cursor
            var added = false
            for event in page.events where event.revision > cursor && watcher.filter.matches(event.key) {
                watcher.queue.append(event)
                watcher.queuedBytes += WatchWindow.size(of: event)
                queuedEvents += 1
                added = true
            }
            watcher.cursor = max(cursor, page.through)
            guard added else { return }
            if watcher.queue.count > maxEvents || watcher.queuedBytes > maxBytes || queuedEvents > maxTotal {
                queuedEvents -= watcher.queue.count
                watcher.queue = []
                watcher.queuedBytes = 0
                watcher.ending = .overrun
            }
            if let waiter = watcher.waiter {
                watcher.waiter = nil
                waiters.append(waiter)
            }
        }
        return waiters
    }

    /// The history after the window's end was compacted (the filler fell that far behind):
    /// the window moves past it and live watchers that missed events are ended.
    private func skipCompacted(to compactRevision: UInt64, generation: UInt64) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard s.generation == generation, compactRevision > s.window.end else { return [] }
            s.window.reset(at: compactRevision)
            Self.forEachWatcher(&s) { watcher in
                if watcher.live && watcher.cursor < compactRevision { watcher.ending = .compacted(compactRevision: compactRevision) }
            }
            return Self.takeWaiters(&s) { $0.ending != nil }
        }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: Progress

    /// Hands a progress report to every live watcher that was handed nothing since the
    /// last tick.
    private func tick() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            Self.forEachWatcher(&s) { watcher in
                if watcher.live && !watcher.deliveredSinceTick { watcher.progressDue = true }
                watcher.deliveredSinceTick = false
            }
            return Self.takeWaiters(&s) { $0.progressDue }
        }
        for waiter in waiters { waiter.resume() }
    }

    private static func takeWaiters(_ s: inout State, where wanted: (Watcher) -> Bool) -> [CheckedContinuation<Void, Never>] {
        var waiters: [CheckedContinuation<Void, Never>] = []
        forEachWatcher(&s) { watcher in
            if wanted(watcher), let waiter = watcher.waiter {
                watcher.waiter = nil
                waiters.append(waiter)
            }
        }
        return waiters
    }

    /// Changes every watcher in place: walking the dictionary's values by index copies
    /// nothing, however many watchers there are.
    private static func forEachWatcher(_ s: inout State, _ body: (inout Watcher) -> Void) {
        var index = s.watchers.values.startIndex
        while index != s.watchers.values.endIndex {
            body(&s.watchers.values[index])
            s.watchers.values.formIndex(after: &index)
        }
    }
}

/// One watch on a `WatchHub`. Read it from one task at a time; dropping it ends the watch.
public final class WatchSubscription: Sendable {
    let hub: WatchHub
    let id: UInt64

    init(hub: WatchHub, id: UInt64) {
        self.hub = hub
        self.id = id
    }

    /// The next events, a progress report, or the end; waits while there is nothing.
    /// Cancelling the waiting task ends the watch.
    public func next() async -> WatchDelivery {
        await hub.next(id)
    }

    /// Ends the watch; a waiting `next()` returns `.ended(.closed)`.
    public func cancel() {
        hub.cancel(id)
    }

    deinit { hub.cancel(id) }
}
