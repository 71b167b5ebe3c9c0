@testable import KVClient
import Testing

/// Checks the client makes before sending, and the pacing of watch reconnections.
@Suite("Client limits")
struct ClientLimitsTests {
    @Test("keys are 1 to 511 bytes of UTF-8")
    func keyLength() throws {
        try KVClient.checkKey("k")
        try KVClient.checkKey(String(repeating: "a", count: 511))
        try KVClient.checkKey(String(repeating: "é", count: 255))  // 510 bytes
        #expect(throws: KVClientError.self) { try KVClient.checkKey("") }
        #expect(throws: KVClientError.self) { try KVClient.checkKey(String(repeating: "a", count: 512)) }
        #expect(throws: KVClientError.self) { try KVClient.checkKey(String(repeating: "é", count: 256)) }
    }

    @Test("watch reconnections back off from 50 ms, doubling, to 5 s, and never overflow")
    func reconnectionPause() {
        #expect(WatchStream.Iterator.pause(afterReconnections: 0) == .milliseconds(50))
        #expect(WatchStream.Iterator.pause(afterReconnections: 1) == .milliseconds(50))
        #expect(WatchStream.Iterator.pause(afterReconnections: 2) == .milliseconds(100))
        #expect(WatchStream.Iterator.pause(afterReconnections: 7) == .milliseconds(3_200))
        #expect(WatchStream.Iterator.pause(afterReconnections: 8) == .seconds(5))
        #expect(WatchStream.Iterator.pause(afterReconnections: .max) == .seconds(5))
    }

    @Test("a lease TTL from the server is clamped to 1 s to one year")
    func leaseDuration() {
        #expect(KVClient.leaseDuration(seconds: 0) == .seconds(1))
        #expect(KVClient.leaseDuration(seconds: 10) == .seconds(10))
        #expect(KVClient.leaseDuration(seconds: .max) == .seconds(31_536_000))
    }

    @Test("a configuration built from strings keeps every setting")
    func configurationFromStrings() throws {
        let configuration = try KVClientConfiguration(endpoints: ["a:1"], requestTimeout: .seconds(2), unreachableRounds: 7,
                                                      streamIdleTimeout: .seconds(3))
        #expect(configuration.unreachableRounds == 7)
        #expect(configuration.streamIdleTimeout == .seconds(3))
        #expect(configuration.requestTimeout == .seconds(2))
    }
}
