import Foundation
@testable import KVStore
import RaftCore
import Testing

/// The write-ahead log on its own (segments, torn tails, deletion) and as the durable front
/// of `DurableStore` (entries readable before LMDB has them, replayed after LMDB lost them).
@Suite struct WriteAheadLogTests {
    static func entries(_ range: ClosedRange<UInt64>, term: UInt64) -> [Entry] {
        range.map { Entry(term: term, index: $0, data: Array("entry \($0) of term \(term)".utf8)) }
    }

    static func durableReady(_ hardState: HardState?, _ entries: [Entry]) -> Ready {
        var ready = Ready()
        ready.hardState = hardState
        ready.entries = entries
        ready.mustSync = true
        return ready
    }

    static func segmentFiles(_ dir: String) throws -> [String] {
        try WriteAheadLog.segmentNames(dir + "/wal")
    }

    @Test func entriesWrittenAheadAreReadableAndComeBackWhenLMDBNeverGotThem() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let written = Self.entries(1...5, term: 2)
        let hardState = HardState(term: 2, vote: "n1", commit: 0)
        do {
            let store = try DurableStore(directory: dir.path)
            defer { store.close() }
            let sequence = try await store.writeAhead(Self.durableReady(hardState, written))
            #expect(sequence != nil)
            #expect(store.log.lastIndex() == 5)
            #expect(try store.log.entries(from: 1, to: 6, maxBytes: .max) == written)
            #expect(try store.log.term(at: 3) == 2)
            // Closed before `apply`: LMDB never saw the batch.
        }
        let store = try DurableStore(directory: dir.path)
        defer { store.close() }
        #expect(store.log.lastIndex() == 5)
        #expect(try store.log.entries(from: 1, to: 6, maxBytes: .max) == written)
        #expect(store.log.initialState().hardState == hardState)
        #expect(store.hasRaftState)
    }

    @Test func aConflictingAppendReplacesEntriesLMDBStillHolds() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let first = Self.durableReady(HardState(term: 1, commit: 0), Self.entries(1...5, term: 1))
        let second = Self.durableReady(nil, Self.entries(6...8, term: 1))
        let third = Self.durableReady(HardState(term: 2, commit: 0), Self.entries(4...5, term: 2))
        let expected = Self.entries(1...3, term: 1) + Self.entries(4...5, term: 2)
        do {
            let store = try DurableStore(directory: dir.path)
            defer { store.close() }
            for ready in [first, second] {
                let sequence = try await store.writeAhead(ready)
                _ = try await store.apply(ready, walSequence: sequence)
            }
            // LMDB holds 1...8 of term 1; the write-ahead log replaces 4...8.
            _ = try await store.writeAhead(third)
            #expect(store.log.lastIndex() == 5)
            #expect(try store.log.entries(from: 1, to: 6, maxBytes: .max) == expected)
            #expect(try store.log.term(at: 5) == 2)
            #expect(throws: RaftStorageError.unavailable) { try store.log.term(at: 6) }
        }
        let store = try DurableStore(directory: dir.path)
        defer { store.close() }
        #expect(store.log.lastIndex() == 5)
        #expect(try store.log.entries(from: 1, to: 6, maxBytes: .max) == expected)
        #expect(store.log.initialState().hardState.term == 2)
    }

    @Test func entriesAcrossLMDBAndTheUnmirroredRunRespectMaxBytes() async throws {
        try await withStore { store, _ in
            let mirrored = Self.durableReady(HardState(term: 1, commit: 0), Self.entries(1...3, term: 1))
            let sequence = try await store.writeAhead(mirrored)
            _ = try await store.apply(mirrored, walSequence: sequence)
            _ = try await store.writeAhead(Self.durableReady(nil, Self.entries(4...6, term: 1)))
            let all = Self.entries(1...6, term: 1)
            #expect(try store.log.entries(from: 2, to: 7, maxBytes: .max) == Array(all[1...]))
            let four = all[1...4].reduce(0) { $0 + $1.byteSize }
            #expect(try store.log.entries(from: 2, to: 7, maxBytes: four) == Array(all[1...4]))
            #expect(try store.log.entries(from: 5, to: 6, maxBytes: 1) == [all[4]])
        }
    }

    @Test func segmentsRotateAndGoOnceLMDBHoldsThem() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let wal = try WriteAheadLog(directory: dir.path + "/wal", nextSequence: 1, segmentBytes: 1024)
        defer { wal.close() }
        var sequences: [UInt64] = []
        for batch in UInt64(0)..<40 {
            sequences.append(try await wal.append(hardState: nil, entries: Self.entries(batch * 4 + 1...batch * 4 + 4, term: 1)))
        }
        #expect(sequences == Array(1...40))
        let before = try Self.segmentFiles(dir.path)
        #expect(before.count > 3, "40 records of about 185 bytes fill several 1 KiB segments")
        let recovered = try WriteAheadLog.recover(directory: dir.path + "/wal")
        #expect(recovered.map(\.sequence) == sequences)
        #expect(recovered.flatMap(\.entries) == Self.entries(1...160, term: 1))

        wal.lmdbHolds(through: 40)
        _ = try await wal.append(hardState: nil, entries: Self.entries(161...161, term: 1))
        let after = try Self.segmentFiles(dir.path)
        #expect(after == [before.last!], "every full segment is gone, the one being written stays")
    }

    @Test func aTornLastRecordIsDroppedAndATornOlderSegmentIsRefused() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let walDir = dir.path + "/wal"
        do {
            let wal = try WriteAheadLog(directory: walDir, nextSequence: 1, segmentBytes: 1 << 20)
            defer { wal.close() }
            for batch in UInt64(0)..<3 {
                _ = try await wal.append(hardState: HardState(term: batch + 1), entries: Self.entries(batch + 1...batch + 1, term: batch + 1))
            }
        }
        let segment = walDir + "/" + (try Self.segmentFiles(dir.path)).first!
        let sizes = try WriteAheadLog.recover(directory: walDir).map { $0.framed().count }
        let lastStart = UInt64(sizes[0] + sizes[1])

        // A flipped byte in the last payload fails its checksum.
        let file = try File(path: segment, flags: O_RDWR)
        let original = try file.read(at: lastStart + 20, count: 1)
        try file.write([original[0] ^ 0xFF], at: lastStart + 20)
        #expect(try WriteAheadLog.recover(directory: walDir).map(\.sequence) == [1, 2])
        // A header that never reached the disk reads as the end of the log.
        try file.write([0, 0, 0, 0], at: lastStart)
        #expect(try WriteAheadLog.recover(directory: walDir).map(\.sequence) == [1, 2])
        // A length running past the file is a cut-short record.
        try file.write([0xFF, 0xFF, 0xFF, 0x00], at: lastStart)
        #expect(try WriteAheadLog.recover(directory: walDir).map(\.sequence) == [1, 2])

        // The same damage in a segment that is not the newest is corruption, not a crash.
        let newer = walDir + "/" + "00000000000000ff.wal"
        let next = try File(path: newer, flags: O_RDWR | O_CREAT)
        try next.write(WALRecord(sequence: 255, hardState: nil, entries: []).framed(), at: 0)
        do {
            _ = try WriteAheadLog.recover(directory: walDir)
            Issue.record("a torn segment followed by another one was accepted")
        } catch {
            guard case .corrupt(let message) = error else { throw error }
            #expect(message.contains("torn"), "\(message)")
        }
    }

    @Test func aFirstRecordLargerThanASegmentIsKept() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let walDir = dir.path + "/wal"
        let big = Entry(term: 1, index: 1, data: [UInt8](repeating: 7, count: 3000))
        do {
            let wal = try WriteAheadLog(directory: walDir, nextSequence: 1, segmentBytes: 1024)
            defer { wal.close() }
            _ = try await wal.append(hardState: nil, entries: [big])
            _ = try await wal.append(hardState: nil, entries: Self.entries(2...2, term: 1))
            _ = try await wal.append(hardState: nil, entries: Self.entries(3...3, term: 1))
        }
        let recovered = try WriteAheadLog.recover(directory: walDir)
        #expect(recovered.map(\.sequence) == [1, 2, 3])
        #expect(recovered.first?.entries.first?.data.count == big.data.count)
    }

    @Test func aSegmentStaysUntilACommitAfterItsOwnMadeItDurable() async throws {
        // 100-byte segments hold one of these 84-byte records each.
        try await withStore(options: StoreOptions(walSegmentBytes: 100)) { store, dir in
            func batch(_ index: UInt64) async throws -> UInt64? {
                let ready = Self.durableReady(HardState(term: 1, commit: 0), Self.entries(index...index, term: 1))
                let sequence = try await store.writeAhead(ready)
                _ = try await store.apply(ready, walSequence: sequence)
                return sequence
            }
            for index in UInt64(1)...3 { _ = try await batch(index) }
            // Commit 3 was replayable: only commit 2 is durable for sure, so record 3's
            // segment must stay; record 1's may go (on the next append).
            _ = try await store.writeAhead(Self.durableReady(HardState(term: 1, commit: 0), Self.entries(4...4, term: 1)))
            let files = try Self.segmentFiles(dir.path)
            #expect(files == ["0000000000000003.wal", "0000000000000004.wal"],
                    "records 1 and 2 are durable in LMDB, record 3 is not yet: \(files)")
        }
    }

    @Test func aGapBetweenLMDBAndTheWriteAheadLogIsRefused() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let store = try DurableStore(directory: dir.path)
            defer { store.close() }
            let ready = Self.durableReady(HardState(term: 1, commit: 0), Self.entries(1...2, term: 1))
            let sequence = try await store.writeAhead(ready)
            _ = try await store.apply(ready, walSequence: sequence)
        }
        // A record two past what LMDB holds: the one in between is missing.
        let segment = try File(path: dir.path + "/wal/0000000000000009.wal", flags: O_RDWR | O_CREAT)
        try segment.write(WALRecord(sequence: 3, hardState: nil, entries: Self.entries(3...3, term: 1)).framed(), at: 0)
        do {
            let store = try DurableStore(directory: dir.path)
            store.close()
            Issue.record("a store whose write-ahead log skips a record opened")
        } catch {
            guard case .corrupt(let message) = error else { throw error }
            #expect(message.contains("resumes at record 3"), "\(message)")
        }
    }

    @Test func aStoreKeepsOnlyTheSegmentsLMDBMayStillNeed() async throws {
        try await withStore(options: StoreOptions(walSegmentBytes: 8192)) { store, dir in
            var commit: UInt64 = 0
            for batch in UInt64(0)..<200 {
                let written = Self.entries(batch * 2 + 1...batch * 2 + 2, term: 1)
                var ready = Self.durableReady(HardState(term: 1, commit: commit), written)
                ready.committedEntries = []
                let sequence = try await store.writeAhead(ready)
                _ = try await store.apply(ready, walSequence: sequence)
                commit = written.last!.index
            }
            #expect(store.log.lastIndex() == 400)
            #expect(try store.log.entries(from: 1, to: 401, maxBytes: .max) == Self.entries(1...400, term: 1))
            let files = try Self.segmentFiles(dir.path)
            #expect(files.count <= 2, "200 records fill many 8 KiB segments, but LMDB holds all but the newest: \(files)")
        }
    }
}
