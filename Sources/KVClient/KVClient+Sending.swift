import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// An answer whose head has arrived: the status, headers and the body still to be read.
struct APIResponse: Sendable {
    var response: HTTPClientResponse
    /// The endpoint that answered (after any redirect).
    var endpoint: Endpoint

    var status: Int { Int(response.status.code) }
    func header(_ name: String) -> String? { response.headers.first(name: name) }
}

extension KVClient {
    /// Sends `request`, failing over between endpoints, and returns the first answer that is
    /// not a redirect and, for a request safe to repeat, not a 503; the caller reads (or
    /// streams) its body.
    ///
    /// Why these rules: a connection error or a 503 says nothing about the other nodes, so the
    /// next endpoint is tried at once, while the one that answered 503 is not asked again
    /// before its `Retry-After`. A round in which no endpoint answered at all counts toward
    /// ``KVClientConfiguration/unreachableRounds``; answers (503s) keep the call waiting up to
    /// ``KVClientConfiguration/retryBudget``, the time a cluster takes to elect a leader.
    /// A request that is not safe to repeat (``RetryPolicy/unsafe``) moves on only when its
    /// connection could not be made: once it may have reached a node, a second copy could
    /// apply it twice, so its 503 is returned and a lost answer is
    /// ``KVClientError/answerLost(endpoint:underlying:)``.
    ///
    /// `avoiding` names an endpoint that just failed the caller in a way this call cannot see
    /// (a watch stream that ended): the call starts on the next one.
    func send(_ request: APIRequest, avoiding: Endpoint? = nil) async throws -> APIResponse {
        let endpoints = configuration.endpoints
        let clock = ContinuousClock()
        let deadline = clock.now + Swift.min(request.retryBudget ?? configuration.retryBudget, configuration.retryBudget)
        var index = preferredEndpoint.withLock { $0 } % endpoints.count
        if let avoiding, endpoints.count > 1, endpoints[index] == avoiding { index = (index + 1) % endpoints.count }
        var notBefore = [ContinuousClock.Instant?](repeating: nil, count: endpoints.count)
        var attemptsThisRound = 0
        var answeredThisRound = false
        var silentRounds = 0
        var backoff = Duration.milliseconds(100)
        var lastTransportError: (any Error)?
        var lastUnavailable: String?

        while true {
            try Task.checkCancellation()
            if let wait = notBefore[index], wait > clock.now {
                guard wait < deadline else {
                    throw KVClientError.unavailable(lastUnavailable ?? "no endpoint could serve the request")
                }
                try await Task.sleep(until: wait, clock: clock)
            }
            let endpoint = endpoints[index]
            do {
                let answer = try await attempt(request, on: endpoint)
                if answer.status == 503 && request.retry == .safe {
                    answeredThisRound = true
                    let message = await refusalMessage(answer)
                    lastUnavailable = message
                    notBefore[index] = clock.now + Self.retryAfter(answer.header("Retry-After"))
                    logger.debug("503 from \(endpoint): \(message)")
                } else {
                    preferredEndpoint.withLock { $0 = index }
                    return answer
                }
            } catch let error as KVClientError {
                throw error
            } catch {
                if Task.isCancelled || error is CancellationError { throw CancellationError() }
                guard request.retry == .safe || TransportFailure.requestNeverSent(error) else {
                    throw KVClientError.answerLost(endpoint: endpoint.description, underlying: error)
                }
                logger.debug("\(endpoint) did not answer: \(error)")
                lastTransportError = error
            }
            index = (index + 1) % endpoints.count
            attemptsThisRound += 1
            guard attemptsThisRound >= endpoints.count else { continue }
            // A full round is over.
            if !answeredThisRound { silentRounds += 1 }
            let outOfTime = clock.now + backoff >= deadline
            if silentRounds >= configuration.unreachableRounds || (outOfTime && !answeredThisRound) {
                throw KVClientError.unreachable(endpoints: endpoints.map(\.description),
                                                underlying: lastTransportError ?? CancellationError())
            }
            if outOfTime {
                throw KVClientError.unavailable(lastUnavailable ?? "no endpoint could serve the request")
            }
            attemptsThisRound = 0
            answeredThisRound = false
            try await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(1))
        }
    }

    /// One attempt on `endpoint` (redirects followed), no failover: for questions about that
    /// node itself.
    func sendOnce(_ request: APIRequest, to endpoint: Endpoint) async throws -> APIResponse {
        do {
            return try await attempt(request, on: endpoint)
        } catch {
            throw TransportFailure.reported(error, endpoint: endpoint)
        }
    }

    /// One try on one endpoint, following `307`/`308` redirects (membership calls on a
    /// follower point at the leader) up to five times, within ``RedirectPolicy``'s rules.
    func attempt(_ request: APIRequest, on endpoint: Endpoint) async throws -> APIResponse {
        var target = endpoint
        var path = request.target
        var sendsCredentials = true
        for _ in 0..<6 {
            var outgoing = HTTPClientRequest(url: target.baseURL + path)
            outgoing.method = request.method
            if let contentType = request.body.contentType, request.method != .GET, request.method != .DELETE {
                outgoing.headers.add(name: "Content-Type", value: contentType)
            }
            if sendsCredentials, let authorization = authorizationHeader {
                outgoing.headers.add(name: "Authorization", value: authorization)
            }
            for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
            if let body = try request.body.httpBody() { outgoing.body = body }
            let response = try await http.execute(outgoing, deadline: headDeadline(request.headTimeout), logger: logger)
            let answer = APIResponse(response: response, endpoint: target)
            guard answer.status == 307 || answer.status == 308 else { return answer }
            _ = try? await collectBody(answer, limit: 64 * 1024)
            guard let location = answer.header("Location"),
                  let hop = RedirectPolicy.hop(to: location, from: target, configured: configuration.endpoints) else {
                throw KVClientError.invalidResponse("\(answer.status) from \(target) without a Location the client may follow")
            }
            logger.debug("\(target) redirected \(path) to \(hop.endpoint)\(hop.path)")
            sendsCredentials = sendsCredentials && hop.keepsCredentials
            target = hop.endpoint
            path = hop.path
        }
        throw KVClientError.invalidResponse("more than five redirects for \(request.target)")
    }

    private func headDeadline(_ timeout: HeadTimeout) -> NIODeadline {
        switch timeout {
        case .requestTimeout: .now() + .nanoseconds(Self.nanoseconds(configuration.requestTimeout))
        case .unlimited: .distantFuture
        }
    }

    /// `Authorization` for the configured credentials.
    private var authorizationHeader: String? {
        switch configuration.credentials {
        case .basic(let user, let password)?: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        case .bearer(let token)?: "Bearer \(token)"
        case nil: nil
        }
    }

    /// `Retry-After` in whole seconds (at most 5, so a hostile answer cannot stall the client
    /// beyond its budget), or a short pause when absent or not a number (an HTTP date is not
    /// worth the parsing here: kv-node sends seconds).
    static func retryAfter(_ header: String?) -> Duration {
        let text = header?.trimmingCharacters(in: .whitespaces) ?? ""
        guard !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            return .milliseconds(200)
        }
        // Any run of digits longer than "5" means at least 5 seconds; no integer conversion can overflow.
        let seconds = text.drop { $0 == "0" }
        return seconds.count > 1 ? .seconds(5) : .seconds(min(Int(seconds) ?? 0, 5))
    }
}
