import KVStore
import RaftCore
import Testing

/// Every read of history, leases and the compact revision includes what the open write
/// transaction applied, so a write is visible as soon as it is answered; and it reads the
/// same before and after that transaction commits.
@Suite struct OpenTransactionReadsTests {
    @Test(.timeLimit(.minutes(1)))
    func historyAndLeasesAppliedButNotCommittedAreRead() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            _ = try await sm.apply([
                entry(1, term: 1, .put("k", bytes("1"))),
                entry(2, term: 1, KVCommand(.leaseGrant(ttlSeconds: 10))),
                entry(3, term: 1, KVCommand(.txn(TxnRequest(success: [.put(key: "leased", value: [], lease: 2)])))),
                entry(4, term: 1, .put("gone", [])),
            ])
            let held = HeldApply(store, [
                entry(5, term: 1, .put("k", bytes("5"))),
                entry(6, term: 1, KVCommand(.leaseGrant(ttlSeconds: 20))),
                entry(7, term: 1, KVCommand(.txn(TxnRequest(success: [
                    .put(key: "k", value: bytes("7"), lease: 6), .delete(key: "gone"), .put(key: "new", value: [], lease: 6),
                ])))),
                entry(8, term: 1, KVCommand(.leaseRevoke(id: 2, expired: true))),
                entry(9, term: 1, KVCommand(.compact(revision: 4))),
                entry(10, term: 1, .put("untouched-after", [])),
            ])
            defer { held.release() }
            let results = try await held.waitUntilApplied()
            #expect(results.map(\.outcome).allSatisfy { if case .applied = $0 { true } else { false } }, "\(results)")
            #expect(!held.isCommitted)

            let open = try Reads(sm)
            #expect(sm.revision == 10)
            #expect(open.compactRevision == 4)
            #expect(open.events.map(\.revision) == [5, 7, 7, 7, 8, 10])
            #expect(open.events.map(\.key) == ["k", "k", "gone", "new", "leased", "untouched-after"])
            #expect(open.events[4].expired)
            #expect(open.leases == [LeaseRecord(id: 6, ttlSeconds: 20)])
            #expect(open.leaseKeys == [["k", "new"]])
            #expect(open.k5 == KVRecord(key: "k", value: bytes("5"), revision: 5, createRevision: 1, version: 2))
            #expect(open.k7?.lease == 6)
            #expect(open.gone4 != nil)
            #expect(open.gone7 == nil)
            #expect(try sm.lease(2) == nil)
            #expect(try sm.lease(6) != nil)
            #expect(throws: KVStoreError.compacted(compactRevision: 4)) { try sm.events(after: 3, limit: 10) }
            #expect(throws: KVStoreError.compacted(compactRevision: 4)) { try sm.get("k", atRevision: 3) }

            await held.commit(store)
            #expect(try Reads(sm) == open, "the same once committed")
        }
    }

    /// The reads above, taken together.
    private struct Reads: Equatable {
        var compactRevision: UInt64
        var events: [KVEvent]
        var leases: [LeaseRecord]
        var leaseKeys: [[String]]
        var k5: KVRecord?
        var k7: KVRecord?
        var gone4: KVRecord?
        var gone7: KVRecord?

        init(_ sm: KVStateMachine) throws {
            compactRevision = try sm.compactRevision()
            events = try sm.events(after: 4, limit: .max)
            leases = try sm.leases()
            leaseKeys = try leases.map { try sm.leaseKeys($0.id) }
            k5 = try sm.get("k", atRevision: 5)
            k7 = try sm.get("k", atRevision: 7)
            gone4 = try sm.get("gone", atRevision: 4)
            gone7 = try sm.get("gone", atRevision: 7)
        }
    }
}
