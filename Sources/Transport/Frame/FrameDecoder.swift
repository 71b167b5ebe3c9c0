import NIOCore

/// Why a byte stream was given up on. Each of these closes the connection it arrived on.
enum FrameError: Error, Equatable, CustomStringConvertible {
    /// The length prefix claims more than the configured maximum (or less than a type byte).
    case invalidLength(UInt32, max: Int)
    /// The type byte is not in the `FrameType` registry.
    case unknownType(UInt8)

    var description: String {
        switch self {
        case .invalidLength(let length, let max): "frame length \(length) outside 1...\(max)"
        case .unknownType(let type): "unknown frame type 0x\(String(type, radix: 16))"
        }
    }
}

/// Splits a byte stream into frames. The length is checked against the limit as soon as the
/// four prefix bytes are in, so a hostile prefix fails at once instead of making NIO buffer (or
/// this decoder reserve) the claimed size while waiting for bytes that may never come.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = Frame

    let maxFrameSize: Int

    init(maxFrameSize: Int = WireProtocol.defaultMaxFrameSize) {
        self.maxFrameSize = maxFrameSize
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try Self.nextFrame(from: &buffer, maxFrameSize: maxFrameSize) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial frame at EOF is simply dropped: the peer went away mid-frame.
        try decode(context: context, buffer: &buffer)
    }

    /// Takes one complete frame off the front of `buffer`, or returns nil (consuming nothing)
    /// when more bytes are needed. Kept free of NIO's channel machinery so fuzz tests drive it.
    static func nextFrame(from buffer: inout ByteBuffer, maxFrameSize: Int) throws -> Frame? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt32.self) else {
            return nil
        }
        guard length >= 1, Int(length) <= maxFrameSize else {
            throw FrameError.invalidLength(length, max: maxFrameSize)
        }
        guard buffer.readableBytes >= FrameHeader.lengthSize + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: FrameHeader.lengthSize)
        let rawType = buffer.readInteger(as: UInt8.self)!
        let payload = buffer.readSlice(length: Int(length) - 1)!
        guard let type = FrameType(rawValue: rawType) else { throw FrameError.unknownType(rawType) }
        return Frame(type: type, payload: payload)
    }
}
