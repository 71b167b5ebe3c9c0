import AsyncHTTPClient
@testable import KVClient
import NIOCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Which failures prove a request never left the client, so that a request without an
/// `Idempotency-Key` may go to another node.
@Suite("TransportFailure")
struct TransportFailureTests {
    @Test("a connection that could not be made")
    func neverSent() {
        #expect(TransportFailure.requestNeverSent(IOError(errnoCode: ECONNREFUSED, reason: "connect")))
        #expect(TransportFailure.requestNeverSent(HTTPClientError.connectTimeout))
        #expect(TransportFailure.requestNeverSent(ChannelError.connectTimeout(.seconds(1))))
    }

    @Test("anything that may have come after the request was read")
    func maybeSent() {
        #expect(!TransportFailure.requestNeverSent(HTTPClientError.remoteConnectionClosed))
        #expect(!TransportFailure.requestNeverSent(HTTPClientError.deadlineExceeded))
        #expect(!TransportFailure.requestNeverSent(HTTPClientError.readTimeout))
        #expect(!TransportFailure.requestNeverSent(IOError(errnoCode: ECONNRESET, reason: "read")))
        #expect(!TransportFailure.requestNeverSent(ChannelError.eof))
        #expect(!TransportFailure.requestNeverSent(CancellationError()))
    }
}
