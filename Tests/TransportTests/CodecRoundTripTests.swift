import NIOCore
import RaftCore
import Testing
@testable import Transport

/// Encode, frame, unframe, decode: every message must come back equal. Seeds are fixed so a
/// failure names the case that replays it.
@Suite struct CodecRoundTripTests {
    private func roundTrip(_ message: Message) throws -> Message {
        var buffer = ByteBuffer()
        RaftMessageCodec.writeFrame(message, into: &buffer)
        let frame = try #require(try FrameDecoder.nextFrame(from: &buffer, maxFrameSize: WireProtocol.defaultMaxFrameSize))
        #expect(buffer.readableBytes == 0)
        #expect(frame.type == RaftMessageCodec.frameType(of: message.body))
        return try RaftMessageCodec.decode(frame.type, payload: frame.payload)
    }

    @Test(arguments: 0..<MessageGenerator.bodyCaseCount)
    func everyMessageTypeRoundTrips(bodyCase: Int) throws {
        for seed in UInt64(0)..<300 {
            var generator = MessageGenerator(seed: seed &* 7919 &+ UInt64(bodyCase))
            let message = generator.message(case: bodyCase)
            #expect(try roundTrip(message) == message, "body case \(bodyCase), seed \(seed)")
        }
    }

    @Test func eachBodyCaseHasItsOwnFrameType() {
        var generator = MessageGenerator(seed: 1)
        let types = (0..<MessageGenerator.bodyCaseCount).map { RaftMessageCodec.frameType(of: generator.body(case: $0)) }
        #expect(Set(types).count == MessageGenerator.bodyCaseCount)
        #expect(types.allSatisfy { $0.isRaftMessage })
    }

    @Test func largeSnapshotChunkRoundTrips() throws {
        var generator = MessageGenerator(seed: 99, maxDataSize: 0)
        let data = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let message = Message(from: "n1", to: "n2", term: 5, body: .snapshot(SnapshotChunk(
            metadata: SnapshotMetadata(index: 10, term: 4, conf: ConfState(voters: generator.nodeIDs())),
            offset: 1 << 40, data: data, isLast: true)))
        #expect(try roundTrip(message) == message)
    }

    @Test func peerRequestsAndResponsesRoundTrip() throws {
        for seed in UInt64(0)..<500 {
            var generator = MessageGenerator(seed: seed)
            let request = generator.peerRequest()
            var buffer = ByteBuffer()
            PeerRequestCodec.writeFrame(requestID: request.id, request.request, into: &buffer)
            let requestFrame = try #require(try FrameDecoder.nextFrame(from: &buffer, maxFrameSize: 1 << 20))
            let decodedRequest = try PeerRequestCodec.decodeRequest(requestFrame.payload)
            #expect(PeerRequestSample(id: decodedRequest.requestID, request: decodedRequest.request) == request, "seed \(seed)")

            let response = generator.peerResponse()
            PeerRequestCodec.writeFrame(requestID: response.id, response.response, into: &buffer)
            let responseFrame = try #require(try FrameDecoder.nextFrame(from: &buffer, maxFrameSize: 1 << 20))
            let decodedResponse = try PeerRequestCodec.decodeResponse(responseFrame.payload)
            #expect(PeerResponseSample(id: decodedResponse.requestID, response: decodedResponse.response) == response, "seed \(seed)")
        }
    }

    @Test func handshakeFramesRoundTrip() throws {
        var buffer = ByteBuffer()
        let hello = Handshake(clusterID: "cluster-ü", sender: "node-1")
        hello.writeFrame(into: &buffer)
        HandshakeAccept(responder: "node-2").writeFrame(into: &buffer)
        HandshakeRefusal.wrongCluster("other").writeFrame(into: &buffer)

        let first = try #require(try FrameDecoder.nextFrame(from: &buffer, maxFrameSize: 1024))
        #expect(try Handshake.decode(first.payload) == hello)
        let second = try #require(try FrameDecoder.nextFrame(from: &buffer, maxFrameSize: 1024))
        #expect(try HandshakeAccept.decode(second.payload) == HandshakeAccept(responder: "node-2"))
        let third = try #require(try FrameDecoder.nextFrame(from: &buffer, maxFrameSize: 1024))
        let refusal = try HandshakeRefusal.decode(third.payload)
        #expect(refusal.code == HandshakeRefusal.wrongCluster("other").code)
        #expect(refusal.description.contains("other"))
    }

    @Test func handshakeRefusalReasons() {
        let local: NodeID = "n1"
        #expect(Handshake(clusterID: "c", sender: "n2").refusal(localID: local, clusterID: "c") == nil)
        #expect(Handshake(version: WireProtocol.version + 1, clusterID: "c", sender: "n2")
            .refusal(localID: local, clusterID: "c") == .unsupportedVersion(WireProtocol.version + 1))
        #expect(Handshake(clusterID: "d", sender: "n2").refusal(localID: local, clusterID: "c") == .wrongCluster("d"))
        #expect(Handshake(clusterID: "c", sender: "n1").refusal(localID: local, clusterID: "c") == .invalidSender("n1"))
    }

    /// A stream of many frames, fed in random-sized pieces as TCP would deliver it, comes out
    /// whole and in order.
    @Test func framesSurviveArbitrarySplits() throws {
        var generator = MessageGenerator(seed: 2024)
        let messages = (0..<400).map { _ in generator.message() }
        var stream = ByteBuffer()
        for message in messages { RaftMessageCodec.writeFrame(message, into: &stream) }

        var random = SplitMix64(seed: 7)
        var pending = ByteBuffer()
        var decoded: [Message] = []
        while stream.readableBytes > 0 {
            let piece = min(stream.readableBytes, Int(random.next() % 700) + 1)
            var slice = stream.readSlice(length: piece)!
            pending.writeBuffer(&slice)
            while let frame = try FrameDecoder.nextFrame(from: &pending, maxFrameSize: 1 << 20) {
                decoded.append(try RaftMessageCodec.decode(frame.type, payload: frame.payload))
            }
        }
        #expect(decoded == messages)
        #expect(pending.readableBytes == 0)
    }

    @Test func backoffIsCappedAndJittered() {
        let backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(2))
        var random = SplitMix64(seed: 3)
        for attempt in 1...40 {
            let step = min(Duration.milliseconds(100) * (1 << min(attempt - 1, 30)), .seconds(2))
            let delay = backoff.delay(attempt: attempt, using: &random)
            #expect(delay >= step / 2 && delay <= step, "attempt \(attempt): \(delay)")
        }
    }

    /// A batch may claim no more proposals or outcomes than `maxBatch`, nor more than its
    /// payload could hold, whatever its count field says.
    @Test func aBatchBeyondTheLimitOrItsBytesIsRefused() {
        for (kind, isRequest) in [(UInt8(3), true), (UInt8(3), false)] {
            for count in [UInt32.max, UInt32(PeerRequestCodec.maxBatch + 1)] {
                var payload = ByteBuffer()
                payload.writeWire(UInt64(7))
                payload.writeWire(kind)
                payload.writeWire(count)
                // Room for maxBatch + 1 of the smallest elements: an empty command without an
                // identity, or an empty result.
                for _ in 0...PeerRequestCodec.maxBatch {
                    if isRequest {
                        payload.writeWire([UInt8]())
                        payload.writeWire(false)
                    } else {
                        payload.writeWire(UInt8(0))
                        payload.writeWire([UInt8]())
                    }
                }
                if isRequest {
                    #expect(throws: (any Error).self, "count \(count)") { try PeerRequestCodec.decodeRequest(payload) }
                } else {
                    #expect(throws: (any Error).self, "count \(count)") { try PeerRequestCodec.decodeResponse(payload) }
                }
            }
        }
    }
}
