import NIOCore

/// Encodes node-to-node requests and replies. Both carry a request id chosen by the asking
/// side so replies can arrive in any order: `[requestID: u64][kind: u8][fields]`.
enum PeerRequestCodec {
    /// Kind 1 of both was a read-index request and its reply, retired: ReadIndex travels as
    /// a Raft message. Decoding it now fails like any unknown kind.
    /// Kind 2 (a propose with the client identity after the command) was added without a
    /// version bump: a node only sends it when a client authenticated (`--auth-file`), and
    /// an older leader refuses it like any unknown kind (Docs/TRANSPORT.md).
    /// Kind 3 of both (a batch of proposals and its answers) came the same way: a follower
    /// sends a batch only to a leader of its own build (Docs/TRANSPORT.md).
    private enum RequestKind: UInt8 {
        case propose = 0
        case proposeOnBehalf = 2
        case proposeBatch = 3
    }

    private enum ResponseKind: UInt8 {
        case proposeResult = 0
        case failure = 2
        case proposeResults = 3
    }

    /// Proposals in one batch at most; a sender splits larger ones.
    public static let maxBatch = 4096

    static func writeFrame(requestID: UInt64, _ request: PeerRequest, into buffer: inout ByteBuffer) {
        buffer.writeFrame(.peerRequest) { payload in
            payload.writeWire(requestID)
            switch request {
            case .propose(let command):
                payload.writeWire(RequestKind.propose.rawValue)
                payload.writeWire(command)
            case .proposeOnBehalf(let command, let identity):
                payload.writeWire(RequestKind.proposeOnBehalf.rawValue)
                payload.writeWire(command)
                payload.writeWire(identity)
            case .proposeBatch(let proposals):
                payload.writeWire(RequestKind.proposeBatch.rawValue)
                payload.writeWire(UInt32(truncatingIfNeeded: proposals.count))
                for proposal in proposals {
                    payload.writeWire(proposal.command)
                    payload.writeWire(proposal.identity != nil)
                    if let identity = proposal.identity { payload.writeWire(identity) }
                }
            }
        }
    }

    static func writeFrame(requestID: UInt64, _ response: PeerResponse, into buffer: inout ByteBuffer) {
        buffer.writeFrame(.peerResponse) { payload in
            payload.writeWire(requestID)
            switch response {
            case .proposeResult(let result): writeOutcome(.result(result), into: &payload)
            case .failure(let code, let message): writeOutcome(.failure(code: code, message: message), into: &payload)
            case .proposeResults(let outcomes):
                payload.writeWire(ResponseKind.proposeResults.rawValue)
                payload.writeWire(UInt32(truncatingIfNeeded: outcomes.count))
                for outcome in outcomes { writeOutcome(outcome, into: &payload) }
            }
        }
    }

    /// A single reply and each outcome of a batch share one layout: kind 0 and the result,
    /// or kind 2, the code and the message.
    private static func writeOutcome(_ outcome: ProposeOutcome, into payload: inout ByteBuffer) {
        switch outcome {
        case .result(let result):
            payload.writeWire(ResponseKind.proposeResult.rawValue)
            payload.writeWire(result)
        case .failure(let code, let message):
            payload.writeWire(ResponseKind.failure.rawValue)
            payload.writeWire(code)
            payload.writeWire(message)
        }
    }

    /// The outcome after its kind byte; nil for a kind that is not an outcome.
    private static func readOutcome(_ kind: ResponseKind?, from reader: inout WireReader) throws -> ProposeOutcome? {
        switch kind {
        case .proposeResult: .result(try reader.readBytes("result"))
        case .failure: .failure(code: try reader.readU32("code"), message: try reader.readString("message"))
        case .proposeResults, nil: nil
        }
    }

    static func decodeRequest(_ payload: ByteBuffer) throws -> (requestID: UInt64, request: PeerRequest) {
        var reader = WireReader(payload)
        let requestID = try reader.readU64("requestID")
        let request: PeerRequest
        switch RequestKind(rawValue: try reader.readU8("request kind")) {
        case .propose: request = .propose(command: try reader.readBytes("command"))
        case .proposeOnBehalf:
            request = .proposeOnBehalf(command: try reader.readBytes("command"), identity: try reader.readString("identity"))
        case .proposeBatch:
            // Each proposal takes at least its command's length and the identity flag.
            let count = try reader.readCount("proposals", minimumElementSize: 5)
            guard count <= maxBatch else { throw WireError.invalidValue(field: "proposals") }
            var proposals: [ForwardedProposal] = []
            proposals.reserveCapacity(count)
            for _ in 0..<count {
                let command = try reader.readBytes("command")
                let identity = try reader.readBool("has identity") ? try reader.readString("identity") : nil
                proposals.append(ForwardedProposal(command: command, identity: identity))
            }
            request = .proposeBatch(proposals)
        case nil: throw WireError.invalidValue(field: "request kind")
        }
        try reader.finish()
        return (requestID, request)
    }

    static func decodeResponse(_ payload: ByteBuffer) throws -> (requestID: UInt64, response: PeerResponse) {
        var reader = WireReader(payload)
        let requestID = try reader.readU64("requestID")
        let response: PeerResponse
        let kind = ResponseKind(rawValue: try reader.readU8("response kind"))
        switch kind {
        case .proposeResult, .failure:
            guard let outcome = try readOutcome(kind, from: &reader) else { throw WireError.invalidValue(field: "response kind") }
            response = switch outcome {
            case .result(let result): .proposeResult(result)
            case .failure(let code, let message): .failure(code: code, message: message)
            }
        case .proposeResults:
            // Each outcome takes at least its kind and a length.
            let count = try reader.readCount("outcomes", minimumElementSize: 5)
            guard count <= maxBatch else { throw WireError.invalidValue(field: "outcomes") }
            var outcomes: [ProposeOutcome] = []
            outcomes.reserveCapacity(count)
            for _ in 0..<count {
                guard let outcome = try readOutcome(ResponseKind(rawValue: try reader.readU8("outcome kind")), from: &reader) else {
                    throw WireError.invalidValue(field: "outcome kind")
                }
                outcomes.append(outcome)
            }
            response = .proposeResults(outcomes)
        case nil: throw WireError.invalidValue(field: "response kind")
        }
        try reader.finish()
        return (requestID, response)
    }
}
