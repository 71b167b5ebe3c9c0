/// Writes a snapshot file through a buffer, keeping the running checksum. The checksum runs
/// over the buffer when it is flushed, not record by record: one long run is several times
/// faster than a million short ones.
struct SnapshotWriter {
    private let file: File
    private var buffer: [UInt8] = []
    private var offset: UInt64 = 0
    private var crc = CRC32()
    private var count: UInt64 = 0
    private static let flushSize = 1 << 20

    init(file: File, applied: LogPosition) throws(KVStoreError) {
        self.file = file
        try file.truncate(to: 0)
        try put(SnapshotFormat.header(applied))
    }

    mutating func write(_ record: SnapshotRecord) throws(KVStoreError) {
        try put(record.encoded())
        count += 1
    }

    /// Appends the trailer and makes the file durable.
    mutating func finish() throws(KVStoreError) {
        try flush()
        var trailer = ByteWriter(capacity: SnapshotFormat.trailerSize)
        trailer.u8(SnapshotFormat.trailerTag)
        trailer.u64(count)
        trailer.u32(crc.value)
        try file.write(trailer.bytes, at: offset)
        offset += UInt64(trailer.bytes.count)
        try file.sync()
    }

    private mutating func put(_ bytes: [UInt8]) throws(KVStoreError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushSize { try flush() }
    }

    private mutating func flush() throws(KVStoreError) {
        guard !buffer.isEmpty else { return }
        crc.update(buffer)
        try file.write(buffer, at: offset)
        offset += UInt64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Reads a snapshot file record by record. The checksum covers everything, so callers apply
/// records inside a transaction that they abort if `readAll` throws at the end.
struct SnapshotReader {
    private let file: File
    private var buffer: [UInt8] = []
    private var bufferStart = 0
    private var offset: UInt64 = 0
    private var crc = CRC32()
    /// How much of `buffer` the checksum has covered: it runs over whole stretches of the
    /// buffer (before they are dropped, and before the trailer is checked), not take by take.
    private var checksummed = 0
    private var fileSize: UInt64?
    private static let readSize = 1 << 20

    init(file: File) { self.file = file }

    /// The position in the header, read by the first call of `next` (or `readAll`).
    private(set) var applied: LogPosition?
    private var recordCount: UInt64 = 0
    private var finished = false

    /// Visits every record and returns the applied position from the header; throws
    /// `snapshotInvalid` for a bad header, a bad record, a short file or a checksum mismatch.
    mutating func readAll(_ visit: (SnapshotRecord) throws(KVStoreError) -> Void) throws(KVStoreError) -> LogPosition {
        while let record = try next() { try visit(record) }
        return applied ?? LogPosition(index: 0, term: 0)
    }

    /// The next record, or nil once the trailer was read and checked. A caller that stops
    /// early has not had the checksum checked.
    mutating func next() throws(KVStoreError) -> SnapshotRecord? {
        if finished { return nil }
        if applied == nil { applied = try SnapshotFormat.parseHeader(try take(SnapshotFormat.headerSize)) }
        checksumConsumed()
        let expectedCRC = crc.value
        let tag = try take(1)[0]
        if tag == SnapshotFormat.trailerTag {
            var r = ByteReader(try take(SnapshotFormat.trailerSize - 1), what: "snapshot trailer")
            let recorded = try r.u64()
            let checksum = try r.u32()
            guard checksum == expectedCRC else { throw .snapshotInvalid("checksum mismatch") }
            guard recorded == recordCount else { throw .snapshotInvalid("record count mismatch") }
            guard try take(1, allowShort: true).isEmpty else { throw .snapshotInvalid("bytes after the trailer") }
            finished = true
            return nil
        }
        var lengthReader = ByteReader(try take(4), what: "snapshot record length")
        let payload = try take(Int(try lengthReader.u32()))
        recordCount += 1
        // A damaged record is a damaged snapshot (which the caller discards), not damaged
        // storage (which would stop the node): the checksum just was not reached yet.
        do throws(KVStoreError) {
            return try SnapshotRecord(tag: tag, payload: payload)
        } catch .corrupt(let why) {
            throw .snapshotInvalid(why)
        }
    }

    private mutating func take(_ n: Int, allowShort: Bool = false) throws(KVStoreError) -> [UInt8] {
        // A damaged length must not make us allocate gigabytes for bytes the file lacks.
        if fileSize == nil { fileSize = try file.size() }
        let unread = (fileSize ?? 0) > offset ? (fileSize ?? 0) - offset : 0
        if !allowShort && UInt64(n) > UInt64(buffer.count - bufferStart) + unread {
            throw .snapshotInvalid("snapshot file is truncated")
        }
        while buffer.count - bufferStart < n {
            let more = try file.read(at: offset, count: max(Self.readSize, n))
            if more.isEmpty { break }
            offset += UInt64(more.count)
            checksumConsumed()
            buffer.removeFirst(bufferStart)
            bufferStart = 0
            checksummed = 0
            buffer.append(contentsOf: more)
        }
        let available = min(n, buffer.count - bufferStart)
        if available < n && !allowShort { throw .snapshotInvalid("snapshot file is truncated") }
        let bytes = Array(buffer[bufferStart..<bufferStart + available])
        bufferStart += available
        return bytes
    }

    /// Adds what was taken since the last call to the checksum.
    private mutating func checksumConsumed() {
        guard bufferStart > checksummed else { return }
        crc.update(buffer[checksummed..<bufferStart])
        checksummed = bufferStart
    }
}
