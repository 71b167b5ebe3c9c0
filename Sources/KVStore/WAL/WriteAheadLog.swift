import FoundationEssentials
import RaftCore
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The Raft log's durable front: each batch of entries and hard state a `Ready` must make
/// durable is appended here and flushed once, before anything depending on it leaves the
/// node. LMDB receives the same batch afterwards in a cheaper commit that a power loss may
/// roll back (see `DurableStore`), and recovery replays from here whatever LMDB lost.
///
/// Files: `wal/<first sequence, 16 hex digits>.wal`, each a `WALSegment`. A segment is
/// deleted once LMDB holds all of its records durably; the next segment is prepared on a
/// background thread so that switching to it costs no zero-filling on the write path.
final class WriteAheadLog: @unchecked Sendable {
    let directory: String
    let segmentBytes: UInt64
    private let writer: SerialThread
    private let preparer: SerialThread
    // Writer thread only:
    private var current: WALSegment
    /// Full segments and the last sequence each holds, oldest first.
    private var sealed: [(path: String, lastSequence: UInt64)] = []
    private var nextSequence: UInt64
    /// The highest sequence LMDB holds durably: every segment up to it may go.
    private let durableInLMDB = Locked<UInt64>(0)
    private let spare = Locked<WALSegment?>(nil)

    private static let spareName = "spare.wal"

    /// Every record in `directory`, oldest first, for replay into LMDB. Checks that the
    /// sequence numbers rise and that only the newest segment ends in a torn record.
    static func recover(directory: String) throws(KVStoreError) -> [WALRecord] {
        var records: [WALRecord] = []
        let segments = try segmentNames(directory)
        for (position, name) in segments.enumerated() {
            let (found, torn) = try WALSegment.records(at: directory + "/" + name)
            if torn && position != segments.count - 1 {
                throw .corrupt("write-ahead log segment \(name) is torn but is not the newest")
            }
            for record in found {
                if let last = records.last, record.sequence <= last.sequence {
                    throw .corrupt("write-ahead log sequence \(record.sequence) follows \(last.sequence) in \(name)")
                }
                records.append(record)
            }
        }
        return records
    }

    /// Starts a new log after recovery: LMDB must already hold every record of the old one
    /// durably, because the old segments are deleted here.
    init(directory: String, nextSequence: UInt64, segmentBytes: UInt64) throws(KVStoreError) {
        self.directory = directory
        self.segmentBytes = segmentBytes
        self.nextSequence = nextSequence
        writer = try SerialThread(name: "wal-writer")
        preparer = try SerialThread(name: "wal-prepare")
        try File.makeDirectory(directory)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            File.remove(directory + "/" + name)
        }
        current = try WALSegment.create(path: Self.path(directory, nextSequence), capacity: segmentBytes)
        prepareSpare()
    }

    /// Appends one record and flushes it; returns its sequence number once it is durable.
    /// `durable` runs on the writer thread right after the flush, with that sequence: what
    /// waited on the flush (a follower's acknowledgement) need not wait for a thread switch.
    func append(
        hardState: HardState?, entries: [Entry], durable: @escaping @Sendable (UInt64) -> Void = { _ in }
    ) async throws(KVStoreError) -> UInt64 {
        try await writer.run { () throws(KVStoreError) -> UInt64 in
            let record = WALRecord(sequence: self.nextSequence, hardState: hardState, entries: entries)
            let frame = record.framed()
            if !self.current.fits(frame.count) { try self.rotate(toFit: frame.count) }
            let start = self.current.end
            do throws(KVStoreError) {
                try self.current.append(frame)
                try self.current.sync()
            } catch {
                self.current.rewind(to: start)
                throw error
            }
            self.nextSequence += 1
            durable(record.sequence)
            self.removeSegmentsLMDBHolds()
            return record.sequence
        }
    }

    /// LMDB now holds every record up to `sequence` durably.
    func lmdbHolds(through sequence: UInt64) {
        durableInLMDB.withLock { $0 = max($0, sequence) }
    }

    /// Waits for queued appends, then stops the threads.
    func close() {
        writer.stop()
        preparer.stop()
    }

    /// The segment files, oldest first (fixed-width hex names sort by sequence).
    static func segmentNames(_ directory: String) throws(KVStoreError) -> [String] {
        guard File.exists(directory) else { return [] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .io(operation: "list \(directory)", errno: errno)
        }
        return names.filter { $0.hasSuffix(".wal") && $0 != spareName }.sorted()
    }

    private static func path(_ directory: String, _ firstSequence: UInt64) -> String {
        let hex = String(firstSequence, radix: 16)
        return directory + "/" + String(repeating: "0", count: max(0, 16 - hex.count)) + hex + ".wal"
    }

    private func rotate(toFit size: Int) throws(KVStoreError) {
        // Room the new segment may need (a full disk) comes first from segments LMDB holds.
        removeSegmentsLMDBHolds()
        let path = Self.path(directory, nextSequence)
        let needed = UInt64(size)
        if current.end == 0 {
            // Nothing written here yet (a first record larger than a segment): replace this
            // file by a larger one under the same name rather than seal an empty segment.
            current = try WALSegment.create(path: path, capacity: max(segmentBytes, needed))
            return
        }
        let next: WALSegment
        if needed <= segmentBytes, let ready = spare.withLock({ s -> WALSegment? in defer { s = nil }; return s }) {
            try ready.move(to: path)
            next = ready
        } else {
            next = try WALSegment.create(path: path, capacity: max(segmentBytes, needed))
        }
        sealed.append((current.path, nextSequence - 1))
        current = next
        prepareSpare()
    }

    /// Deletes full segments whose every record LMDB holds durably.
    private func removeSegmentsLMDBHolds() {
        let durable = durableInLMDB.current
        var removed = false
        while let oldest = sealed.first, oldest.lastSequence <= durable {
            File.remove(oldest.path)
            sealed.removeFirst()
            removed = true
        }
        // A deleted segment that reappears after a crash only holds records LMDB has.
        if removed { try? File.syncDirectory(directory) }
    }

    private func prepareSpare() {
        let path = directory + "/" + Self.spareName
        let capacity = segmentBytes
        preparer.submit { [spare] in
            guard spare.current == nil else { return }
            // A failure (a full disk) leaves no spare: the writer then creates the segment
            // itself and reports the error to whoever waits on the append.
            if let segment = try? WALSegment.create(path: path, capacity: capacity) {
                spare.withLock { $0 = segment }
            }
        }
    }
}
