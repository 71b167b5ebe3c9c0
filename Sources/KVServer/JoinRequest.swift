import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NodeRuntime

/// One `POST` over HTTP/1.1 and its answer: the only request kv-node makes as an HTTP client
/// (`JoinClient`). It is made on NIO directly: AsyncHTTPClient would bring HTTP/2, SOCKS and
/// compression into kv-node for it, and their code and metadata were 2.5 MB of an idle
/// node's memory (Docs/BENCHMARKS.md, "Idle footprint").
struct JoinRequest {
    /// A `http://HOST:PORT/PATH` or `https://HOST:PORT/PATH` URL, split.
    struct Endpoint: Equatable {
        var usesTLS: Bool
        var address: HostPort
        /// `HOST:PORT` as written, for the `Host` header.
        var authority: String
        var path: String

        /// Nil for anything but an `http` or `https` URL with a host and a port.
        init?(url: String) {
            var rest = Substring(url)
            if rest.hasPrefix("https://") {
                usesTLS = true
                rest = rest.dropFirst("https://".count)
            } else if rest.hasPrefix("http://") {
                usesTLS = false
                rest = rest.dropFirst("http://".count)
            } else {
                return nil
            }
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            authority = String(rest[..<slash])
            path = slash == rest.endIndex ? "/" : String(rest[slash...])
            guard let address = HostPort(parsing: authority),
                  path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
            self.address = address
        }
    }

    struct Answer {
        var status: HTTPResponseStatus
        var location: String?
        var body: ByteBuffer
    }

    enum Failure: Error, CustomStringConvertible {
        case answerTooLarge(limit: Int)
        case closedBeforeTheAnswer
        case timedOut

        var description: String {
            switch self {
            case .answerTooLarge(let limit): "the answer is larger than \(limit) bytes"
            case .closedBeforeTheAnswer: "the connection closed before the whole answer arrived"
            case .timedOut: "no whole answer in time"
            }
        }
    }

    let group: any EventLoopGroup
    /// For `https` endpoints.
    let tls: NIOSSLContext?
    let timeout: TimeAmount
    let maxAnswerBytes: Int

    func post(_ endpoint: Endpoint, headers extra: HTTPHeaders, body: [UInt8]) async throws -> Answer {
        let tls = endpoint.usesTLS ? tls : nil
        // A name is checked against the certificate and sent as SNI; an IP address is checked
        // against the certificate's IP addresses by NIOSSL (SNI cannot carry one).
        let serverHostname = (try? SocketAddress(ipAddress: endpoint.address.host, port: 0)) == nil ? endpoint.address.host : nil
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                }
            }
            .connect(host: endpoint.address.host, port: endpoint.address.port).get()
        defer { channel.close(promise: nil) }

        var headers = extra
        headers.replaceOrAdd(name: "Host", value: endpoint.authority)
        headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        headers.replaceOrAdd(name: "Connection", value: "close")
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: endpoint.path, headers: headers)
        let (limit, timeout) = (maxAnswerBytes, self.timeout)
        let answer = try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<Answer> in
            let promise = channel.eventLoop.makePromise(of: Answer.self)
            let collector = AnswerCollector(promise: promise, limit: limit)
            do {
                try channel.pipeline.syncOperations.addHandler(collector)
            } catch {
                promise.fail(error)
                return promise.futureResult
            }
            let deadline = channel.eventLoop.scheduleTask(in: timeout) { collector.finish(.failure(Failure.timedOut)) }
            promise.futureResult.whenComplete { _ in deadline.cancel() }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            return promise.futureResult
        }.get()
        return answer
    }
}

/// Gathers one response, completing its promise exactly once: with the answer, or with the
/// first of an error, a close, an oversized body or the deadline.
private final class AnswerCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<JoinRequest.Answer>
    private let limit: Int
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var finished = false

    init(promise: EventLoopPromise<JoinRequest.Answer>, limit: Int) {
        self.promise = promise
        self.limit = limit
    }

    /// On the channel's event loop only (the `@unchecked Sendable` is for the deadline's
    /// closure, which runs there too).
    func finish(_ result: Result<JoinRequest.Answer, any Error>) {
        guard !finished else { return }
        finished = true
        promise.completeWith(result)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let received):
            head = received
        case .body(var part):
            guard body.readableBytes + part.readableBytes <= limit else {
                finish(.failure(JoinRequest.Failure.answerTooLarge(limit: limit)))
                context.close(promise: nil)
                return
            }
            body.writeBuffer(&part)
        case .end:
            guard let head else { return finish(.failure(JoinRequest.Failure.closedBeforeTheAnswer)) }
            finish(.success(JoinRequest.Answer(status: head.status, location: head.headers.first(name: "Location"), body: body)))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(JoinRequest.Failure.closedBeforeTheAnswer))
        context.fireChannelInactive()
    }
}
