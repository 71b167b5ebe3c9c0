import Testing
@testable import KVStore

/// The version 2 layouts (commands, result details, history events, sessions with a detail):
/// everything written reads back equal, and damaged or hostile bytes are a typed error,
/// never a trap or an allocation the input does not pay for.
@Suite struct CommandCodingTests {
    static let txn = TxnRequest(
        compare: [
            TxnCompare(key: "a", target: .revision, relation: .equal, operand: .number(7)),
            TxnCompare(key: "b", target: .createRevision, relation: .notEqual, operand: .number(0)),
            TxnCompare(key: "c", target: .version, relation: .less, operand: .number(.max)),
            TxnCompare(key: "ключ", target: .value, relation: .greater, operand: .bytes([0, 255, 1])),
        ],
        success: [.put(key: "a", value: bytes("x"), lease: 42), .delete(key: "b"), .deletePrefix("p/"), .get(key: "c")],
        failure: [.put(key: "a", value: [], lease: 0)]
    )

    static let commands: [KVCommand] = [
        KVCommand(.txn(txn), requestID: ClientRequestID(clientID: 1, sequence: 2)),
        KVCommand(.txn(TxnRequest())),
        KVCommand(.leaseGrant(ttlSeconds: 10)),
        KVCommand(.leaseGrant(ttlSeconds: -1)),
        KVCommand(.leaseKeepAlive(id: .max), requestID: ClientRequestID(clientID: .max, sequence: .max)),
        KVCommand(.leaseRevoke(id: 9, expired: true)),
        KVCommand(.leaseRevoke(id: 9, expired: false)),
        KVCommand(.compact(revision: 123)),
        .put("k", bytes("v")),
        .delete("k", requestID: ClientRequestID(clientID: 3, sequence: 4)),
    ]

    @Test(arguments: commands)
    func everyCommandRoundTripsAndEveryTruncationIsRefused(_ command: KVCommand) throws {
        let encoded = command.encoded()
        #expect(try KVCommand(decoding: encoded) == command)
        // A plain put's value runs to the end, so any prefix after its key is a shorter value.
        let valueRunsToTheEnd: Bool = if case .put = command.operation { true } else { false }
        for length in 0..<encoded.count {
            let prefix = Array(encoded.prefix(length))
            if valueRunsToTheEnd, let decoded = try? KVCommand(decoding: prefix) {
                #expect(decoded.requestID == command.requestID)
                continue
            }
            #expect(throws: KVStoreError.self) { try KVCommand(decoding: prefix) }
        }
        if !valueRunsToTheEnd {
            #expect(throws: KVStoreError.self) { try KVCommand(decoding: encoded + [0]) }
        }
    }

    @Test func unknownVersionsOperationsAndTagsAreRefusedAsInvalidCommands() throws {
        for bytes: [UInt8] in [
            [3, 1, 0], [0, 1, 0], [2, 1, 0], [2, 2, 0], [1, 3, 0], [2, 8, 0], [2, 0xFF, 0],
        ] {
            #expect(throws: KVStoreError.self) { try KVCommand(decoding: bytes + [UInt8](repeating: 0, count: 20)) }
        }
        // A txn with an unknown comparison target, relation, operand kind, and operation.
        let txnHeader: [UInt8] = [2, 3, 0]
        let oneCompare: [UInt8] = [1, 0, 1, 0, 0x61]
        for tail: [[UInt8]] in [
            [oneCompare, [9, 1, 1], [UInt8](repeating: 0, count: 8), [0, 0, 0, 0]],
            [oneCompare, [1, 9, 1], [UInt8](repeating: 0, count: 8), [0, 0, 0, 0]],
            [oneCompare, [1, 1, 3], [UInt8](repeating: 0, count: 8), [0, 0, 0, 0]],
            [[0, 0], [1, 0, 7, 1, 0, 0x61], [0, 0]],
        ] {
            let bytes = txnHeader + tail.flatMap { $0 }
            #expect {
                try KVCommand(decoding: bytes)
            } throws: { error in
                guard case .invalidCommand = error as? KVStoreError else { return false }
                return true
            }
        }
    }

    @Test func hugeCountsAndLengthsFailOnTheBytesThatAreThere() throws {
        // 65,535 comparisons announced, none present.
        #expect(throws: KVStoreError.self) { try KVCommand(decoding: [2, 3, 0, 0xFF, 0xFF]) }
        // A put whose value claims 4 GiB.
        let hugeValue: [UInt8] = [2, 3, 0, 0, 0, 1, 0, 1, 1, 0, 0x61, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3]
        #expect(throws: KVStoreError.self) { try KVCommand(decoding: hugeValue) }
        // A value comparison whose operand claims 4 GiB.
        let hugeOperand: [UInt8] = [2, 3, 0, 1, 0, 1, 0, 0x61, 4, 1, 2, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(throws: KVStoreError.self) { try KVCommand(decoding: hugeOperand) }
        // Results: a count that does not fit an Int, a huge result list, a huge record.
        #expect(ResultDetail(decoding: [3] + [UInt8](repeating: 0xFF, count: 8)) == nil)
        #expect(ResultDetail(decoding: [1, 1, 0xFF, 0xFF]) == nil)
        #expect(ResultDetail(decoding: [1, 1, 1, 0, 4, 1, 0, 0x61, 1, 0xFF, 0xFF, 0xFF, 0xFF]) == nil)
        #expect(ResultDetail(decoding: [1, 1, 1, 0, 2, 1, 0, 0x61] + [UInt8](repeating: 0xFF, count: 8)) == nil)
    }

    static let details: [ResultDetail] = [
        .txn(TxnResult(succeeded: true, results: [
            .put(key: "a", revision: 5), .delete(key: "b", deleted: 1), .deletePrefix(prefix: "p/", deleted: 3),
            .get(key: "c", record: KVRecord(key: "c", value: bytes("v"), revision: 4, createRevision: 2, version: 3, lease: 9)),
            .get(key: "d", record: nil),
        ])),
        .txn(TxnResult(succeeded: false, results: [])),
        .lease(id: 17, ttlSeconds: 30),
        .deletedKeys(0),
        .deletedKeys(12),
    ]

    @Test(arguments: details)
    func resultDetailsRoundTripAndTruncationsAreRefused(_ detail: ResultDetail) {
        let encoded = detail.encoded()
        #expect(ResultDetail(decoding: encoded) == detail)
        for length in 0..<encoded.count { #expect(ResultDetail(decoding: Array(encoded.prefix(length))) == nil) }
        #expect(ResultDetail(decoding: encoded + [0]) == nil)
        #expect(ResultDetail(decoding: [4] + Array(encoded.dropFirst())) == nil, "unknown kind")
    }

    @Test(arguments: details)
    func aSessionKeepsItsResultsDetail(_ detail: ResultDetail) throws {
        let session = SessionRecord(sequence: 3, lastIndex: 8, result: KVResult(revision: 8, deleted: true, detail: detail),
                                    fingerprint: RequestFingerprint(value: 99))
        let encoded = session.encoded()
        #expect(encoded[1] & 4 != 0, "flag bit 2 marks the detail")
        #expect(try SessionRecord(decoding: encoded) == session)
        for length in 0..<encoded.count {
            #expect(throws: KVStoreError.self) { try SessionRecord(decoding: Array(encoded.prefix(length))) }
        }
        // A detail without a result cannot be.
        var orphan = ByteWriter()
        orphan.u8(2)
        orphan.u8(4)
        orphan.u64(1)
        orphan.u64(1)
        orphan.blob(detail.encoded())
        #expect(throws: KVStoreError.self) { try SessionRecord(decoding: orphan.bytes) }
    }

    static let events: [KVEvent] = [
        KVEvent(kind: .put, record: KVRecord(key: "k", value: bytes("v2"), revision: 9, createRevision: 3, version: 2, lease: 5),
                previous: KVRecord(key: "k", value: bytes("v1"), revision: 3, lease: 5)),
        KVEvent(kind: .put, record: KVRecord(key: "new", value: [], revision: 4), previous: nil),
        .deletion(of: KVRecord(key: "gone", value: bytes("x"), revision: 2), at: 7, expired: true),
        .deletion(of: KVRecord(key: "gone", value: bytes("x"), revision: 2), at: 7, expired: false),
    ]

    @Test(arguments: events)
    func historyEventsRoundTripAndTruncationsAreRefused(_ event: KVEvent) throws {
        let encoded = event.encoded()
        #expect(try KVEvent(decoding: encoded) == event)
        #expect(KVEvent.key(ofEncoded: encoded).map { Array($0) } == Array(event.key.utf8))
        for length in 0..<encoded.count {
            #expect(throws: KVStoreError.self) { try KVEvent(decoding: Array(encoded.prefix(length))) }
            // The key peek never reads past the end.
            _ = KVEvent.key(ofEncoded: Array(encoded.prefix(length)))
        }
        #expect(throws: KVStoreError.self) { try KVEvent(decoding: encoded + [0]) }
        var unknownKind = encoded
        unknownKind[1] = 3
        #expect(throws: KVStoreError.self) { try KVEvent(decoding: unknownKind) }
    }

    @Test func eventPositionsOrderByRevisionThenOffset() throws {
        let positions = [EventPosition(revision: 1, offset: 0), EventPosition(revision: 1, offset: 1),
                         EventPosition(revision: 1, offset: 256), EventPosition(revision: 2, offset: 0),
                         EventPosition(revision: 256, offset: .max)]
        for (a, b) in zip(positions, positions.dropFirst()) {
            #expect(a < b)
            #expect(a.key.lexicographicallyPrecedes(b.key), "LMDB's byte order is the events' order")
        }
        for position in positions { #expect(try EventPosition(key: position.key) == position) }
        #expect(throws: KVStoreError.self) { try EventPosition(key: [1, 2, 3]) }
    }

    @Test func kvRecordsOfEveryVersionRead() throws {
        var v1 = ByteWriter()
        v1.u8(1)
        v1.u64(12)
        v1.raw(bytes("old value"))
        #expect(try KVRecord(key: bytes("k"), stored: v1.bytes)
            == KVRecord(key: "k", value: bytes("old value"), revision: 12, createRevision: 12, version: 1, lease: 0))
        var v2 = ByteWriter()
        v2.u8(2)
        for number: UInt64 in [20, 12, 4, 7] { v2.u64(number) }
        v2.raw(bytes("new"))
        let record = KVRecord(key: "k", value: bytes("new"), revision: 20, createRevision: 12, version: 4, lease: 7)
        #expect(try KVRecord(key: bytes("k"), stored: v2.bytes) == record)
        let v3 = record.encodedValue()
        #expect(v3 == [3, 20, 12, 4, 7] + bytes("new"), "small numbers take a byte each")
        #expect(try KVRecord(key: bytes("k"), stored: v3) == record)
        let large = KVRecord(key: "k", value: [], revision: .max, createRevision: 1 << 35, version: 300, lease: 1 << 63)
        #expect(try KVRecord(key: bytes("k"), stored: large.encodedValue()) == large)
        #expect(throws: KVStoreError.self) { try KVRecord(key: bytes("k"), stored: [4] + v3.dropFirst()) }
        #expect(throws: KVStoreError.self) { try KVRecord(key: bytes("k"), stored: Array(v2.bytes.prefix(20))) }
        #expect(throws: KVStoreError.self) { try KVRecord(key: bytes("k"), stored: [3, 20, 12, 0x84]) }
        #expect(throws: KVStoreError.self) { try KVRecord(key: bytes("k"), stored: []) }
    }

    @Test("varints round-trip, and a truncated or overlong one is corrupt, never wrapped")
    func varints() throws {
        for number: UInt64 in [0, 1, 127, 128, 300, 16_383, 16_384, 1 << 32, .max - 1, .max] {
            var w = ByteWriter()
            w.varint(number)
            var r = ByteReader(w.bytes, what: "test")
            #expect(try r.varint() == number)
            #expect(r.isAtEnd)
        }
        var maxBytes = ByteWriter()
        maxBytes.varint(.max)
        #expect(maxBytes.bytes.count == 10)
        let hostile: [[UInt8]] = [
            [], [0x80], [0xFF, 0xFF],
            Array(repeating: 0xFF, count: 9) + [0x02],
            Array(repeating: 0xFF, count: 9) + [0x81, 0x00],
            Array(repeating: 0x80, count: 11) + [0x00],
        ]
        for bytes in hostile {
            var r = ByteReader(bytes, what: "test")
            #expect(throws: KVStoreError.self) { try r.varint() }
        }
    }

    @Test func leaseRecordsRoundTrip() throws {
        let lease = LeaseRecord(id: 77, ttlSeconds: 3600)
        #expect(try LeaseRecord(id: 77, decoding: lease.encoded()) == lease)
        #expect(throws: KVStoreError.self) { try LeaseRecord(id: 77, decoding: Array(lease.encoded().dropLast())) }
        #expect(throws: KVStoreError.self) { try LeaseRecord(id: 77, decoding: [2] + lease.encoded().dropFirst()) }
    }

    @Test func commandValidationNamesWhatIsWrong() {
        #expect(throws: KVStoreError.self) { try KVCommand(.leaseGrant(ttlSeconds: 0)).validate() }
        #expect(throws: KVStoreError.self) { try KVCommand(.leaseGrant(ttlSeconds: KVCommand.maxLeaseSeconds + 1)).validate() }
        #expect(throws: KVStoreError.self) { try KVCommand(.txn(TxnRequest(success: [.deletePrefix("")]))).validate() }
        #expect(throws: KVStoreError.self) { try KVCommand(.txn(TxnRequest(compare: [TxnCompare(key: "", target: .version, relation: .equal, operand: .number(0))]))).validate() }
        let tooMany = [TxnOperation](repeating: .get(key: "k"), count: TxnRequest.maxEntries + 1)
        #expect(throws: KVStoreError.self) { try KVCommand(.txn(TxnRequest(failure: tooMany))).validate() }
        #expect(throws: Never.self) { try KVCommand(.txn(TxnRequest(failure: Array(tooMany.dropLast())))).validate() }
        #expect(throws: Never.self) { try KVCommand(.leaseGrant(ttlSeconds: 1)).validate() }
    }
}
