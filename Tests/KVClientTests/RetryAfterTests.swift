@testable import KVClient
import Testing

/// `Retry-After` as a hostile server could write it: never a trap, never a stall past 5 s.
@Suite("Retry-After")
struct RetryAfterTests {
    @Test("whole seconds, capped at 5", arguments: [
        ("0", Duration.seconds(0)), ("1", .seconds(1)), (" 3 ", .seconds(3)), ("5", .seconds(5)), ("6", .seconds(5)),
        ("0004", .seconds(4)), ("99999999999999999999999999", .seconds(5)), ("0000", .seconds(0)),
    ])
    func seconds(_ header: String, _ expected: Duration) {
        #expect(KVClient.retryAfter(header) == expected)
    }

    @Test("anything else is a short pause", arguments: [nil, "", "-1", "+1", "1.5", "٣", "Wed, 21 Oct 2015 07:28:00 GMT", "1 2"])
    func fallback(_ header: String?) {
        #expect(KVClient.retryAfter(header) == .milliseconds(200))
    }
}
