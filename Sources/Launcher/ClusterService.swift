import Logging
import ServiceLifecycle

/// Runs the cluster for as long as the launcher runs: starts (or resumes) the nodes, polls
/// them, and on graceful shutdown (SIGINT/SIGTERM) stops every node before the HTTP server
/// goes away, so the dashboard still sees the nodes stop.
public struct ClusterService: Service {
    let controller: ClusterController
    let monitor: StatusMonitor
    let events: EventHub
    let logger: Logger

    public init(controller: ClusterController, monitor: StatusMonitor, events: EventHub, logger: Logger) {
        self.controller = controller
        self.monitor = monitor
        self.events = events
        self.logger = logger
    }

    public func run() async throws {
        await controller.startAll()
        let polling = Task { await monitor.run() }
        // Returns when shutdown begins (or throws if this task is cancelled outright).
        try? await gracefulShutdown()
        logger.notice("stopping all nodes")
        await controller.shutdown()
        polling.cancel()
        await monitor.pollOnce()
        events.finish()
        logger.notice("all nodes stopped")
    }
}
