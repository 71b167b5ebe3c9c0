import AsyncHTTPClient
import ClusterAPI
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// `NodeAPI` over HTTP with AsyncHTTPClient.
public final class HTTPNodeAPI: NodeAPI {
    private let client: HTTPClient
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
        self.statusTimeout = statusTimeout
        self.requestTimeout = requestTimeout
    }

    public func shutdown() async {
        try? await client.shutdown()
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
            body: body)
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
