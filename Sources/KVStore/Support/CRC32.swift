/// CRC-32 (IEEE, reflected polynomial 0xEDB88320), used to detect a snapshot file that was
/// truncated, torn or assembled from chunks in the wrong order, and a torn write-ahead log
/// record.
///
/// Eight bytes per step with eight tables ("slicing-by-8"): a byte-at-a-time table loop spent
/// a third of a million-key restore in here. Every result is the same as the byte-at-a-time
/// definition (`bytewise`), which the tests compare it against.
struct CRC32: Sendable {
    /// Table k gives the CRC of a byte followed by k zero bytes; table 0 is the classic one.
    private static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            tables[n] = c
        }
        for k in 1..<8 {
            for n in 0..<256 {
                let previous = tables[(k - 1) * 256 + n]
                tables[k * 256 + n] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    private var state: UInt32 = 0xFFFF_FFFF

    init() {}

    mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let contiguous: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            update(UnsafeRawBufferPointer(buffer))
        }
        if contiguous == nil { state = Self.bytewise(state, bytes) }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var c = state
        Self.tables.withUnsafeBufferPointer { t in
            var i = 0
            let count = bytes.count
            while count - i >= 8 {
                let low = c ^ (UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
                let high = UInt32(bytes[i + 4]) | UInt32(bytes[i + 5]) << 8 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 24
                c = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                i += 8
            }
            while i < count {
                c = t[Int((c ^ UInt32(bytes[i])) & 0xFF)] ^ (c >> 8)
                i += 1
            }
        }
        state = c
    }

    var value: UInt32 { state ^ 0xFFFF_FFFF }

    /// The definition, one byte at a time: the reference the fast path must match.
    static func bytewise<Bytes: Sequence>(_ state: UInt32, _ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var c = state
        for byte in bytes { c = tables[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c
    }
}
