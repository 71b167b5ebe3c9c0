import NIOCore
import NIOPosix
import Testing
import Transport

/// `EventLoopExecutor` as an actor's executor and as a task's preference: both must run on
/// the loop.
@Suite(.timeLimit(.minutes(1))) struct EventLoopExecutorTests {
    actor Counter {
        nonisolated let executor: EventLoopExecutor
        nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
        private(set) var value = 0
        private(set) var runsOffLoop = 0

        init(executor: EventLoopExecutor) { self.executor = executor }

        func increment() {
            if !executor.eventLoop.inEventLoop { runsOffLoop += 1 }
            value += 1
        }
    }

    @Test func actorJobsAndPreferringTasksRunOnTheLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = EventLoopExecutor(group.next())
        let counter = Counter(executor: executor)
        let onLoop = await withTaskGroup(of: Bool.self) { tasks in
            for _ in 0..<200 {
                tasks.addTask(executorPreference: executor) {
                    // Nonisolated code in a task that prefers the executor runs on its loop.
                    let here = executor.eventLoop.inEventLoop
                    await counter.increment()
                    return here
                }
            }
            return await tasks.reduce(true) { $0 && $1 }
        }
        #expect(onLoop)
        #expect(await counter.value == 200)
        #expect(await counter.runsOffLoop == 0)
        try await group.shutdownGracefully()
    }
}
