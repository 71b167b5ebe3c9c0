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
    /// neither a 503 nor a redirect; the caller reads (or streams) its body.
    ///
    /// Why these rules: a connection error or a 503 says nothing about the other nodes, so the
    /// next endpoint is tried at once, while the one that answered 503 is not asked again
    /// before its `Retry-After`. A round in which no endpoint answered at all counts toward
    /// ``KVClientConfiguration/unreachableRounds``; answers (503s) keep the call waiting up to
    /// ``KVClientConfiguration/retryBudget``, the time a cluster takes to elect a leader.
    ///
    /// `avoiding` names an endpoint that just failed the caller in a way this call cannot see
    /// (a watch stream that ended): the call starts on the next one.
    func send(_ request: APIRequest, avoiding: Endpoint? = nil) async throws -> APIResponse {
        let endpoints = configuration.endpoints
        let clock = ContinuousClock()
        let deadline = clock.now + configuration.retryBudget
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
                if answer.status == 503 {
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

    /// One try on one endpoint, following `307`/`308` redirects (membership calls on a
    /// follower point at the leader) up to five times.
    func attempt(_ request: APIRequest, on endpoint: Endpoint) async throws -> APIResponse {
        var target = endpoint
        var path = request.target
        for _ in 0..<6 {
            var outgoing = HTTPClientRequest(url: target.baseURL + path)
            outgoing.method = request.method
            if let contentType = request.body.contentType, request.method != .GET, request.method != .DELETE {
                outgoing.headers.add(name: "Content-Type", value: contentType)
            }
            if let authorization = authorizationHeader { outgoing.headers.add(name: "Authorization", value: authorization) }
            for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
            if let body = try request.body.httpBody() { outgoing.body = body }
            let response = try await http.execute(outgoing, timeout: .nanoseconds(Self.nanoseconds(configuration.requestTimeout)),
                                                   logger: logger)
            let answer = APIResponse(response: response, endpoint: target)
            guard answer.status == 307 || answer.status == 308 else { return answer }
            _ = try? await collectBody(answer, limit: 64 * 1024)
            guard let location = answer.header("Location"), let next = Self.redirectTarget(location, from: target) else {
                throw KVClientError.invalidResponse("\(answer.status) from \(target) without a usable Location")
            }
            logger.debug("\(target) redirected \(path) to \(next.endpoint)\(next.path)")
            target = next.endpoint
            path = next.path
        }
        throw KVClientError.invalidResponse("more than five redirects for \(request.target)")
    }

    /// `Authorization` for the configured credentials.
    private var authorizationHeader: String? {
        switch configuration.credentials {
        case .basic(let user, let password)?: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        case .bearer(let token)?: "Bearer \(token)"
        case nil: nil
        }
    }

    /// An absolute `http(s)://host:port/path` from `Location`, or a path on the same endpoint.
    /// Anything else (another scheme, no port, a malformed host) is not followed.
    static func redirectTarget(_ location: String, from current: Endpoint) -> (endpoint: Endpoint, path: String)? {
        if location.hasPrefix("/") { return (current, location) }
        for scheme in [Endpoint.Scheme.http, .https] {
            let prefix = "\(scheme.rawValue)://"
            guard location.hasPrefix(prefix) else { continue }
            let rest = location.dropFirst(prefix.count)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            guard let endpoint = try? Endpoint(parsing: String(rest[..<slash]), defaultScheme: scheme) else { return nil }
            let path = rest[slash...]
            return (Endpoint(scheme: scheme, host: endpoint.host, port: endpoint.port), path.isEmpty ? "/" : String(path))
        }
        return nil
    }

    /// `Retry-After` in whole seconds (at most 5, so a hostile answer cannot stall the client
    /// beyond its budget), or a short pause when absent or not a number (an HTTP date is not
    /// worth the parsing here: kv-node sends seconds).
    static func retryAfter(_ header: String?) -> Duration {
        guard let header, let seconds = Int(header.trimmingCharacters(in: .whitespaces)), seconds >= 0 else {
            return .milliseconds(200)
        }
        return .seconds(min(seconds, 5))
    }
}
