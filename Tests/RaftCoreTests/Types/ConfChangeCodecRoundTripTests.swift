import RaftCore
import Testing

/// The package declares this test target; these tests exist so the target has sources and
/// because the KVStore state machine relies on this codec for membership contexts.
@Suite struct ConfChangeCodecRoundTripTests {
    @Test(arguments: [ConfChange.Kind.addLearner, .addVoter, .remove])
    func roundTrips(kind: ConfChange.Kind) {
        let change = ConfChange(kind: kind, node: "node-7", context: Array("127.0.0.1:9011@127.0.0.1:9010".utf8))
        #expect(ConfChange(decoding: change.encoded()) == change)
    }

    @Test func rejectsTruncatedBytes() {
        let bytes = ConfChange(kind: .addVoter, node: "n1", context: [1, 2, 3]).encoded()
        #expect(ConfChange(decoding: Array(bytes.dropLast())) == nil)
        #expect(ConfChange(decoding: []) == nil)
    }
}
