/// Little-endian, length-prefixed building blocks shared by every on-disk and in-log format
/// of this module, so each format is a short list of fields rather than pointer arithmetic.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { littleEndian(v) }
    mutating func u32(_ v: UInt32) { littleEndian(v) }
    mutating func u64(_ v: UInt64) { littleEndian(v) }
    mutating func raw<Bytes: Sequence>(_ v: Bytes) where Bytes.Element == UInt8 { bytes.append(contentsOf: v) }

    /// A byte string preceded by its 32-bit length.
    mutating func blob(_ v: [UInt8]) {
        u32(UInt32(v.count))
        raw(v)
    }

    /// A short string (node ids) preceded by its 16-bit length.
    mutating func shortString(_ s: String) {
        u16(UInt16(truncatingIfNeeded: s.utf8.count))
        raw(s.utf8)
    }

    /// Unsigned LEB128: seven bits a byte, low bits first, the high bit set on every byte
    /// but the last. Small numbers (versions, lease 0, revisions below two million) take one
    /// to three bytes instead of eight.
    mutating func varint(_ v: UInt64) {
        var rest = v
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    private mutating func littleEndian<T: FixedWidthInteger>(_ v: T) {
        var x = v.littleEndian
        withUnsafeBytes(of: &x) { bytes.append(contentsOf: $0) }
    }
}

/// Reads what `ByteWriter` wrote; running off the end is `KVStoreError.corrupt`, never a trap.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var position: Int
    private let what: String

    init(_ bytes: [UInt8], what: String) {
        self.bytes = bytes
        self.position = 0
        self.what = what
    }

    var isAtEnd: Bool { position == bytes.count }
    var remaining: Int { bytes.count - position }

    mutating func u8() throws(KVStoreError) -> UInt8 { try integer() }
    mutating func u16() throws(KVStoreError) -> UInt16 { try integer() }
    mutating func u32() throws(KVStoreError) -> UInt32 { try integer() }
    mutating func u64() throws(KVStoreError) -> UInt64 { try integer() }

    mutating func raw(_ count: Int) throws(KVStoreError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw .corrupt("\(what): truncated") }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    mutating func rest() -> [UInt8] {
        defer { position = bytes.count }
        return Array(bytes[position...])
    }

    mutating func blob() throws(KVStoreError) -> [UInt8] { try raw(Int(try u32())) }

    /// What `ByteWriter.varint` wrote. More than ten bytes, or a tenth byte with bits beyond
    /// 64, is corrupt rather than silently wrapped.
    mutating func varint() throws(KVStoreError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else { throw .corrupt("\(what): truncated") }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 { throw .corrupt("\(what): number too large") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    mutating func shortString() throws(KVStoreError) -> String {
        String(decoding: try raw(Int(try u16())), as: UTF8.self)
    }

    /// Fails unless every byte was consumed, so trailing garbage is not silently accepted.
    func finish() throws(KVStoreError) {
        if !isAtEnd { throw .corrupt("\(what): \(remaining) unexpected trailing bytes") }
    }

    private mutating func integer<T: FixedWidthInteger>() throws(KVStoreError) -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw .corrupt("\(what): truncated") }
        var v: T = 0
        for i in 0..<size { v |= T(bytes[position + i]) << (8 * i) }
        position += size
        return v
    }
}

extension UInt64 {
    /// Big-endian bytes: LMDB orders keys bytewise, so this keeps numeric order.
    var orderedKey: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: self >> (56 - 8 * UInt64($0))) }
    }

    init?(orderedKey bytes: [UInt8]) {
        guard bytes.count == 8 else { return nil }
        self = bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
