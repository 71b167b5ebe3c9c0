import RaftCore

/// One batch of the write-ahead log: the hard state and entries of one `Ready`, numbered so
/// that recovery knows which batches LMDB already holds.
struct WALRecord: Sendable, Equatable {
    var sequence: UInt64
    var hardState: HardState?
    var entries: [Entry]

    /// Bytes of framing in front of each payload: `[payload length u32][CRC-32 of payload u32]`.
    static let headerSize = 8

    /// The framed record as it goes into a segment. The length is never zero (a payload holds
    /// at least its sequence), so a zero length marks the zero-filled end of a segment.
    func framed() -> [UInt8] {
        var payload = ByteWriter(capacity: 32 + entries.reduce(0) { $0 + $1.data.count + 24 })
        payload.u64(sequence)
        if let hardState {
            payload.u8(1)
            payload.blob(LogCodec.encode(hardState))
        } else {
            payload.u8(0)
        }
        payload.u32(UInt32(entries.count))
        for entry in entries {
            payload.u64(entry.index)
            payload.blob(LogCodec.encode(entry))
        }
        var crc = CRC32()
        crc.update(payload.bytes)
        var frame = ByteWriter(capacity: Self.headerSize + payload.bytes.count)
        frame.u32(UInt32(payload.bytes.count))
        frame.u32(crc.value)
        frame.raw(payload.bytes)
        return frame.bytes
    }

    static func decode(payload: [UInt8]) throws(KVStoreError) -> WALRecord {
        var r = ByteReader(payload, what: "write-ahead log record")
        let sequence = try r.u64()
        let hardState = try r.u8() == 0 ? nil : try LogCodec.decodeHardState(try r.blob())
        let count = try r.u32()
        var entries: [Entry] = []
        entries.reserveCapacity(Int(min(count, 1 << 16)))
        for _ in 0..<count {
            let index = try r.u64()
            entries.append(try LogCodec.decodeEntry(index: index, try r.blob()))
        }
        try r.finish()
        return WALRecord(sequence: sequence, hardState: hardState, entries: entries)
    }
}
