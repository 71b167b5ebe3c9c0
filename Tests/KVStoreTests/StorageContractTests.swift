import KVStore
import RaftCore
import Testing

/// The writes a log under test accepts, so one scenario can drive both implementations.
protocol WritableLog: RaftStorage {
    func write(hardState: HardState?, entries: [Entry]) async throws
    func compactLog(upTo index: UInt64) async throws
}

extension MemoryStorage: WritableLog {
    func write(hardState: HardState?, entries: [Entry]) async throws {
        if let hardState { setHardState(hardState) }
        append(entries)
    }

    func compactLog(upTo index: UInt64) async throws { compact(upTo: index) }
}

extension LMDBRaftStorage: WritableLog {
    func write(hardState: HardState?, entries: [Entry]) async throws {
        try await persist(hardState: hardState, entries: entries)
    }

    func compactLog(upTo index: UInt64) async throws { try await compact(upTo: index) }
}

enum LogKind: String, CaseIterable, CustomTestStringConvertible {
    case memory, lmdb
    var testDescription: String { rawValue }
}

/// `LMDBRaftStorage` must answer exactly like RaftCore's reference `MemoryStorage`; every
/// expectation here runs against both.
@Suite struct StorageContractTests {
    private func withLog(_ kind: LogKind, _ body: (any WritableLog) async throws -> Void) async throws {
        switch kind {
        case .memory: try await body(MemoryStorage())
        case .lmdb: try await withStore { store, _ in try await body(store.log) }
        }
    }

    private func terms(_ log: any WritableLog, _ range: ClosedRange<UInt64>) -> [UInt64?] {
        range.map { try? log.term(at: $0) }
    }

    @Test(arguments: LogKind.allCases)
    func emptyLog(kind: LogKind) async throws {
        try await withLog(kind) { log throws in
            #expect(log.firstIndex() == 1)
            #expect(log.lastIndex() == 0)
            #expect(try log.term(at: 0) == 0)
            #expect(throws: RaftStorageError.unavailable) { try log.term(at: 1) }
            #expect(throws: RaftStorageError.compacted) { try log.entries(from: 0, to: 1, maxBytes: .max) }
            #expect(throws: RaftStorageError.unavailable) { try log.entries(from: 1, to: 2, maxBytes: .max) }
            #expect(try log.entries(from: 1, to: 1, maxBytes: .max).isEmpty)
            #expect(throws: RaftStorageError.snapshotUnavailable) { try log.snapshotData(offset: 0, maxBytes: 10) }
            #expect(log.initialState().hardState == .empty)
            #expect(log.snapshotMetadata() == .empty)
        }
    }

    @Test(arguments: LogKind.allCases)
    func appendTruncatesConflictingSuffix(kind: LogKind) async throws {
        try await withLog(kind) { log throws in
            let first = (1...5).map { Entry(term: 1, index: $0, data: [UInt8($0)]) }
            try await log.write(hardState: HardState(term: 1, vote: "a", commit: 2), entries: first)
            #expect(log.lastIndex() == 5)
            try await log.write(hardState: nil, entries: [Entry(term: 2, index: 4, data: [40]), Entry(term: 2, index: 5, data: [50])])
            try await log.write(hardState: nil, entries: [Entry(term: 3, index: 3, data: [33])])
            #expect(log.lastIndex() == 3)
            #expect(terms(log, 0...4) == [0, 1, 1, 3, nil])
            #expect(try log.entries(from: 1, to: 4, maxBytes: .max).map(\.data) == [[1], [2], [33]])
            #expect(log.initialState().hardState == HardState(term: 1, vote: "a", commit: 2))
        }
    }

    @Test(arguments: LogKind.allCases)
    func entriesStopAtMaxBytesButReturnAtLeastOne(kind: LogKind) async throws {
        try await withLog(kind) { log throws in
            let entries = (1...6).map { Entry(term: 1, index: $0, kind: $0 == 2 ? .configChange : .normal, data: [UInt8](repeating: 7, count: 10)) }
            try await log.write(hardState: nil, entries: entries)
            #expect(try log.entries(from: 2, to: 7, maxBytes: 0).count == 1)
            #expect(try log.entries(from: 2, to: 7, maxBytes: 68).count == 2)
            #expect(try log.entries(from: 2, to: 7, maxBytes: 102).count == 3)
            #expect(try log.entries(from: 1, to: 7, maxBytes: .max) == entries)
            #expect(throws: RaftStorageError.unavailable) { try log.entries(from: 2, to: 8, maxBytes: .max) }
        }
    }

    @Test(arguments: LogKind.allCases)
    func compactionMovesFirstIndexAndKeepsBoundaryTerm(kind: LogKind) async throws {
        try await withLog(kind) { log throws in
            try await log.write(hardState: nil, entries: (1...10).map { Entry(term: $0 < 5 ? 1 : 2, index: $0) })
            try await log.compactLog(upTo: 6)
            #expect(log.firstIndex() == 7)
            #expect(log.lastIndex() == 10)
            #expect(try log.term(at: 6) == 2)
            #expect(throws: RaftStorageError.compacted) { try log.term(at: 5) }
            #expect(throws: RaftStorageError.compacted) { try log.entries(from: 6, to: 8, maxBytes: .max) }
            #expect(try log.entries(from: 7, to: 11, maxBytes: .max).map(\.index) == [7, 8, 9, 10])
            try await log.compactLog(upTo: 3)
            #expect(log.firstIndex() == 7)
            try await log.compactLog(upTo: 99)
            #expect(log.firstIndex() == 11)
            #expect(log.lastIndex() == 10)
            #expect(try log.term(at: 10) == 2)
            try await log.write(hardState: nil, entries: [Entry(term: 3, index: 11)])
            #expect(terms(log, 9...12) == [nil, 2, 3, nil])
        }
    }
}
