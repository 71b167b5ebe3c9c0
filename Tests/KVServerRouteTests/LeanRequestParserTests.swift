import NIOCore
import Testing
@testable import KVServer

/// `LeanRequestParser` reads untrusted bytes: it must accept the shapes ordinary clients
/// send, decline everything it would not read exactly as NIO's full parser does (that parser
/// then takes the connection), and never trap, whatever arrives.
@Suite struct LeanRequestParserTests {
    static let maxHead = KVLeanFrontHandler.maxHeadBytes
    static let maxBody = 1 << 20

    static func parse(_ text: String) -> LeanRequestParser.Outcome {
        LeanRequestParser.parse(ByteBuffer(string: text), maxHeadBytes: maxHead, maxBodyBytes: maxBody)
    }

    static func request(_ text: String) -> (request: KVFastRequest, head: Int, body: Int)? {
        guard case .request(let request, let head, let body) = parse(text) else { return nil }
        return (request, head, body)
    }

    static func isDeclined(_ text: String) -> Bool {
        if case .declined = parse(text) { return true }
        return false
    }

    @Test func readsTheShapesClientsSend() throws {
        let put = "PUT /kv/a%2Fb HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nContent-Type: application/json\r\n"
            + "Content-Length: 15\r\nIdempotency-Key: k-1\r\nOrigin: http://127.0.0.1:9000\r\n"
            + "Authorization: Bearer t\r\n\r\n{\"value\":\"x\"}  "
        let parsed = try #require(Self.request(put))
        #expect(parsed.request.operation == .put && parsed.request.path == "/kv/a%2Fb")
        #expect(parsed.head + parsed.body == put.utf8.count && parsed.body == 15)
        #expect(parsed.request.host == "127.0.0.1:9000" && parsed.request.contentType == "application/json")
        #expect(parsed.request.idempotencyKey == "k-1" && parsed.request.origin == "http://127.0.0.1:9000")
        #expect(parsed.request.authorization == "Bearer t" && parsed.request.keepAlive)

        let get = try #require(Self.request("GET /kv/k?consistency=stale HTTP/1.1\r\nhost:\t x \t\r\n\r\n"))
        #expect(get.request.operation == .get(.stale) && get.request.host == "x" && get.body == 0)
        #expect(Self.request("GET /kv/k HTTP/1.1\r\n\r\n")?.request.operation == .get(.linearizable))
        #expect(Self.request("DELETE /kv/k HTTP/1.1\r\n\r\n")?.request.operation == .delete)
        // A PUT without a length has an empty body, as in the full parser.
        #expect(Self.request("PUT /kv/k HTTP/1.1\r\n\r\n")?.body == 0)
    }

    @Test func keepAliveFollowsTheVersionAndConnectionOptions() {
        #expect(Self.request("GET /kv/k HTTP/1.1\r\n\r\n")?.request.keepAlive == true)
        #expect(Self.request("GET /kv/k HTTP/1.1\r\nConnection: close\r\n\r\n")?.request.keepAlive == false)
        #expect(Self.request("GET /kv/k HTTP/1.0\r\n\r\n")?.request.keepAlive == false)
        #expect(Self.request("GET /kv/k HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")?.request.keepAlive == true)
        #expect(Self.request("GET /kv/k HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n")?.request.keepAlive == false)
    }

    @Test func everyPrefixOfARequestIsIncomplete() {
        let text = "PUT /kv/a HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n"
        let bytes = Array(text.utf8)
        for end in 0..<bytes.count {
            let outcome = LeanRequestParser.parse(ByteBuffer(bytes: bytes[..<end]), maxHeadBytes: Self.maxHead, maxBodyBytes: Self.maxBody)
            guard case .incomplete = outcome else {
                Issue.record("prefix of \(end) bytes: \(outcome)")
                return
            }
        }
        // The head is complete without its body: the handler waits for `bodyBytes` more.
        #expect(Self.request(text)?.body == 13)
    }

    @Test func declinesWhatTheFullParserMustJudge() {
        let declined = [
            "GET /kv/k HTTP/1.1\nHost: x\n\n",                                   // bare LF
            "GET /kv/k HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",                   // obs-fold
            "PUT /kv/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET /kv/k HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            "GET /kv/k HTTP/1.1\r\nConnection: te\r\n\r\n",
            "PUT /kv/k HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
            "PUT /kv/k HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}",
            "PUT /kv/k HTTP/1.1\r\nContent-Length: 2 2\r\n\r\n{}",
            "PUT /kv/k HTTP/1.1\r\nContent-Length: \r\n\r\n",
            "PUT /kv/k HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            "PUT /kv/k HTTP/1.1\r\nContent-Length: \(Self.maxBody + 1)\r\n\r\n",
            "GET /kv/k HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",                    // a body on a GET
            "DELETE /kv/k HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
            "POST /kv/k HTTP/1.1\r\n\r\n", "HEAD /kv/k HTTP/1.1\r\n\r\n", "get /kv/k HTTP/1.1\r\n\r\n",
            "GET /status HTTP/1.1\r\n\r\n", "GET /kv/ HTTP/1.1\r\n\r\n", "GET /kv/k#f HTTP/1.1\r\n\r\n",
            "GET /kv/k?revision=3 HTTP/1.1\r\n\r\n", "PUT /kv/k?x HTTP/1.1\r\n\r\n",
            "GET  /kv/k HTTP/1.1\r\n\r\n", "GET /kv/k  HTTP/1.1\r\n\r\n", "GET /kv/k HTTP/2.0\r\n\r\n",
            "GET /kv/k HTTP/1.1 \r\n\r\n", "GET /kv/k\r\n\r\n", "GET /kv/\u{E9} HTTP/1.1\r\n\r\n",
            "GET /kv/k HTTP/1.1\r\nHost: a\u{1}b\r\n\r\n", "GET /kv/k HTTP/1.1\r\nHost: caf\u{E9}\r\n\r\n",
            "GET /kv/k HTTP/1.1\r\nHost: a\rb\r\n\r\n", "GET /kv/k HTTP/1.1\r\nHost : a\r\n\r\n",
            "GET /kv/k HTTP/1.1\r\n: a\r\n\r\n", "GET /kv/k HTTP/1.1\r\nHost a\r\n\r\n",
            "PUT /kv/k HTTP/1.1\r\nIf-Match: \"3\"\r\n\r\n", "PUT /kv/k HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            "DELETE /kv/k HTTP/1.1\r\nIf-None-Match: *\r\n\r\n",
            "\r\nGET /kv/k HTTP/1.1\r\n\r\n",
        ]
        for text in declined {
            #expect(Self.isDeclined(text), "\(text.debugDescription)")
        }
        let manyLines = "GET /kv/k HTTP/1.1\r\n" + String(repeating: "X-A: b\r\n", count: LeanRequestParser.maxHeaderLines + 1) + "\r\n"
        #expect(Self.isDeclined(manyLines))
        // A head that does not end within the limit is declined, not waited for.
        let endless = "GET /kv/k HTTP/1.1\r\nX-Long: " + String(repeating: "a", count: Self.maxHead)
        #expect(Self.isDeclined(endless))
    }

    /// Random damage to valid requests: whatever the outcome, no trap, and an accepted
    /// request never claims more head than there are bytes.
    @Test func damagedRequestsNeverTrap() {
        let samples = [
            "PUT /kv/a HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"value\":\"x\"}",
            "GET /kv/a?consistency=linearizable HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        ]
        var random = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            var bytes = Array(samples.randomElement(using: &random)!.utf8)
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[at] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes.remove(at: at)
                default: bytes.insert([0x0D, 0x0A, 0x20, 0x3A, 0x00, 0x30].randomElement(using: &random)!, at: at)
                }
                if bytes.isEmpty { bytes = [0x47] }
            }
            if case .request(_, let head, _) = LeanRequestParser.parse(ByteBuffer(bytes: bytes), maxHeadBytes: 256, maxBodyBytes: 16) {
                #expect(head <= bytes.count)
            }
        }
    }
}
