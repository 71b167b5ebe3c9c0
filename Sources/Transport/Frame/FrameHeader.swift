import NIOCore

/// A frame on the wire: `[length: u32 LE][type: u8][payload]`, where `length` counts the type
/// byte and the payload but not itself. A fixed-size prefix lets the decoder learn a frame's
/// size (and refuse it) before any of its body has arrived.
struct Frame {
    var type: FrameType
    var payload: ByteBuffer
}

enum FrameHeader {
    /// Bytes of the length prefix.
    static let lengthSize = 4
    /// Bytes ahead of the payload: the length prefix and the type byte.
    static let size = 5
}

extension ByteBuffer {
    /// Appends one frame whose payload `body` writes in place; the length prefix is patched
    /// afterwards so the payload is never built in a separate buffer and copied.
    mutating func writeFrame(_ type: FrameType, body: (inout ByteBuffer) -> Void) {
        let lengthIndex = writerIndex
        writeInteger(UInt32(0), endianness: .little)
        writeInteger(type.rawValue)
        body(&self)
        let length = UInt32(truncatingIfNeeded: writerIndex - lengthIndex - FrameHeader.lengthSize)
        setInteger(length, at: lengthIndex, endianness: .little)
    }
}
