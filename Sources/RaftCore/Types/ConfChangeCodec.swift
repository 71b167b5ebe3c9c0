/// The byte layout of a `ConfChange` inside a `.configChange` log entry. The core must read
/// these entries itself (it applies membership changes), so the format lives here:
/// `[kind: u8][node id length: u16 LE][node id UTF-8][context length: u32 LE][context]`.
extension ConfChange {
    public func encoded() -> [UInt8] {
        let id = Array(node.rawValue.utf8)
        var bytes: [UInt8] = [kind.rawValue]
        bytes.reserveCapacity(7 + id.count + context.count)
        let idLength = UInt16(truncatingIfNeeded: id.count)
        bytes.append(UInt8(idLength & 0xFF))
        bytes.append(UInt8(idLength >> 8))
        bytes.append(contentsOf: id)
        let contextLength = UInt32(truncatingIfNeeded: context.count)
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((contextLength >> UInt32(shift)) & 0xFF)) }
        bytes.append(contentsOf: context)
        return bytes
    }

    /// Decodes a change, or returns nil when the bytes are not a well-formed change.
    public init?(decoding bytes: [UInt8]) {
        guard bytes.count >= 7, let kind = Kind(rawValue: bytes[0]) else { return nil }
        let idLength = Int(bytes[1]) | Int(bytes[2]) << 8
        let idEnd = 3 + idLength
        guard bytes.count >= idEnd + 4 else { return nil }
        var contextLength = 0
        for i in 0..<4 { contextLength |= Int(bytes[idEnd + i]) << (8 * i) }
        let contextStart = idEnd + 4
        guard bytes.count == contextStart + contextLength else { return nil }
        self.init(
            kind: kind,
            node: NodeID(String(decoding: bytes[3..<idEnd], as: UTF8.self)),
            context: Array(bytes[contextStart...])
        )
    }
}
