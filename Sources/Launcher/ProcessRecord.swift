import Foundation

/// What the supervisor knows about a node's process.
public enum ProcessState: String, Codable, Sendable {
    /// Running (it may not answer yet; `NodeView.status` tells).
    case running
    /// Held with SIGSTOP.
    case paused
    /// SIGTERM sent, exit not yet seen.
    case stopping
    /// Not running because someone asked, or never started.
    case stopped
    /// Exited without being asked to, or was killed with SIGKILL.
    case crashed

    /// Whether a process exists for the node.
    public var hasProcess: Bool { self == .running || self == .paused || self == .stopping }
}

public struct ProcessRecord: Sendable, Equatable {
    public var pid: Int32?
    public var state: ProcessState = .stopped
    public var lastExit: ExitStatus?
    public var startedAt: Date?
    /// Set by stop() so the exit counts as stopped, not crashed.
    var stopRequested = false
    /// Set by kill() so the timeline says it was a simulated crash.
    var killRequested = false

    public init() {}
}

/// The supervisor's state at one instant, for views and polling.
public struct SupervisorSnapshot: Sendable {
    public var config: ClusterConfig
    public var processes: [NodeID: ProcessRecord]

    public func record(_ id: NodeID) -> ProcessRecord { processes[id] ?? ProcessRecord() }
}
