import NIOCore
import RaftCore

/// Encodes each `MessageBody` case as its own frame type. A frame's payload is
/// `[from][to][term: u64]` followed by the case's fields in declaration order.
enum RaftMessageCodec {
    static func frameType(of body: MessageBody) -> FrameType {
        switch body {
        case .preVote: .preVote
        case .preVoteResponse: .preVoteResponse
        case .vote: .vote
        case .voteResponse: .voteResponse
        case .append: .append
        case .appendResponse: .appendResponse
        case .heartbeat: .heartbeat
        case .heartbeatResponse: .heartbeatResponse
        case .snapshot: .snapshot
        case .snapshotResponse: .snapshotResponse
        case .timeoutNow: .timeoutNow
        case .readIndex: .readIndex
        case .readIndexResponse: .readIndexResponse
        }
    }

    /// Appends `message` to `buffer` as one complete frame.
    static func writeFrame(_ message: Message, into buffer: inout ByteBuffer) {
        buffer.writeFrame(frameType(of: message.body)) { payload in
            payload.writeWire(message.from)
            payload.writeWire(message.to)
            payload.writeWire(message.term)
            writeBody(message.body, into: &payload)
        }
    }

    /// A cheap upper-bound-ish estimate of the encoded size, used to bound outbound queues
    /// without encoding on the caller's thread.
    static func estimatedSize(of message: Message) -> Int {
        let header = 64 + message.from.rawValue.utf8.count + message.to.rawValue.utf8.count
        switch message.body {
        case .append(let request): return header + request.entries.reduce(0) { $0 + $1.byteSize }
        case .snapshot(let chunk): return header + chunk.data.count + 16 * chunk.metadata.conf.members.count
        default: return header
        }
    }

    private static func writeBody(_ body: MessageBody, into buffer: inout ByteBuffer) {
        switch body {
        case .preVote(let request), .vote(let request):
            buffer.writeWire(request.lastLogIndex)
            buffer.writeWire(request.lastLogTerm)
            buffer.writeWire(request.isLeadershipTransfer)
        case .preVoteResponse(let response), .voteResponse(let response):
            buffer.writeWire(response.granted)
        case .append(let request):
            buffer.writeWire(request.prevLogIndex)
            buffer.writeWire(request.prevLogTerm)
            buffer.writeWire(request.leaderCommit)
            buffer.writeWire(UInt32(truncatingIfNeeded: request.entries.count))
            for entry in request.entries {
                buffer.writeWire(entry.term)
                buffer.writeWire(entry.index)
                buffer.writeWire(entry.kind.rawValue)
                buffer.writeWire(entry.data)
            }
        case .appendResponse(let response):
            buffer.writeWire(response.success)
            buffer.writeWire(response.index)
            buffer.writeWire(response.hintIndex)
            buffer.writeWire(response.hintTerm)
        case .heartbeat(let heartbeat):
            buffer.writeWire(heartbeat.commit)
            buffer.writeWire(heartbeat.readRound)
        case .heartbeatResponse(let response):
            buffer.writeWire(response.readRound)
        case .snapshot(let chunk):
            buffer.writeWire(chunk.metadata.index)
            buffer.writeWire(chunk.metadata.term)
            buffer.writeWire(chunk.metadata.conf.voters)
            buffer.writeWire(chunk.metadata.conf.learners)
            buffer.writeWire(chunk.offset)
            buffer.writeWire(chunk.isLast)
            buffer.writeWire(chunk.data)
        case .snapshotResponse(let response):
            buffer.writeWire(response.snapshotIndex)
            buffer.writeWire(response.nextOffset)
            buffer.writeWire(response.rejected)
        case .timeoutNow:
            break
        case .readIndex(let request):
            buffer.writeWire(request.requestID)
        case .readIndexResponse(let response):
            buffer.writeWire(response.requestID)
            buffer.writeWire(response.index)
            buffer.writeWire(response.ok)
        }
    }

    /// Decodes a Raft frame's payload; throws on any short, invalid or over-long payload.
    static func decode(_ type: FrameType, payload: ByteBuffer) throws -> Message {
        var reader = WireReader(payload)
        let from = try reader.readNodeID("from")
        let to = try reader.readNodeID("to")
        let term = try reader.readU64("term")
        let body = try readBody(type, from: &reader)
        try reader.finish()
        return Message(from: from, to: to, term: term, body: body)
    }

    private static func readBody(_ type: FrameType, from reader: inout WireReader) throws -> MessageBody {
        switch type {
        case .preVote: return .preVote(try readVoteRequest(&reader))
        case .vote: return .vote(try readVoteRequest(&reader))
        case .preVoteResponse: return .preVoteResponse(VoteResponse(granted: try reader.readBool("granted")))
        case .voteResponse: return .voteResponse(VoteResponse(granted: try reader.readBool("granted")))
        case .append: return .append(try readAppend(&reader))
        case .appendResponse:
            return .appendResponse(AppendResponse(
                success: try reader.readBool("success"), index: try reader.readU64("index"),
                hintIndex: try reader.readU64("hintIndex"), hintTerm: try reader.readU64("hintTerm")))
        case .heartbeat:
            return .heartbeat(Heartbeat(commit: try reader.readU64("commit"), readRound: try reader.readU64("readRound")))
        case .heartbeatResponse:
            return .heartbeatResponse(HeartbeatResponse(readRound: try reader.readU64("readRound")))
        case .snapshot: return .snapshot(try readSnapshotChunk(&reader))
        case .snapshotResponse:
            return .snapshotResponse(SnapshotResponse(
                snapshotIndex: try reader.readU64("snapshotIndex"), nextOffset: try reader.readU64("nextOffset"),
                rejected: try reader.readBool("rejected")))
        case .timeoutNow: return .timeoutNow
        case .readIndex: return .readIndex(ReadIndexRequest(requestID: try reader.readU64("requestID")))
        case .readIndexResponse:
            return .readIndexResponse(ReadIndexResponse(
                requestID: try reader.readU64("requestID"), index: try reader.readU64("index"),
                ok: try reader.readBool("ok")))
        case .handshake, .handshakeAccept, .handshakeReject, .secretChallenge, .secretResponse, .secretProof, .peerRequest, .peerResponse:
            throw WireError.invalidValue(field: "raft message type")
        }
    }

    private static func readVoteRequest(_ reader: inout WireReader) throws -> VoteRequest {
        VoteRequest(
            lastLogIndex: try reader.readU64("lastLogIndex"), lastLogTerm: try reader.readU64("lastLogTerm"),
            isLeadershipTransfer: try reader.readBool("isLeadershipTransfer"))
    }

    /// Smallest possible encoded entry: term, index, kind and an empty data length.
    private static let minimumEntrySize = 8 + 8 + 1 + 4

    private static func readAppend(_ reader: inout WireReader) throws -> AppendRequest {
        let prevLogIndex = try reader.readU64("prevLogIndex")
        let prevLogTerm = try reader.readU64("prevLogTerm")
        let leaderCommit = try reader.readU64("leaderCommit")
        let count = try reader.readCount("entries", minimumElementSize: minimumEntrySize)
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let term = try reader.readU64("entry.term")
            let index = try reader.readU64("entry.index")
            guard let kind = EntryKind(rawValue: try reader.readU8("entry.kind")) else {
                throw WireError.invalidValue(field: "entry.kind")
            }
            entries.append(Entry(term: term, index: index, kind: kind, data: try reader.readBytes("entry.data")))
        }
        return AppendRequest(prevLogIndex: prevLogIndex, prevLogTerm: prevLogTerm, entries: entries, leaderCommit: leaderCommit)
    }

    private static func readSnapshotChunk(_ reader: inout WireReader) throws -> SnapshotChunk {
        let index = try reader.readU64("snapshot.index")
        let term = try reader.readU64("snapshot.term")
        let voters = try reader.readNodeIDSet("snapshot.voters")
        let learners = try reader.readNodeIDSet("snapshot.learners")
        let offset = try reader.readU64("snapshot.offset")
        let isLast = try reader.readBool("snapshot.isLast")
        let data = try reader.readBytes("snapshot.data")
        return SnapshotChunk(
            metadata: SnapshotMetadata(index: index, term: term, conf: ConfState(voters: voters, learners: learners)),
            offset: offset, data: data, isLast: isLast)
    }
}
