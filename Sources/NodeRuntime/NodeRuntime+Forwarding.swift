import KVStore
import RaftCore
import Synchronization
import Transport

/// Writes a follower forwards to the leader, and the leader's side of them (Docs/TRANSPORT.md,
/// "Forwarded requests").
///
/// Writes that reach a follower during one turn of its actor go to the leader together, as
/// one `proposeBatch` answered by one `proposeResults`: one request, one reply, one timer and
/// one flush per batch, where each write used to cost all four. The leader proposes a batch's
/// writes in its order, in one turn of its own actor, so they enter its log as they would
/// have one by one (in one Ready, as a burst of single forwards mostly did).
extension NodeRuntime {
    /// Most writes in one forwarded batch (the codec allows `PeerRequestCodec.maxBatch`), and
    /// roughly most command bytes, well inside a frame.
    static let maxForwardBatch = 512
    static let maxForwardBatchBytes = 4 << 20

    /// Queues `write` for `leader`; `flushForwards` sends the queue once the current turn has
    /// gathered everything it will.
    func forward(_ write: PendingWrite, to leader: NodeID) {
        forwardQueue[leader, default: []].append(write)
    }

    /// Sends every queued write: alone as a plain `propose` when it is the only one, else in
    /// batches.
    func flushForwards() {
        guard !forwardQueue.isEmpty else { return }
        let queued = forwardQueue
        forwardQueue = [:]
        for (leader, writes) in queued {
            var start = 0
            while start < writes.count {
                var end = start
                var bytes = 0
                while end < writes.count, end - start < Self.maxForwardBatch,
                      end == start || bytes + writes[end].command.count <= Self.maxForwardBatchBytes {
                    bytes += writes[end].command.count
                    end += 1
                }
                send(Array(writes[start..<end]), to: leader)
                start = end
            }
        }
    }

    /// The transport waits for the latest deadline of the batch: a write whose own deadline
    /// is earlier hears the leader's answer, which comes within the leader's request timeout.
    private func send(_ writes: [PendingWrite], to leader: NodeID) {
        metrics.update {
            $0.forwardRequests += 1
            $0.forwardedWrites += UInt64(writes.count)
        }
        let timeout = (writes.map(\.deadline).max() ?? .now) - ContinuousClock.now
        if writes.count == 1, let write = writes.first {
            let request = write.identity.map { PeerRequest.proposeOnBehalf(command: write.command, identity: $0) }
                ?? PeerRequest.propose(command: write.command)
            transport.request(request, to: leader, timeout: timeout) { [self] reply in
                switch reply {
                case .success(.proposeResult(let encoded)): settle(write, .result(encoded))
                case .success(.failure(let code, let message)): settle(write, .failure(code: code, message: message))
                case .success(.proposeResults): write.fail(.internalError("the leader answered a write with a batch"))
                case .failure(let error): settle(write, transportFailure: error, leader: leader)
                }
            }
            return
        }
        let request = PeerRequest.proposeBatch(writes.map { ForwardedProposal(command: $0.command, identity: $0.identity) })
        transport.request(request, to: leader, timeout: timeout) { [self] reply in
            switch reply {
            case .success(.proposeResults(let outcomes)) where outcomes.count == writes.count:
                for (write, outcome) in zip(writes, outcomes) { settle(write, outcome) }
            case .success(.failure(let code, let message)):
                // Refused whole (this node's idea of the leader was stale, say).
                for write in writes { settle(write, .failure(code: code, message: message)) }
            case .success:
                for write in writes { write.fail(.internalError("the leader's answer to \(writes.count) forwarded writes did not match them")) }
            case .failure(let error):
                for write in writes { settle(write, transportFailure: error, leader: leader) }
            }
        }
    }

    /// One forwarded write's answer. A leader that turns out not to lead has proposed
    /// nothing, so the write is retried here.
    private nonisolated func settle(_ write: PendingWrite, _ outcome: ProposeOutcome) {
        switch outcome {
        case .result(let encoded):
            guard let result = ForwardingCodec.decodeResult(encoded) else {
                return write.fail(.internalError("the leader's answer to a forwarded write did not decode"))
            }
            write.completion(.success(result))
        case .failure(let code, let message):
            let error = ForwardingCodec.error(code: code, message: message)
            if case .notLeader = error {
                // Our idea of the leader is stale: learn the new one, then go again.
                retryAtNextTick(write, obstacle: .unavailable("the leader changed while the write was forwarded"))
            } else {
                write.fail(error)
            }
        }
    }

    private nonisolated func settle(_ write: PendingWrite, transportFailure error: any Error, leader: NodeID) {
        switch error {
        case TransportError.unknownPeer:
            retryAtNextTick(write, obstacle: .unavailable("the leader's address is not known yet"))
        case TransportError.timedOut:
            write.fail(.timedOut)
        default:
            // The connection dropped with the write on it: its outcome is unknown.
            write.fail(.unavailable("the leader \(leader) could not be reached: \(error)"))
        }
    }

    // MARK: The leader's side

    /// Writes forwarded by a follower: proposed here if this node leads, never forwarded
    /// again. They were authorised on the follower that received them and are not checked
    /// again here; the identity each was made for, if any, is logged for audit.
    func serveForwarded(_ incoming: IncomingPeerRequest) {
        switch incoming.request {
        case .propose(let command):
            serveProposal(command, identity: nil, from: incoming.from) { incoming.respond(ForwardingCodec.response($0)) }
        case .proposeOnBehalf(let command, let identity):
            serveProposal(command, identity: identity, from: incoming.from) { incoming.respond(ForwardingCodec.response($0)) }
        case .proposeBatch(let proposals):
            let answers = BatchAnswers(count: proposals.count) { incoming.respond(.proposeResults($0)) }
            for (index, proposal) in proposals.enumerated() {
                serveProposal(proposal.command, identity: proposal.identity, from: incoming.from) { answers.set(index, $0) }
            }
        }
    }

    private func serveProposal(_ bytes: [UInt8], identity: String?, from: NodeID,
                               answer: @escaping @Sendable (ProposeOutcome) -> Void) {
        if let identity {
            logger.debug("forwarded write", metadata: ["from": "\(from)", "identity": "\(identity)"])
        }
        let command: KVCommand
        do {
            command = try KVCommand(decoding: bytes)
            try command.validate()
        } catch {
            return answer(ForwardingCodec.outcome(RuntimeError(error)))
        }
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(config.requestTimeoutMilliseconds))
        propose(PendingWrite(command: command.encoded(), deadline: deadline, mayForward: false,
                             resultIsKnownAtCommit: command.resultIsKnownAtCommit) { result in
            switch result {
            case .success(let result): answer(.result(ForwardingCodec.encode(result)))
            case .failure(let error): answer(ForwardingCodec.outcome(error))
            }
        })
    }
}

/// The outcomes of a forwarded batch as they become known, on whichever threads; the reply
/// goes out once, when the last is in.
final class BatchAnswers: Sendable {
    private let state: Mutex<(outcomes: [ProposeOutcome?], missing: Int)>
    private let reply: @Sendable ([ProposeOutcome]) -> Void

    init(count: Int, reply: @escaping @Sendable ([ProposeOutcome]) -> Void) {
        state = Mutex((Array(repeating: nil, count: count), count))
        self.reply = reply
        if count == 0 { reply([]) }
    }

    /// Records the outcome of proposal `index`; a second outcome for it is ignored.
    func set(_ index: Int, _ outcome: ProposeOutcome) {
        let complete: [ProposeOutcome]? = state.withLock { state in
            guard state.outcomes.indices.contains(index), state.outcomes[index] == nil else { return nil }
            state.outcomes[index] = outcome
            state.missing -= 1
            return state.missing == 0 ? state.outcomes.compactMap { $0 } : nil
        }
        if let complete { reply(complete) }
    }
}
