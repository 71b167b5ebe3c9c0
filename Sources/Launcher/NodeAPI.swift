import ClusterAPI
import NIOCore

/// An HTTP request the launcher sends to a node on the user's behalf.
public struct NodeRequest: Sendable {
    public var method: String
    /// Path and query, already percent-encoded, e.g. `/kv/a%2Fb?consistency=stale`.
    public var target: String
    public var body: ByteBuffer?
    /// Extra request headers, such as a watch's `Last-Event-ID`.
    public var headers: [String: String]
    /// How long the answer's head may take, when not the launcher's usual request timeout:
    /// a node writes a whole backup before it answers `GET /snapshot`.
    public var headTimeout: TimeAmount?

    public init(method: String, target: String, body: ByteBuffer? = nil, headers: [String: String] = [:],
                headTimeout: TimeAmount? = nil) {
        self.method = method
        self.target = target
        self.body = body
        self.headers = headers
        self.headTimeout = headTimeout
    }
}

/// A node's answer, passed back to the browser as it came.
public struct NodeResponse: Sendable {
    public var status: Int
    public var contentType: String?
    public var retryAfter: String?
    public var location: String?
    /// `X-KV-Revision`: the store revision the node answered at (Docs/API.md).
    public var storeRevision: String?
    public var etag: String?
    public var body: ByteBuffer

    public init(
        status: Int, contentType: String? = "application/json", retryAfter: String? = nil,
        location: String? = nil, storeRevision: String? = nil, etag: String? = nil, body: ByteBuffer
    ) {
        self.status = status
        self.contentType = contentType
        self.retryAfter = retryAfter
        self.location = location
        self.storeRevision = storeRevision
        self.etag = etag
        self.body = body
    }
}

/// A node's answer whose body is read as it arrives (a watch's event stream): the launcher
/// relays each chunk the moment it comes instead of waiting for an end that may never come.
/// Dropping `body` unread, or its iterator, closes the request to the node.
public struct NodeStream: Sendable {
    public var status: Int
    public var contentType: String?
    /// `X-KV-Revision`: for `GET /snapshot`, the revision the streamed file holds.
    public var storeRevision: String?
    public var body: any AsyncSequence<ByteBuffer, any Error> & Sendable

    public init(status: Int, contentType: String?, storeRevision: String? = nil,
                body: any AsyncSequence<ByteBuffer, any Error> & Sendable) {
        self.status = status
        self.contentType = contentType
        self.storeRevision = storeRevision
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

    /// Sends `request` to the node on `apiPort` and returns as soon as the answer's head is in,
    /// with the body still streaming. No redirects are followed: any node serves a watch.
    func openStream(_ request: NodeRequest, apiPort: Int) async throws -> NodeStream
}
