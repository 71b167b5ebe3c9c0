import Foundation
import Glibc
import Logging

/// Owns the node processes and the persisted cluster configuration.
///
/// Every process start, signal and exit goes through this actor, so the state it reports is
/// the state the processes are in. It knows nothing about Raft: quorum checks and membership
/// changes live in `ClusterController`.
public actor Supervisor {
    public nonisolated let dataDirectory: URL
    public nonisolated let executable: String
    public nonisolated let plan: PortPlan
    private let store: ClusterConfigStore
    private let events: EventHub
    private let arguments: NodeArguments
    /// The cluster CA; every node starts with a certificate from it. Nil starts nodes
    /// without peer TLS (tests of process handling that do not care).
    private let certificates: ClusterCertificates?
    private let logger: Logger
    private let stopTimeout: Duration
    private var config: ClusterConfig
    private var processes: [NodeID: ProcessRecord] = [:]

    public init(
        dataDirectory: URL, executable: String, plan: PortPlan, config: ClusterConfig, events: EventHub,
        logger: Logger, stopTimeout: Duration = .seconds(10), certificates: ClusterCertificates? = nil,
        servesHTTPS: Bool = false
    ) {
        self.dataDirectory = dataDirectory
        self.executable = executable
        self.plan = plan
        self.store = ClusterConfigStore(dataDirectory: dataDirectory)
        self.events = events
        self.arguments = NodeArguments(dataDirectory: dataDirectory.path, servesHTTPS: servesHTTPS && certificates != nil)
        self.logger = logger
        self.stopTimeout = stopTimeout
        self.certificates = certificates
        self.config = config
    }

    public func snapshot() -> SupervisorSnapshot {
        SupervisorSnapshot(config: config, processes: processes)
    }

    public func persist() throws {
        try store.save(config)
    }

    /// Records that the cluster has had a leader: founders are never given `--bootstrap` again.
    public func markBootstrapped() {
        guard !config.bootstrapped else { return }
        config.bootstrapped = true
        do {
            try store.save(config)
        } catch {
            logger.error("cannot save cluster.json: \(error)")
        }
        events.record(.clusterBootstrapped, "The cluster elected its first leader; it will be resumed, never bootstrapped again.", severity: .success)
    }

    public func logPath(for id: NodeID) -> String {
        arguments.directory(for: id) + "/node.log"
    }

    // MARK: Starting

    /// Starts the node's process. `joinAddress` is used for nodes that were added (not founders).
    public func start(_ id: NodeID, joinAddress: String?) throws(ControlError) {
        guard let node = config.node(id) else { throw .notFound("no node \(id)") }
        let record = processes[id] ?? ProcessRecord()
        guard !record.state.hasProcess else { throw .conflict("\(id) is already running (pid \(record.pid ?? 0))") }
        for port in [node.apiPort, node.raftPort] where !PortProbe.isFree(port) {
            throw .conflict("port \(port) of \(id) is in use by another process")
        }
        let directory = arguments.directory(for: id)
        do {
            try PrivateFiles.makeDirectory(URL(fileURLWithPath: directory))
        } catch {
            throw .failed("cannot create \(directory): \(error)")
        }
        // Issued here when missing, so a node added later, or one from a data directory made
        // before the launcher made certificates, gets its own before its first start.
        let peerTLS: PeerTLSPaths?
        do {
            peerTLS = try certificates?.nodeFiles(for: id, host: NodeArguments.nodeHost)
        } catch {
            throw .failed("cannot make the TLS certificate of \(id): \(error)")
        }
        let argv = arguments.arguments(for: node, in: config, joinAddress: joinAddress, peerTLS: peerTLS)
        appendBanner(to: id, "starting \(executable) \(argv.joined(separator: " "))")
        let pid: Int32
        do {
            pid = try ProcessSpawner.spawn(executable: executable, arguments: argv, logPath: logPath(for: id))
        } catch {
            events.record(.error, node: id, "\(id) could not be started: \(error)", severity: .error)
            throw .failed("\(error)")
        }
        var started = ProcessRecord()
        started.pid = pid
        started.state = .running
        started.startedAt = Date()
        started.lastExit = record.lastExit
        processes[id] = started
        try? "\(pid)\n".write(toFile: directory + "/node.pid", atomically: true, encoding: .utf8)
        logger.info("started \(id) pid \(pid)")
        let how = argv.contains("--bootstrap") ? " (bootstrapping)" : argv.contains("--join") ? " (joining)" : ""
        events.record(.nodeStarted, node: id, "\(id) started\(how), pid \(pid)", severity: .info)
        Task { [weak self] in
            let status = await ProcessSpawner.waitForExit(pid)
            await self?.processExited(id, pid: pid, status: status)
        }
    }

    private func processExited(_ id: NodeID, pid: Int32, status: ExitStatus) {
        guard var record = processes[id], record.pid == pid else { return }
        record.pid = nil
        record.lastExit = status
        let expected = record.stopRequested || status == .exited(0)
        record.state = expected ? .stopped : .crashed
        let killed = record.killRequested
        record.stopRequested = false
        record.killRequested = false
        processes[id] = record
        try? FileManager.default.removeItem(atPath: arguments.directory(for: id) + "/node.pid")
        appendBanner(to: id, "process \(pid) ended: \(status)")
        logger.info("\(id) pid \(pid) ended: \(status)")
        if killed {
            events.record(.nodeKilled, node: id, "\(id) was killed with SIGKILL (simulated crash)", severity: .error)
        } else if expected {
            events.record(.nodeStopped, node: id, "\(id) stopped (\(status))", severity: .warning)
        } else {
            events.record(.nodeCrashed, node: id, "\(id) crashed: \(status)", severity: .error)
        }
    }

    // MARK: Signals

    /// SIGTERM, then SIGKILL if the node has not exited within the stop timeout.
    /// Returns false when the node was not running.
    @discardableResult
    public func stop(_ id: NodeID) async throws(ControlError) -> Bool {
        guard config.node(id) != nil else { throw .notFound("no node \(id)") }
        guard var record = processes[id], let pid = record.pid, record.state.hasProcess else { return false }
        let wasPaused = record.state == .paused
        record.stopRequested = true
        record.state = .stopping
        processes[id] = record
        ProcessSpawner.send(SIGTERM, to: pid)
        // A stopped process only sees SIGTERM once it runs again.
        if wasPaused { ProcessSpawner.send(SIGCONT, to: pid) }
        if await waitForExit(id, pid: pid, within: stopTimeout) { return true }
        logger.warning("\(id) did not exit within \(stopTimeout) of SIGTERM; sending SIGKILL")
        ProcessSpawner.send(SIGKILL, to: pid)
        _ = await waitForExit(id, pid: pid, within: .seconds(5))
        return true
    }

    /// SIGKILL without warning: the node gets no chance to shut down, as in a power cut.
    public func kill(_ id: NodeID) async throws(ControlError) {
        guard config.node(id) != nil else { throw .notFound("no node \(id)") }
        guard var record = processes[id], let pid = record.pid, record.state.hasProcess else {
            throw .conflict("\(id) is not running")
        }
        record.killRequested = true
        processes[id] = record
        ProcessSpawner.send(SIGKILL, to: pid)
        _ = await waitForExit(id, pid: pid, within: .seconds(10))
    }

    public func pause(_ id: NodeID) throws(ControlError) {
        try signal(id, SIGSTOP, from: .running, to: .paused, refusal: "is not running")
        events.record(.nodePaused, node: id, "\(id) paused (SIGSTOP)", severity: .warning)
    }

    public func resume(_ id: NodeID) throws(ControlError) {
        try signal(id, SIGCONT, from: .paused, to: .running, refusal: "is not paused")
        events.record(.nodeResumed, node: id, "\(id) resumed (SIGCONT)", severity: .info)
    }

    /// Sends `signal` to a node in state `from` and records it as `to`.
    private func signal(
        _ id: NodeID, _ signal: Int32, from: ProcessState, to: ProcessState, refusal: String
    ) throws(ControlError) {
        guard config.node(id) != nil else { throw .notFound("no node \(id)") }
        guard var record = processes[id], let pid = record.pid, record.state == from else {
            throw .conflict("\(id) \(refusal)")
        }
        ProcessSpawner.send(signal, to: pid)
        record.state = to
        processes[id] = record
    }

    /// Polls the record rather than holding a continuation: the actor stays free for the exit
    /// handler, and the wait has a deadline.
    private func waitForExit(_ id: NodeID, pid: Int32, within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if processes[id]?.pid != pid { return true }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return processes[id]?.pid != pid
    }

    public func stopAll() async {
        await withTaskGroup(of: Void.self) { group in
            for id in processes.keys where processes[id]?.state.hasProcess == true {
                group.addTask { _ = try? await self.stop(id) }
            }
        }
    }

    // MARK: Membership in the launcher's configuration

    /// Reserves the next free slot for a new node and persists it.
    public func addNode(_ id: NodeID, isFree: (Int) -> Bool = { PortProbe.isFree($0) }) throws(ControlError) -> NodeConfig {
        guard config.node(id) == nil else { throw .conflict("a node called \(id) already exists") }
        // Node directories sit beside the certificate directory; deleting such a node would delete the CA.
        guard id.rawValue != ClusterCertificates.directoryName else {
            throw .badRequest("\(id) is reserved for the certificate directory; choose another name")
        }
        let used = Set(config.nodes.map(\.slot))
        guard let slot = plan.nextFreeSlot(used: used, isFree: isFree) else {
            throw .unavailable("no free port pair above \(plan.basePort)")
        }
        let node = NodeConfig(
            id: id, slot: slot, apiPort: plan.apiPort(slot: slot), raftPort: plan.raftPort(slot: slot), founder: false)
        config.nodes.append(node)
        do {
            try store.save(config)
        } catch {
            config.nodes.removeAll { $0.id == id }
            throw .failed("cannot save cluster.json: \(error)")
        }
        events.record(.nodeAdded, node: id, "\(id) added on ports \(node.apiPort)/\(node.raftPort)", severity: .info)
        return node
    }

    /// The next unused name of the form nodeN, for an add request without a name.
    public func suggestedName() -> NodeID {
        var n = (config.nodes.map(\.slot).max() ?? 0) + 1
        while config.node(NodeID("node\(n)")!) != nil { n += 1 }
        return NodeID("node\(n)")!
    }

    /// Drops a stopped node from the configuration and deletes its directory.
    public func forget(_ id: NodeID) throws(ControlError) {
        guard config.node(id) != nil else { throw .notFound("no node \(id)") }
        if processes[id]?.state.hasProcess == true { throw .conflict("\(id) is still running") }
        config.nodes.removeAll { $0.id == id }
        processes[id] = nil
        do {
            try store.save(config)
        } catch {
            throw .failed("cannot save cluster.json: \(error)")
        }
        // The path comes from a validated NodeID, so it is always a direct child of the data directory.
        let directory = arguments.directory(for: id)
        do {
            if FileManager.default.fileExists(atPath: directory) {
                try FileManager.default.removeItem(atPath: directory)
            }
        } catch {
            throw .failed("\(id) was removed but its directory could not be deleted: \(error)")
        }
        certificates?.remove(id)
    }

    private func appendBanner(to id: NodeID, _ line: String) {
        let stamp = ISO8601DateFormatter().string(from: Date())
        let text = "--- kv-launcher \(stamp): \(line)\n"
        guard let handle = FileHandle(forWritingAtPath: logPath(for: id)) else {
            _ = FileManager.default.createFile(atPath: logPath(for: id), contents: Data(text.utf8))
            return
        }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data(text.utf8))
    }
}
