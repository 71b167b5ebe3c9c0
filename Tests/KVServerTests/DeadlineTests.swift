@testable import KVServer
import Testing

/// The join loop's guard against an HTTP client that never answers.
@Suite("Deadline")
struct DeadlineTests {
    @Test("an answer within the limit is passed through")
    func answerPassesThrough() async throws {
        let value = try await Deadline.run(within: .seconds(30)) { 42 }
        #expect(value == 42)
    }

    @Test("an operation that ignores cancellation does not hold the caller past the limit", .timeLimit(.minutes(1)))
    func uncooperativeOperationIsAbandoned() async throws {
        // The inner task is not a child, so cancelling the operation does not reach it: like a
        // client that does not honour its timeout. Waiting for it would take ten minutes.
        await #expect(throws: Deadline.Exceeded.self) {
            try await Deadline.run(within: .milliseconds(200)) {
                await Task { try? await Task.sleep(for: .seconds(600)); return 1 }.value
            }
        }
    }

    @Test("the operation's own error is passed through")
    func errorsPassThrough() async throws {
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await Deadline.run(within: .seconds(30)) { () async throws -> Int in throw Refused() }
        }
    }
}
