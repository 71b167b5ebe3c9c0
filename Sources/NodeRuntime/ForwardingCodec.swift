import KVStore
import Transport

/// How a forwarded write's answer travels back from the leader: a result as
/// `[revision u64 LE][deleted u8]`, or a failure whose code is the HTTP status it maps to.
enum ForwardingCodec {
    /// "I am not the leader": the follower refreshes its idea of the leader and retries.
    static let notLeaderCode: UInt32 = 421

    static func encode(_ result: KVResult) -> [UInt8] {
        var bytes = withUnsafeBytes(of: result.revision.littleEndian) { Array($0) }
        bytes.append(result.deleted ? 1 : 0)
        return bytes
    }

    static func decodeResult(_ bytes: [UInt8]) -> KVResult? {
        guard bytes.count == 9, bytes[8] <= 1 else { return nil }
        var revision: UInt64 = 0
        for i in 0..<8 { revision |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        return KVResult(revision: revision, deleted: bytes[8] == 1)
    }

    static func failure(_ error: RuntimeError) -> PeerResponse {
        if case .unavailable("not the leader") = error {
            return .failure(code: notLeaderCode, message: error.message)
        }
        return .failure(code: UInt32(error.httpStatus), message: error.message)
    }

    static func error(code: UInt32, message: String) -> RuntimeError {
        switch code {
        case 400: .badRequest(message)
        case 404: .notFound(message)
        case 409: .conflict(message)
        case 422: .unprocessable(message)
        case 507: .storageFull
        case 503: .unavailable(message)
        default: .internalError(message)
        }
    }
}
