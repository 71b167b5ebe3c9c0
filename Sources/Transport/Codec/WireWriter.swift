import NIOCore
import RaftCore

/// Little-endian primitives for frame payloads. Every variable-length field carries its length
/// first so `WireReader` can check it against the bytes actually present before copying.
extension ByteBuffer {
    mutating func writeWire(_ value: UInt8) { writeInteger(value) }
    mutating func writeWire(_ value: UInt16) { writeInteger(value, endianness: .little) }
    mutating func writeWire(_ value: UInt32) { writeInteger(value, endianness: .little) }
    mutating func writeWire(_ value: UInt64) { writeInteger(value, endianness: .little) }
    mutating func writeWire(_ value: Bool) { writeInteger(value ? UInt8(1) : UInt8(0)) }

    /// `[count: u32][bytes]`.
    mutating func writeWire(_ bytes: [UInt8]) {
        writeWire(UInt32(truncatingIfNeeded: bytes.count))
        writeBytes(bytes)
    }

    /// `[count: u16][UTF-8]`: names and short messages only, so two length bytes suffice.
    mutating func writeWire(_ string: String) {
        let lengthIndex = writerIndex
        writeWire(UInt16(0))
        let written = writeString(string)
        setInteger(UInt16(truncatingIfNeeded: written), at: lengthIndex, endianness: .little)
    }

    mutating func writeWire(_ id: NodeID) { writeWire(id.rawValue) }

    /// `[count: u32][id]...`, sorted so equal sets always encode to equal bytes.
    mutating func writeWire(_ ids: Set<NodeID>) {
        writeWire(UInt32(truncatingIfNeeded: ids.count))
        for id in ids.sorted() { writeWire(id) }
    }
}
