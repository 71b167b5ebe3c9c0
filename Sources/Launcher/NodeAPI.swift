import ClusterAPI
import NIOCore

/// An HTTP request the launcher sends to a node on the user's behalf.
public struct NodeRequest: Sendable {
    public var method: String
    /// Path and query, already percent-encoded, e.g. `/kv/a%2Fb?consistency=stale`.
    public var target: String
    public var body: ByteBuffer?

    public init(method: String, target: String, body: ByteBuffer? = nil) {
        self.method = method
        self.target = target
        self.body = body
    }
}

/// A node's answer, passed back to the browser as it came.
public struct NodeResponse: Sendable {
    public var status: Int
    public var contentType: String?
    public var retryAfter: String?
    public var location: String?
    public var body: ByteBuffer

    public init(
        status: Int, contentType: String? = "application/json", retryAfter: String? = nil,
        location: String? = nil, body: ByteBuffer
    ) {
        self.status = status
        self.contentType = contentType
        self.retryAfter = retryAfter
        self.location = location
        self.body = body
    }
}

/// Why a node could not be asked at all (as opposed to answering with an error status).
public struct NodeUnreachable: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The launcher's view of a node's HTTP API. The production implementation speaks HTTP to
/// 127.0.0.1; tests substitute a scripted cluster so the control API can be exercised
/// without kv-node.
public protocol NodeAPI: Sendable {
    /// `GET /cluster/status`, with a short deadline so one stuck node cannot hold up a poll.
    func status(apiPort: Int) async throws -> NodeStatus

    /// Sends `request` to the node on `apiPort`, following up to a few 307/308 redirects to
    /// other loopback nodes (followers point writes and membership changes at the leader).
    func send(_ request: NodeRequest, apiPort: Int) async throws -> NodeResponse
}
