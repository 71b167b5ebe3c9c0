import NIOCore
import RaftCore
import Testing
@testable import Transport

/// Hostile and damaged byte streams must end in a clean error (the connection closes) or in
/// well-formed values: never a crash, a hang, or memory sized by what a header claims.
@Suite(.timeLimit(.minutes(2))) struct DecoderFuzzTests {
    static let maxFrameSize = 4096

    private struct Outcome {
        var frames = 0
        var error: (any Error)?
    }

    /// Feeds `bytes` in random pieces through the frame decoder and the payload decoders, the
    /// way a connection does, stopping at the first error as the connection would.
    private func consume(_ bytes: [UInt8], pieces random: inout SplitMix64) -> Outcome {
        var outcome = Outcome()
        var pending = ByteBuffer()
        var offset = 0
        while offset < bytes.count {
            let piece = min(bytes.count - offset, Int(random.next() % 512) + 1)
            pending.writeBytes(bytes[offset..<(offset + piece)])
            offset += piece
            do {
                while let frame = try FrameDecoder.nextFrame(from: &pending, maxFrameSize: Self.maxFrameSize) {
                    try decodePayload(frame)
                    outcome.frames += 1
                }
            } catch {
                outcome.error = error
                return outcome
            }
            // Nothing is held beyond one frame's worth: a claimed length is never waited on
            // unless it is within the limit.
            #expect(pending.readableBytes < FrameHeader.lengthSize + Self.maxFrameSize)
        }
        return outcome
    }

    private func decodePayload(_ frame: Frame) throws {
        switch frame.type {
        case .handshake: _ = try Handshake.decode(frame.payload)
        case .handshakeAccept: _ = try HandshakeAccept.decode(frame.payload)
        case .handshakeReject: _ = try HandshakeRefusal.decode(frame.payload)
        case .peerRequest: _ = try PeerRequestCodec.decodeRequest(frame.payload)
        case .peerResponse: _ = try PeerRequestCodec.decodeResponse(frame.payload)
        default: _ = try RaftMessageCodec.decode(frame.type, payload: frame.payload)
        }
    }

    @Test func randomBytesNeverCrash() {
        var random = SplitMix64(seed: 0xF00D)
        for _ in 0..<3000 {
            let count = Int(random.next() % 2048)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = consume(bytes, pieces: &random)
        }
    }

    /// Plausible headers (small lengths, registered types) with random payloads, so the
    /// payload decoders are reached instead of the length check rejecting nearly everything.
    @Test func randomPayloadsBehindValidHeadersNeverCrash() {
        var random = SplitMix64(seed: 0xBEEF)
        let types = FrameType.allCases
        var decodedSome = false
        for _ in 0..<5000 {
            var stream = ByteBuffer()
            for _ in 0..<Int(random.next() % 4 + 1) {
                let payload = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next() % 4 == 0 ? random.next() : 0) }
                stream.writeFrame(types[Int(random.next() % UInt64(types.count))]) { $0.writeBytes(payload) }
            }
            let outcome = consume(stream.readableBytesView.map { $0 }, pieces: &random)
            decodedSome = decodedSome || outcome.frames > 0
        }
        #expect(decodedSome, "the generator should also produce some well-formed payloads")
    }

    @Test func mutatedValidStreamsNeverCrash() {
        var random = SplitMix64(seed: 0xC0FFEE)
        for round in 0..<1500 {
            var generator = MessageGenerator(seed: UInt64(round), maxDataSize: 40, maxEntries: 3)
            var stream = ByteBuffer()
            for _ in 0..<8 { RaftMessageCodec.writeFrame(generator.message(), into: &stream) }
            var bytes = stream.readableBytesView.map { $0 }
            for _ in 0..<Int(random.next() % 4 + 1) { mutate(&bytes, using: &random) }
            let outcome = consume(bytes, pieces: &random)
            #expect(outcome.frames <= bytes.count / FrameHeader.size)
        }
    }

    private func mutate(_ bytes: inout [UInt8], using random: inout SplitMix64) {
        guard !bytes.isEmpty else { return }
        let at = Int(random.next() % UInt64(bytes.count))
        switch random.next() % 5 {
        case 0: bytes[at] ^= UInt8(1) << (random.next() % 8)
        case 1: bytes[at] = [0x00, 0xFF, 0x7F, 0x80].randomElement(using: &random)!
        case 2: bytes.removeLast(Int(random.next() % UInt64(bytes.count)))
        case 3: bytes.insert(contentsOf: (0..<Int(random.next() % 9)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: at)
        default: bytes.replaceSubrange(at..<min(bytes.count, at + 4), with: [0xFF, 0xFF, 0xFF, 0xFF])
        }
    }

    @Test func oversizedAndEmptyLengthsFailAtOnce() {
        for length in [UInt32(Self.maxFrameSize + 1), UInt32.max, 0] {
            var buffer = ByteBuffer()
            buffer.writeInteger(length, endianness: .little)
            #expect(throws: FrameError.invalidLength(length, max: Self.maxFrameSize)) {
                try FrameDecoder.nextFrame(from: &buffer, maxFrameSize: Self.maxFrameSize)
            }
        }
    }

    /// A frame within the limit but only partly arrived is waited for without being consumed
    /// or copied, and without the buffer growing toward the claimed size.
    @Test func partialFrameWaitsWithoutReserving() throws {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(Self.maxFrameSize), endianness: .little)
        buffer.writeBytes([UInt8(FrameType.heartbeat.rawValue), 1, 2, 3])
        let capacity = buffer.capacity
        #expect(try FrameDecoder.nextFrame(from: &buffer, maxFrameSize: Self.maxFrameSize) == nil)
        #expect(buffer.readableBytes == 8)
        #expect(buffer.capacity == capacity)
    }

    @Test func unknownFrameTypeIsAnError() {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(1), endianness: .little)
        buffer.writeInteger(UInt8(0xEE))
        #expect(throws: FrameError.unknownType(0xEE)) {
            try FrameDecoder.nextFrame(from: &buffer, maxFrameSize: Self.maxFrameSize)
        }
    }

    /// Counts and lengths inside a payload are checked against the bytes present before any
    /// array is reserved, so 2^32 claimed entries cost nothing.
    @Test func forgedCountsAreRefusedBeforeAllocating() {
        var append = ByteBuffer()
        append.writeWire(NodeID("a"))
        append.writeWire(NodeID("b"))
        append.writeWire(UInt64(1))
        for _ in 0..<3 { append.writeWire(UInt64(0)) }
        append.writeWire(UInt32.max)
        append.writeBytes([1, 2, 3])
        #expect(throws: WireError.truncated(field: "entries")) {
            try RaftMessageCodec.decode(.append, payload: append)
        }

        var command = ByteBuffer()
        command.writeWire(UInt64(9))
        command.writeWire(UInt8(0))
        command.writeWire(UInt32.max - 1)
        #expect(throws: WireError.truncated(field: "command")) { try PeerRequestCodec.decodeRequest(command) }

        var snapshot = ByteBuffer()
        snapshot.writeWire(NodeID("a"))
        snapshot.writeWire(NodeID("b"))
        for _ in 0..<3 { snapshot.writeWire(UInt64(0)) }
        snapshot.writeWire(UInt32(0x4000_0000))
        #expect(throws: WireError.truncated(field: "snapshot.voters")) {
            try RaftMessageCodec.decode(.snapshot, payload: snapshot)
        }
    }

    @Test func trailingBytesAndBadBooleansAreErrors() {
        var heartbeat = ByteBuffer()
        RaftMessageCodec.writeFrame(Message(from: "a", to: "b", term: 1, body: .heartbeat(Heartbeat(commit: 2))), into: &heartbeat)
        heartbeat.moveReaderIndex(forwardBy: FrameHeader.size)
        heartbeat.writeInteger(UInt8(0))
        #expect(throws: WireError.trailingBytes(1)) { try RaftMessageCodec.decode(.heartbeat, payload: heartbeat) }

        var vote = ByteBuffer()
        vote.writeWire(NodeID("a"))
        vote.writeWire(NodeID("b"))
        vote.writeWire(UInt64(1))
        vote.writeWire(UInt8(2))
        #expect(throws: WireError.invalidValue(field: "granted")) { try RaftMessageCodec.decode(.voteResponse, payload: vote) }
    }
}
