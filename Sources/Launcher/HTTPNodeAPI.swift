import AsyncHTTPClient
import ClusterAPI
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// `NodeAPI` over HTTP with AsyncHTTPClient.
public final class HTTPNodeAPI: NodeAPI {
    private let client: HTTPClient
    /// Watches only: a stream is quiet for up to the node's 10 s progress interval, far longer
    /// than `client`'s read timeout allows, yet one silent for three intervals is dead.
    private let streamClient: HTTPClient
    private let statusTimeout: TimeAmount
    private let requestTimeout: TimeAmount
    /// Response bodies larger than this are refused rather than buffered.
    private let maxBody = 64 * 1024 * 1024
    private let maxRedirects = 3
    /// `https` when the nodes serve their API over TLS (`--tls`), else `http`.
    private let scheme: String

    /// - Parameter trustedCAFile: with it, nodes are reached over HTTPS, and their certificates
    ///   must chain to this CA (the cluster CA) and name the address dialled (127.0.0.1).
    public init(statusTimeout: TimeAmount = .seconds(1), requestTimeout: TimeAmount = .seconds(10),
                trustedCAFile: String? = nil) throws {
        var configuration = HTTPClient.Configuration()
        scheme = trustedCAFile == nil ? "http" : "https"
        if let trustedCAFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(trustedCAFile))
            configuration.tlsConfiguration = tls
        }
        // Redirects are followed by hand so the method and body survive and only loopback
        // targets are ever contacted.
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(1), read: requestTimeout)
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        configuration.timeout = .init(connect: .seconds(1), read: .seconds(30))
        // Each open watch holds a connection for as long as it lasts; the default of 8 per
        // node would queue the ninth browser tab's watch until one ends. The launcher's own
        // connection cap bounds how many there can be.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 1024
        self.streamClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.statusTimeout = statusTimeout
        self.requestTimeout = requestTimeout
    }

    public func shutdown() async {
        try? await client.shutdown()
        try? await streamClient.shutdown()
    }

    public func status(apiPort: Int) async throws -> NodeStatus {
        var request = HTTPClientRequest(url: "\(scheme)://127.0.0.1:\(apiPort)/cluster/status")
        request.method = .GET
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: statusTimeout)
        } catch {
            throw NodeUnreachable("127.0.0.1:\(apiPort): \(error)")
        }
        let body = try await response.body.collect(upTo: maxBody)
        guard response.status == .ok else {
            throw NodeUnreachable("127.0.0.1:\(apiPort) answered \(response.status.code) to /cluster/status")
        }
        return try JSONDecoder().decode(NodeStatus.self, from: Data(buffer: body))
    }

    public func send(_ nodeRequest: NodeRequest, apiPort: Int) async throws -> NodeResponse {
        var authority = "127.0.0.1:\(apiPort)"
        var target = nodeRequest.target
        for _ in 0...maxRedirects {
            let response = try await sendOnce(nodeRequest, authority: authority, target: target)
            guard [307, 308].contains(response.status), let location = response.location,
                let next = HTTPNodeAPI.loopbackTarget(location, relativeTo: authority, scheme: scheme)
            else { return response }
            (authority, target) = next
        }
        throw NodeUnreachable("too many redirects for \(nodeRequest.method) \(nodeRequest.target)")
    }

    private func sendOnce(_ nodeRequest: NodeRequest, authority: String, target: String) async throws -> NodeResponse {
        var request = HTTPClientRequest(url: "\(scheme)://\(authority)\(target)")
        request.method = HTTPMethod(rawValue: nodeRequest.method)
        for (name, value) in nodeRequest.headers { request.headers.add(name: name, value: value) }
        if let body = nodeRequest.body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: requestTimeout)
        } catch {
            throw NodeUnreachable("\(authority): \(error)")
        }
        let body = try await response.body.collect(upTo: maxBody)
        return NodeResponse(
            status: Int(response.status.code),
            contentType: response.headers.first(name: "Content-Type"),
            retryAfter: response.headers.first(name: "Retry-After"),
            location: response.headers.first(name: "Location"),
            storeRevision: response.headers.first(name: "X-KV-Revision"),
            etag: response.headers.first(name: "ETag"),
            body: body)
    }

    public func openStream(_ nodeRequest: NodeRequest, apiPort: Int) async throws -> NodeStream {
        let authority = "127.0.0.1:\(apiPort)"
        var request = HTTPClientRequest(url: "\(scheme)://\(authority)\(nodeRequest.target)")
        request.method = HTTPMethod(rawValue: nodeRequest.method)
        for (name, value) in nodeRequest.headers { request.headers.add(name: name, value: value) }
        let response: HTTPClientResponse
        do {
            // The deadline covers the head only; the body then streams for as long as it lasts.
            response = try await streamClient.execute(request, timeout: nodeRequest.headTimeout ?? requestTimeout)
        } catch {
            throw NodeUnreachable("\(authority): \(error)")
        }
        return NodeStream(
            status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type"),
            storeRevision: response.headers.first(name: "X-KV-Revision"), body: response.body)
    }

    /// Splits a redirect `Location` into authority and target, accepting only loopback hosts:
    /// a node's redirect must never make the launcher contact another machine.
    /// Only a redirect with the scheme the launcher speaks is followed: an `http` one while
    /// nodes serve HTTPS would send the request in clear.
    static func loopbackTarget(_ location: String, relativeTo authority: String, scheme: String = "http") -> (String, String)? {
        if location.hasPrefix("/") { return (authority, location) }
        // URLComponents keeps the percent-encoding that URL.path would decode away.
        guard let url = URLComponents(string: location), url.scheme == scheme, let host = url.host,
            let port = url.port, ["127.0.0.1", "localhost", "::1"].contains(host)
        else { return nil }
        var target = url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath
        if let query = url.percentEncodedQuery { target += "?" + query }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return ("\(hostPart):\(port)", target)
    }
}
