import Foundation
import KVStore
import Logging
import NIOPosix
import NodeRuntime
import RaftCore
import Transport

/// One node of an in-process cluster: a real store in its own directory, a loopback
/// transport and the runtime between them. A node is one incarnation: a restart makes a new
/// `RuntimeNode` on the same directory and Raft port.
public final class RuntimeNode: Sendable {
    public let id: NodeID
    public let directory: String
    public let address: MemberAddress
    public let store: DurableStore
    public let transport: RaftTransport
    public let runtime: NodeRuntime
    /// The runtime's counters (what `/metrics` renders), readable without a hop to the actor.
    public let metrics: NodeMetrics
    /// The transport's and the runtime's thread. It belongs to the node, not the transport,
    /// so it outlives both: a snapshot task may still be queued on it after `stop()`
    /// (kv-node keeps its loop the same way). The cluster stops it last.
    let group: MultiThreadedEventLoopGroup

    init(id: NodeID, directory: String, address: MemberAddress, store: DurableStore, transport: RaftTransport,
         runtime: NodeRuntime, metrics: NodeMetrics, group: MultiThreadedEventLoopGroup) {
        self.id = id
        self.directory = directory
        self.address = address
        self.store = store
        self.transport = transport
        self.runtime = runtime
        self.metrics = metrics
        self.group = group
    }

    /// What a crash looks like to the other nodes: the runtime stops and every connection
    /// closes. The store is closed too, so the directory can be opened again.
    func stop() async {
        await runtime.stop()
        await transport.shutdown()
        store.close()
    }

    /// The value of `key` in this node's state machine as it is now (no barrier).
    public func localValue(_ key: String) throws -> String? {
        try store.stateMachine.get(key).map { String(decoding: $0.value, as: UTF8.self) }
    }
}
