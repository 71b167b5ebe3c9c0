/// A 64-bit digest of what a command asks for (operation, key and value; never its request
/// id), stored with a client session so that a request id reused for a *different* request
/// is told apart from a retry.
///
/// Every replica computes it at apply time from the replicated command, with fixed
/// constants and an explicit little-endian byte order, so all replicas agree on it and it
/// never changes between runs or builds. It is not a cryptographic hash: finding two
/// requests with one fingerprint only lets a client fool itself (the session belongs to
/// whoever knows the request id), and by chance two different requests collide once in
/// about 2^64.
public struct RequestFingerprint: Sendable, Hashable {
    public let value: UInt64

    public init(value: UInt64) { self.value = value }

    public init(_ operation: KVCommand.Operation) {
        var digest = Digest()
        switch operation {
        case .put(let key, let value):
            digest.add(word: 1)
            digest.add(bytes: key.utf8)
            digest.add(bytes: value)
        case .delete(let key):
            digest.add(word: 2)
            digest.add(bytes: key.utf8)
        default:
            // Every other operation is digested in its log layout, which names everything it asks for.
            digest.add(word: 3)
            digest.add(bytes: KVCommand(operation).encoded())
        }
        self.value = digest.finish()
    }
}

/// Absorbs 8 bytes per multiply; each byte string is followed by its length, so the
/// boundary between key and value is part of the digest ("ab"+"c" differs from "a"+"bc").
private struct Digest {
    private var state: UInt64 = 0x9E37_79B9_7F4A_7C15

    mutating func add(word: UInt64) {
        state = (state ^ word) &* 0xFF51_AFD7_ED55_8CCD
        state ^= state >> 29
    }

    mutating func add<Bytes: Collection<UInt8>>(bytes: Bytes) {
        let absorbed = bytes.withContiguousStorageIfAvailable { buffer in
            var copy = self
            copy.add(contiguous: UnsafeRawBufferPointer(buffer))
            return copy
        }
        if let absorbed {
            self = absorbed
        } else {
            Array(bytes).withUnsafeBytes { add(contiguous: $0) }
        }
    }

    private mutating func add(contiguous buffer: UnsafeRawBufferPointer) {
        var offset = 0
        while buffer.count - offset >= 8 {
            add(word: UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
            offset += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while offset < buffer.count {
            tail |= UInt64(buffer[offset]) << shift
            shift += 8
            offset += 1
        }
        add(word: tail)
        add(word: UInt64(buffer.count))
    }

    func finish() -> UInt64 {
        var h = state
        h ^= h >> 33
        h = h &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }
}
