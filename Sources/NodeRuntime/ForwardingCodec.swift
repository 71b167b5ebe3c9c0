import KVStore
import RaftCore
import Transport

/// How a forwarded write's answer travels back from the leader: a result as
/// `[revision u64 LE][deleted u8]`, followed by its detail (a transaction's or a lease's
/// answer, in the state machine's `ResultDetail` layout) when it has one, or a failure as a `RuntimeError` case number and its
/// message. The numbers are this protocol's own, not HTTP's: the follower rebuilds the typed
/// error, and only its HTTP layer decides how to answer the client.
enum ForwardingCodec {
    /// Wire numbers of `RuntimeError`'s cases. Never reuse a retired number.
    enum FailureCode: UInt32 {
        case notLeader = 1
        case unavailable = 2
        case timedOut = 3
        case storageFull = 4
        case badRequest = 5
        case conflict = 6
        case unprocessable = 7
        case notFound = 8
        case shuttingDown = 9
        case internalError = 10
        /// The message is the compact revision in decimal.
        case compacted = 11
    }

    static func encode(_ result: KVResult) -> [UInt8] {
        var bytes = withUnsafeBytes(of: result.revision.littleEndian) { Array($0) }
        bytes.append(result.deleted ? 1 : 0)
        if let detail = result.detail { bytes.append(contentsOf: detail.encoded()) }
        return bytes
    }

    static func decodeResult(_ bytes: [UInt8]) -> KVResult? {
        guard bytes.count >= 9, bytes[8] <= 1 else { return nil }
        var revision: UInt64 = 0
        for i in 0..<8 { revision |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        var result = KVResult(revision: revision, deleted: bytes[8] == 1)
        if bytes.count > 9 {
            guard let detail = ResultDetail(decoding: Array(bytes[9...])) else { return nil }
            result.detail = detail
        }
        return result
    }

    static func failure(_ error: RuntimeError) -> PeerResponse { response(outcome(error)) }

    /// The reply to a single forwarded write that ended as `outcome`.
    static func response(_ outcome: ProposeOutcome) -> PeerResponse {
        switch outcome {
        case .result(let bytes): .proposeResult(bytes)
        case .failure(let code, let message): .failure(code: code, message: message)
        }
    }

    /// A failure as one outcome of a forwarded batch.
    static func outcome(_ error: RuntimeError) -> ProposeOutcome {
        let code: FailureCode = switch error {
        case .notLeader: .notLeader
        case .unavailable: .unavailable
        case .timedOut: .timedOut
        case .storageFull: .storageFull
        case .badRequest: .badRequest
        case .conflict: .conflict
        case .unprocessable: .unprocessable
        case .notFound: .notFound
        case .shuttingDown: .shuttingDown
        case .internalError: .internalError
        case .compacted: .compacted
        }
        if case .compacted(let revision) = error { return .failure(code: code.rawValue, message: "\(revision)") }
        return .failure(code: code.rawValue, message: error.message)
    }

    /// The error a failure reply stands for; a number this node does not know is a fault of
    /// the sender, reported with its message.
    static func error(code: UInt32, message: String) -> RuntimeError {
        switch FailureCode(rawValue: code) {
        // The follower asks its own Raft who leads now; the old leader's hint is not needed.
        case .notLeader: .notLeader(leader: nil, address: nil)
        case .unavailable: .unavailable(message)
        case .timedOut: .timedOut
        case .storageFull: .storageFull
        case .badRequest: .badRequest(message)
        case .conflict: .conflict(message)
        case .unprocessable: .unprocessable(message)
        case .notFound: .notFound(message)
        case .shuttingDown: .shuttingDown
        case .compacted:
            UInt64(message).map { .compacted(compactRevision: $0) } ?? .internalError("a compacted answer without its revision")
        case .internalError, nil: .internalError(message)
        }
    }
}
