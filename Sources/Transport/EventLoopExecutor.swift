import NIOCore

/// Runs Swift concurrency jobs on one NIO event loop, both as an actor's executor and as a
/// task's executor preference.
///
/// Why: the node runtime used to live on Swift's shared pool, so every Raft message went
/// from the transport's event loop to a pool thread and on to the actor, and every flush
/// answer back again. Each of those hand-offs woke a parked thread, and under load the
/// wake-ups cost more CPU than Raft itself. An actor on the transport's own loop steps a
/// message on the thread that read it; tasks that prefer this executor (the runtime's
/// loops) run there too, so hopping between them and the actor is a queue append on the
/// same thread rather than a wake-up of another.
///
/// Jobs run in submission order on the loop's single thread, which is what makes it a
/// serial executor. The loop must outlive every actor and task that uses it.
public final class EventLoopExecutor: SerialExecutor, TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            // Whether the job was enqueued for an actor on this executor or for a task that
            // prefers it, it runs on the loop's thread, where it holds that isolation.
            job.runSynchronously(isolatedTo: self.asUnownedSerialExecutor(), taskExecutor: self.asUnownedTaskExecutor())
        }
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    public func checkIsolated() {
        eventLoop.preconditionInEventLoop()
    }
}
