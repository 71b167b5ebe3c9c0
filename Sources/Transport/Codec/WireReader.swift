import NIOCore
import RaftCore

/// Why a payload could not be decoded. Any of these closes the connection: a peer that sends
/// one malformed frame cannot be trusted to be in step for the next.
enum WireError: Error, Equatable, CustomStringConvertible {
    case truncated(field: String)
    case invalidValue(field: String)
    case trailingBytes(Int)

    var description: String {
        switch self {
        case .truncated(let field): "payload ends inside \(field)"
        case .invalidValue(let field): "invalid value for \(field)"
        case .trailingBytes(let count): "\(count) unexpected bytes after the payload"
        }
    }
}

/// Bounds-checked reads over one frame's payload. Each length is compared with the bytes still
/// unread before anything is allocated, so a forged count costs nothing but the error.
struct WireReader {
    private var buffer: ByteBuffer

    init(_ buffer: ByteBuffer) { self.buffer = buffer }

    var remaining: Int { buffer.readableBytes }

    mutating func readU8(_ field: String) throws -> UInt8 {
        guard let value = buffer.readInteger(as: UInt8.self) else { throw WireError.truncated(field: field) }
        return value
    }

    mutating func readU16(_ field: String) throws -> UInt16 {
        guard let value = buffer.readInteger(endianness: .little, as: UInt16.self) else { throw WireError.truncated(field: field) }
        return value
    }

    mutating func readU32(_ field: String) throws -> UInt32 {
        guard let value = buffer.readInteger(endianness: .little, as: UInt32.self) else { throw WireError.truncated(field: field) }
        return value
    }

    mutating func readU64(_ field: String) throws -> UInt64 {
        guard let value = buffer.readInteger(endianness: .little, as: UInt64.self) else { throw WireError.truncated(field: field) }
        return value
    }

    /// Only 0 and 1 are booleans; anything else means the stream is out of step.
    mutating func readBool(_ field: String) throws -> Bool {
        switch try readU8(field) {
        case 0: return false
        case 1: return true
        default: throw WireError.invalidValue(field: field)
        }
    }

    mutating func readBytes(_ field: String) throws -> [UInt8] {
        let count = Int(try readU32(field))
        guard count <= buffer.readableBytes, let bytes = buffer.readBytes(length: count) else {
            throw WireError.truncated(field: field)
        }
        return bytes
    }

    mutating func readString(_ field: String) throws -> String {
        let count = Int(try readU16(field))
        guard count <= buffer.readableBytes, let string = buffer.readString(length: count) else {
            throw WireError.truncated(field: field)
        }
        return string
    }

    mutating func readNodeID(_ field: String) throws -> NodeID { NodeID(try readString(field)) }

    /// Reads an element count and refuses it unless that many elements of at least
    /// `minimumElementSize` bytes could still fit in the payload; callers may then reserve.
    mutating func readCount(_ field: String, minimumElementSize: Int) throws -> Int {
        let count = Int(try readU32(field))
        guard count <= buffer.readableBytes / max(minimumElementSize, 1) else { throw WireError.truncated(field: field) }
        return count
    }

    mutating func readNodeIDSet(_ field: String) throws -> Set<NodeID> {
        let count = try readCount(field, minimumElementSize: 2)
        var ids = Set<NodeID>(minimumCapacity: count)
        for _ in 0..<count { ids.insert(try readNodeID(field)) }
        return ids
    }

    /// Every payload is read to its last byte; leftovers mean the sender used another layout.
    func finish() throws {
        guard buffer.readableBytes == 0 else { throw WireError.trailingBytes(buffer.readableBytes) }
    }
}
