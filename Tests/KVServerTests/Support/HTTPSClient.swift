import AsyncHTTPClient
import Foundation
import HTTPTestSupport
import NIOCore
import NIOHTTP1
import NIOSSL

/// An HTTPS client for the client-TLS tests: trusts the test CA (or nothing beyond the
/// system's roots), optionally presents a client certificate, and answers `HTTPReply`s
/// like `HTTP.send`. Use it through `with`, which shuts it down also when the test fails.
struct HTTPSClient {
    private let client: HTTPClient

    /// `trustedCA` nil: only the system's roots, so the test CA's server is not trusted.
    /// Host names are not checked: the nodes listen on 127.0.0.1 and the test certificates
    /// name no address; the chain to the CA is.
    @discardableResult
    static func with<T>(trustedCA: String?, certificate: String? = nil, key: String? = nil,
                        _ body: (HTTPSClient) async throws -> T) async throws -> T {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let trustedCA { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(trustedCA)) }
        tls.certificateVerification = .noHostnameVerification
        if let certificate, let key {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.httpVersion = .http1Only
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let result = try await body(HTTPSClient(client: client))
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func send(_ method: HTTPMethod, _ url: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> HTTPReply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        // A fresh connection per request, as `HTTP.send` does, so a refused handshake shows
        // on the request that caused it.
        request.headers.add(name: "Connection", value: "close")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await client.execute(request, timeout: .seconds(20))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        var fields: [String: String] = [:]
        for header in response.headers { fields[header.name.lowercased()] = header.value }
        return HTTPReply(status: Int(response.status.code), headers: fields, body: Data(bytes.readableBytesView))
    }
}
