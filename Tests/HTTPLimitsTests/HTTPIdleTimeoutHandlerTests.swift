import HTTPLimits
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// `HTTPIdleTimeoutHandler` on an `EmbeddedChannel`, whose clock the test moves: what counts as
/// progress and what is closed.
@Suite struct HTTPIdleTimeoutHandlerTests {
    static let timeout = TimeAmount.seconds(30)

    private func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: HTTPIdleTimeoutHandler(timeout: Self.timeout))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    private func head(_ channel: EmbeddedChannel, contentLength: Int) throws {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/import")
        head.headers.add(name: "Content-Length", value: String(contentLength))
        try channel.writeInbound(HTTPServerRequestPart.head(head))
    }

    private func body(_ channel: EmbeddedChannel, bytes: Int) throws {
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(repeating: UInt8(ascii: "x"), count: bytes)))
    }

    /// Moves the clock on in steps of `step`, `count` times, running `each` before every step.
    private func advance(_ channel: EmbeddedChannel, by step: TimeAmount, times count: Int,
                         _ each: () throws -> Void = {}) rethrows {
        for _ in 0..<count {
            try each()
            channel.embeddedEventLoop.advanceTime(by: step)
        }
    }

    @Test func aSilentConnectionIsClosedAfterTheTimeout() throws {
        let channel = try channel()
        channel.embeddedEventLoop.advanceTime(by: Self.timeout - .seconds(1))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
    }

    @Test func aLargeBodyArrivingSteadilyIsProgressForManyTimeouts() throws {
        let channel = try channel()
        try head(channel, contentLength: 100 << 20)
        // 64 KiB every 10 s, for five timeouts: the server reads an import as it applies it.
        try advance(channel, by: .seconds(10), times: 15) { try body(channel, bytes: 64 << 10) }
        #expect(channel.isActive)
        _ = try? channel.finish()
    }

    @Test func aLargeBodyTrickledIsClosedAfterTheTimeout() throws {
        let channel = try channel()
        try head(channel, contentLength: 100 << 20)
        // A kilobyte every 5 s never adds up to a step of progress within a timeout.
        try advance(channel, by: .seconds(5), times: 8) { if channel.isActive { try body(channel, bytes: 1024) } }
        #expect(!channel.isActive)
    }

    @Test func aSmallBodyMustArriveWithinOneTimeoutHoweverItIsSent() throws {
        let channel = try channel()
        try head(channel, contentLength: 1 << 20)
        try advance(channel, by: .seconds(10), times: 4) { if channel.isActive { try body(channel, bytes: 200 << 10) } }
        #expect(!channel.isActive, "a body of at most 1 MiB counts only once it has arrived whole")
    }

    @Test func aRequestThatArrivedWholeIsNotIdleWhileItIsServed() throws {
        let channel = try channel()
        try head(channel, contentLength: 10)
        try body(channel, bytes: 10)
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: Self.timeout * 3)
        #expect(channel.isActive, "the answer is still being worked out")
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: Self.timeout + .seconds(1))
        #expect(!channel.isActive, "idle again once answered")
    }
}
