import KVStore
import NIOCore
import NIOHTTP1
import NodeRuntime

/// What serving a single-key request (`KVFastRequest`) means, for both handlers that do it:
/// `KVLeanFrontHandler`, which reads requests from the bytes, and `KVFastPathHandler`, which
/// takes them from NIO's HTTP/1 decoder. The checks run in the routes' order (cross-site
/// rule, credentials, key, body) and the answers are the routes' own (`KVOperations`), so a
/// client cannot tell which path served it.
struct KVFastPathService: Sendable {
    let operations: KVOperations
    let metrics: NodeMetrics
    let crossSite: CrossSiteRule
    /// With `--auth-file`: every request passes `ClientAccess` first.
    let authenticator: ClientAuthenticator?
    let maxBodyBytes: Int

    init(operations: KVOperations, metrics: NodeMetrics, maxBodyBytes: Int, secure: Bool, authenticator: ClientAuthenticator?) {
        self.operations = operations
        self.metrics = metrics
        self.crossSite = CrossSiteRule(ownAuthority: operations.runtime.config.address.api.description, secure: secure)
        self.authenticator = authenticator
        self.maxBodyBytes = maxBodyBytes
    }

    /// The request with its credentials, or nil to leave it to the routes: one whose
    /// credentials need a bcrypt check (the routes run it off the event loop and remember the
    /// header, so the client's next request takes the fast path).
    func withCredentials(_ request: KVFastRequest) -> KVFastRequest? {
        guard let authenticator else { return request }
        guard case .decided(let credentials) = authenticator.lookup(authorization: request.authorization) else { return nil }
        var request = request
        request.credentials = credentials
        return request
    }

    /// Serves `request` and calls `answer` on `loop` with the reply: at once for a stale read
    /// or a refusal, later for a write or a linearizable read.
    func serve(_ request: KVFastRequest, body: Result<ByteBuffer?, APIFailure>, on loop: any EventLoop,
               answer: @escaping (KVReply) -> Void) {
        // First, as the routes' middleware does: a refused write is not even parsed.
        if let failure = crossSite.refusal(request.crossSiteRequirement, contentType: request.contentType,
                                           origin: request.origin, host: request.host) {
            return answer(.error(failure))
        }
        // Then, as `ClientAuthMiddleware` does, before the key is judged or the body parsed
        // (the key is decoded once, for both).
        let decodedKey = KVOperations.key(fromPath: request.path)
        if let credentials = request.credentials,
           let failure = ClientAccess.refusal(credentials, for: request.accessAction(key: decodedKey)) {
            return answer(.error(failure))
        }
        let key: String
        switch decodedKey {
        case .success(let k): key = k
        case .failure(let failure): return answer(.error(failure))
        }
        let identity: String? = if case .identity(let who) = request.credentials { who.name } else { nil }
        let requestID = KVOperations.requestID(idempotencyKey: request.idempotencyKey)
        switch request.operation {
        case .get(.stale) where operations.runtime.staleReadMayProceed:
            // One LMDB read: cheaper here than any hop to another thread.
            answer(operations.readLocally(key))
        case .get(.stale):
            answerLater(on: loop, answer) { await $0.get(key, consistency: .stale) }
        case .get(.linearizable):
            answerLater(on: loop, answer) { await $0.get(key, consistency: .linearizable) }
        case .delete:
            operations.delete(key, requestID: requestID, identity: identity, answer: Self.onLoop(loop, answer))
        case .put:
            let value: String
            switch body.flatMap({ $0.map { JSON.stringField("value", in: $0) } ?? .failure(JSON.emptyBody) }) {
            case .success(let v): value = v
            case .failure(let failure): return answer(.error(failure))
            }
            operations.put(key, value: value, requestID: requestID, identity: identity, answer: Self.onLoop(loop, answer))
        }
    }

    /// Writes go to the runtime's inbox with this callback: no task per write.
    private static func onLoop(_ loop: any EventLoop, _ answer: @escaping (KVReply) -> Void) -> @Sendable (KVReply) -> Void {
        let bound = NIOLoopBound(answer, eventLoop: loop)
        return { reply in loop.execute { bound.value(reply) } }
    }

    /// Reads wait for their barrier in a task on the runtime's event loop: the barrier is an
    /// actor call there, so no thread of Swift's shared pool is woken in between. kv-node
    /// serves HTTP on that loop too, so the answer is written in the same job.
    private func answerLater(on loop: any EventLoop, _ answer: @escaping (KVReply) -> Void,
                             _ operation: @escaping @Sendable (KVOperations) async -> KVReply) {
        let bound = NIOLoopBound(answer, eventLoop: loop)
        let operations = self.operations
        Task(executorPreference: operations.runtime.executor) {
            let reply = await operation(operations)
            if loop.inEventLoop { bound.value(reply) } else { loop.execute { bound.value(reply) } }
        }
    }

    /// Counts the answer in the request metrics.
    func observe(_ reply: KVReply, to request: KVFastRequest, started: ContinuousClock.Instant) {
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        metrics.observeHTTP(method: request.method, route: KVFastRequest.route, status: reply.status,
                            seconds: Double(seconds) + Double(attoseconds) / 1e18)
    }

    /// The answer's header fields, in order, as both handlers write them; `Content-Length`
    /// and framing (`Connection`) are the caller's.
    func forEachHeader(of reply: KVReply, _ body: (StaticString, String) -> Void) {
        body("Content-Type", "application/json")
        // As `RevisionHeaderMiddleware` does for the routes (Docs/API.md, "Revisions").
        body("X-KV-Revision", String(operations.runtime.answerRevision()))
        if let etag = reply.etag { body("ETag", "\"\(etag)\"") }
        if let seconds = reply.retryAfterSeconds { body("Retry-After", String(seconds)) }
        if let challenge = reply.authenticateChallenge { body("WWW-Authenticate", challenge) }
        body("Date", HTTPDate.now)
        body("Server", NodeServer.name)
    }
}
