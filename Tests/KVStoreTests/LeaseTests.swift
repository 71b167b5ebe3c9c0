@testable import KVStore
import RaftCore
import Testing

/// Leases in the state machine: granted at an entry's index, keys attached and detached by
/// the writes that name them, revoked with all their keys in one revision.
@Suite struct LeaseTests {
    @Test func aKeyFollowsTheLeaseItsLastWriteNamed() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            func put(_ index: UInt64, _ key: String, lease: UInt64) -> Entry {
                entry(index, term: 1, KVCommand(.txn(TxnRequest(success: [.put(key: key, value: bytes("\(index)"), lease: lease)]))))
            }
            let results = try await sm.apply([
                entry(1, term: 1, KVCommand(.leaseGrant(ttlSeconds: 10))),
                entry(2, term: 1, KVCommand(.leaseGrant(ttlSeconds: 20))),
                put(3, "a", lease: 1),
                put(4, "b", lease: 1),
                put(5, "c", lease: 2),
            ])
            #expect(results.prefix(2).map(\.outcome) == [
                .applied(KVResult(revision: 1, detail: .lease(id: 1, ttlSeconds: 10))),
                .applied(KVResult(revision: 2, detail: .lease(id: 2, ttlSeconds: 20))),
            ])
            #expect(try sm.leases() == [LeaseRecord(id: 1, ttlSeconds: 10), LeaseRecord(id: 2, ttlSeconds: 20)])
            #expect(try sm.lease(2) == LeaseRecord(id: 2, ttlSeconds: 20))
            #expect(try sm.lease(3) == nil)
            #expect(try sm.leaseKeys(1) == ["a", "b"])
            #expect(try sm.get("a")?.lease == 1)

            _ = try await sm.apply([
                put(6, "a", lease: 2),                    // moves to lease 2
                put(7, "a", lease: 2),                    // stays, attached once
                entry(8, term: 1, .put("b", bytes("plain"))), // a plain put detaches
                put(9, "c", lease: 0),                    // lease 0 detaches too
            ])
            #expect(try sm.leaseKeys(1).isEmpty)
            #expect(try sm.leaseKeys(2) == ["a"])
            #expect(try sm.get("a")?.lease == 2)
            #expect(try sm.get("b")?.lease == 0)
            #expect(try sm.get("c")?.lease == 0)

            // A delete detaches; a re-created key has no lease until a write names one.
            _ = try await sm.apply([entry(10, term: 1, .delete("a")), entry(11, term: 1, .put("a", []))])
            #expect(try sm.leaseKeys(2).isEmpty)
            #expect(try sm.get("a")?.lease == 0)
        }
    }

    @Test func revokingDeletesTheLeaseAndItsKeysInOneRevision() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            let attach = TxnRequest(success: [.put(key: "x", value: bytes("1"), lease: 1), .put(key: "y", value: bytes("2"), lease: 1)])
            _ = try await sm.apply([
                entry(1, term: 1, KVCommand(.leaseGrant(ttlSeconds: 5))),
                entry(2, term: 1, KVCommand(.txn(attach))),
                entry(3, term: 1, .put("z", [])),
                entry(4, term: 1, KVCommand(.leaseGrant(ttlSeconds: 5))),
            ])
            let x = try #require(try sm.get("x"))
            let y = try #require(try sm.get("y"))
            let results = try await sm.apply([
                entry(5, term: 1, KVCommand(.leaseRevoke(id: 1, expired: true))),
                entry(6, term: 1, KVCommand(.leaseRevoke(id: 4, expired: false))),
                entry(7, term: 1, KVCommand(.leaseRevoke(id: 1, expired: false))),
                entry(8, term: 1, KVCommand(.leaseKeepAlive(id: 1))),
                entry(9, term: 1, KVCommand(.leaseKeepAlive(id: 99))),
            ])
            #expect(results.map(\.outcome) == [
                .applied(KVResult(revision: 5, deleted: true, detail: .deletedKeys(2))),
                .applied(KVResult(revision: 6, deleted: false, detail: .deletedKeys(0))),
                .rejected(.leaseNotFound(1)),
                .rejected(.leaseNotFound(1)),
                .rejected(.leaseNotFound(99)),
            ])
            let events = try sm.events(after: 4, limit: .max)
            #expect(events == [KVEvent.deletion(of: x, at: 5, expired: true), KVEvent.deletion(of: y, at: 5, expired: true)])
            #expect(try sm.get("x") == nil)
            #expect(try sm.get("z") != nil)
            #expect(try sm.leases().isEmpty)
            #expect(try sm.leaseKeys(1).isEmpty)
        }
    }

    @Test func aKeepAliveAnswersTheFullTTLAndAnUnknownLeaseIsRefusedEverywhere() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            let results = try await sm.apply([
                entry(1, term: 1, KVCommand(.leaseGrant(ttlSeconds: 30))),
                entry(2, term: 1, KVCommand(.leaseKeepAlive(id: 1))),
                entry(3, term: 1, KVCommand(.txn(TxnRequest(success: [.put(key: "k", value: [], lease: 2)])))),
                entry(4, term: 1, KVCommand(.leaseGrant(ttlSeconds: 0))),
                entry(5, term: 1, .put("after", [])),
            ])
            #expect(results.map(\.outcome) == [
                .applied(KVResult(revision: 1, detail: .lease(id: 1, ttlSeconds: 30))),
                .applied(KVResult(revision: 2, detail: .lease(id: 1, ttlSeconds: 30))),
                .rejected(.leaseNotFound(2)),
                .rejected(.invalidCommand("a lease's ttl must be 1...\(KVCommand.maxLeaseSeconds) seconds, not 0")),
                .applied(KVResult(revision: 5)),
            ])
            #expect(try sm.leases() == [LeaseRecord(id: 1, ttlSeconds: 30)])
            #expect(try sm.get("k") == nil)
            #expect(sm.revision == 5, "a refused entry still advances the applied index")
        }
    }
}
