import KVStore
import RaftCore
import Testing

/// Transactions in the state machine: how comparisons decide, and that the chosen branch
/// applies whole at one revision or (when refused) not at all.
@Suite struct TxnTests {
    private static func compare(_ key: String, _ target: TxnCompare.Target, _ relation: TxnCompare.Relation,
                                _ operand: TxnCompare.Operand) -> TxnCompare {
        TxnCompare(key: key, target: target, relation: relation, operand: operand)
    }

    /// Applies a txn with one comparison and returns which branch ran.
    private static func succeeds(_ sm: KVStateMachine, _ index: inout UInt64, _ comparison: TxnCompare) async throws -> Bool {
        index += 1
        let results = try await sm.apply([entry(index, term: 1, KVCommand(.txn(TxnRequest(compare: [comparison]))))])
        guard case .applied(let result) = results.first?.outcome, case .txn(let txn) = result.detail else {
            Issue.record("no txn result: \(results)")
            return false
        }
        #expect(result.revision == index)
        #expect(txn.results.isEmpty)
        return txn.succeeded
    }

    @Test func comparisonsFollowEachTargetAndRelation() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            _ = try await sm.apply([
                entry(1, term: 1, .put("k", bytes("b"))),
                entry(2, term: 1, .put("k", bytes("m"))),
            ])
            // "k": revision 2, create revision 1, version 2, value "m".
            var index: UInt64 = 2
            let cases: [(TxnCompare, Bool)] = [
                (Self.compare("k", .revision, .equal, .number(2)), true),
                (Self.compare("k", .revision, .equal, .number(1)), false),
                (Self.compare("k", .revision, .notEqual, .number(1)), true),
                (Self.compare("k", .revision, .less, .number(3)), true),
                (Self.compare("k", .revision, .less, .number(2)), false),
                (Self.compare("k", .revision, .greater, .number(1)), true),
                (Self.compare("k", .revision, .greater, .number(2)), false),
                (Self.compare("k", .createRevision, .equal, .number(1)), true),
                (Self.compare("k", .createRevision, .greater, .number(1)), false),
                (Self.compare("k", .version, .equal, .number(2)), true),
                (Self.compare("k", .version, .less, .number(2)), false),
                (Self.compare("k", .value, .equal, .bytes(bytes("m"))), true),
                (Self.compare("k", .value, .notEqual, .bytes(bytes("m"))), false),
                (Self.compare("k", .value, .less, .bytes(bytes("n"))), true),
                (Self.compare("k", .value, .less, .bytes(bytes("m"))), false),
                (Self.compare("k", .value, .greater, .bytes(bytes("l"))), true),
                (Self.compare("k", .value, .greater, .bytes(bytes("ma"))), false),
                (Self.compare("k", .value, .less, .bytes(bytes("ma"))), true),
                (Self.compare("k", .value, .greater, .bytes([])), true),
                // A missing key has revision, create revision and version 0 ...
                (Self.compare("absent", .revision, .equal, .number(0)), true),
                (Self.compare("absent", .createRevision, .equal, .number(0)), true),
                (Self.compare("absent", .version, .less, .number(1)), true),
                (Self.compare("absent", .version, .greater, .number(0)), false),
                // ... and no value: every value comparison on it is false.
                (Self.compare("absent", .value, .equal, .bytes([])), false),
                (Self.compare("absent", .value, .notEqual, .bytes(bytes("x"))), false),
                // An operand of the wrong kind never holds.
                (Self.compare("k", .value, .equal, .number(2)), false),
                (Self.compare("k", .revision, .equal, .bytes(bytes("m"))), false),
            ]
            for (comparison, expected) in cases {
                #expect(try await Self.succeeds(sm, &index, comparison) == expected, "\(comparison)")
            }
            // Comparing changes nothing.
            #expect(try sm.get("k") == KVRecord(key: "k", value: bytes("m"), revision: 2, createRevision: 1, version: 2))
            #expect(try sm.events(after: 2, limit: .max).isEmpty)
        }
    }

    @Test func allComparisonsMustHoldAndTheBranchSeesItsOwnWrites() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            _ = try await sm.apply([entry(1, term: 1, .put("a", bytes("1"))), entry(2, term: 1, .put("p/x", []))])
            let branch: [TxnOperation] = [
                .get(key: "a"), .put(key: "a", value: bytes("2"), lease: 0), .get(key: "a"),
                .delete(key: "a"), .get(key: "a"), .deletePrefix("p/"), .delete(key: "never"),
            ]
            let request = TxnRequest(
                compare: [Self.compare("a", .version, .equal, .number(1)), Self.compare("a", .value, .equal, .bytes(bytes("1")))],
                success: branch,
                failure: [.put(key: "failed", value: [], lease: 0)])
            let results = try await sm.apply([
                entry(3, term: 1, KVCommand(.txn(request))),
                // Now "a" is gone, so the same transaction takes its failure branch.
                entry(4, term: 1, KVCommand(.txn(request))),
            ])
            let a1 = KVRecord(key: "a", value: bytes("1"), revision: 1)
            let a2 = KVRecord(key: "a", value: bytes("2"), revision: 3, createRevision: 1, version: 2)
            #expect(results.map(\.outcome) == [
                .applied(KVResult(revision: 3, detail: .txn(TxnResult(succeeded: true, results: [
                    .get(key: "a", record: a1), .put(key: "a", revision: 3), .get(key: "a", record: a2),
                    .delete(key: "a", deleted: 1), .get(key: "a", record: nil), .deletePrefix(prefix: "p/", deleted: 1),
                    .delete(key: "never", deleted: 0),
                ])))),
                .applied(KVResult(revision: 4, detail: .txn(TxnResult(succeeded: false, results: [.put(key: "failed", revision: 4)])))),
            ])
            // Every change of the branch is an event at the one revision, in order.
            let events = try sm.events(after: 2, limit: .max)
            #expect(events.map(\.revision) == [3, 3, 3, 4])
            #expect(events.map(\.kind) == [.put, .delete, .delete, .put])
            #expect(events.map(\.key) == ["a", "a", "p/x", "failed"])
            #expect(events[1].previous == a2)
            // Reads at the revision before see neither half.
            #expect(try sm.get("a", atRevision: 2) == a1)
            #expect(try sm.get("p/x", atRevision: 2) != nil)
            #expect(try sm.get("a", atRevision: 3) == nil)
        }
    }

    @Test func aTransactionNamingAMissingLeaseLeavesNoTrace() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            let id = ClientRequestID(clientID: 1, sequence: 1)
            let request = TxnRequest(success: [
                .put(key: "first", value: [], lease: 0), .deletePrefix("k"), .put(key: "leased", value: [], lease: 404),
            ])
            let results = try await sm.apply([
                entry(1, term: 1, .put("k1", [])),
                entry(2, term: 1, KVCommand(.txn(request), requestID: id)),
            ])
            #expect(results[1].outcome == .rejected(.leaseNotFound(404)))
            #expect(try sm.list().map(\.key) == ["k1"])
            #expect(try sm.events(after: 1, limit: .max).isEmpty)
            #expect(try sm.session(clientID: 1) == nil, "a refusal is not remembered as an answer")
            // A failure branch is checked the same way only when it is the one that runs.
            let failureOnly = TxnRequest(compare: [Self.compare("k1", .version, .equal, .number(1))],
                                         success: [.put(key: "ok", value: [], lease: 0)],
                                         failure: [.put(key: "leased", value: [], lease: 404)])
            let second = try await sm.apply([entry(3, term: 1, KVCommand(.txn(failureOnly)))])
            #expect(second.map(\.outcome) == [.applied(KVResult(revision: 3, detail: .txn(TxnResult(succeeded: true, results: [.put(key: "ok", revision: 3)]))))])
        }
    }

    /// The gets of the branch that runs may return `TxnRequest.maxReadBytes` together, each
    /// key counted as the branch leaves it before its get; beyond, nothing is written.
    @Test func aBranchWhoseGetsWouldReturnTooMuchLeavesNoTrace() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            let big = [UInt8](repeating: 0x61, count: 1 << 20)
            _ = try await sm.apply([entry(1, term: 1, .put("big", big)), entry(2, term: 1, .put("p/big", big))])
            let fourGets = [TxnOperation](repeating: .get(key: "big"), count: 4)
            let tooMuch = TxnRequest(success: [.put(key: "first", value: [], lease: 0)] + fourGets)
            let refused = try await sm.apply([entry(3, term: 1, KVCommand(.txn(tooMuch)))])
            guard case .rejected(.invalidCommand) = refused.first?.outcome else {
                Issue.record("expected a refusal, got \(refused)")
                return
            }
            #expect(try sm.get("first") == nil)
            #expect(try sm.events(after: 2, limit: .max).isEmpty)
            // Three fit; a key the branch deleted or put small before its gets counts as it is then.
            let allowed: [TxnRequest] = [
                TxnRequest(success: [TxnOperation](repeating: .get(key: "big"), count: 3)),
                TxnRequest(success: [.put(key: "big", value: [1], lease: 0)] + fourGets),
                TxnRequest(success: [.deletePrefix("p/")] + [TxnOperation](repeating: .get(key: "p/big"), count: 8)),
            ]
            for (offset, request) in allowed.enumerated() {
                let index = UInt64(4 + offset)
                let outcome = try await sm.apply([entry(index, term: 1, KVCommand(.txn(request)))]).first?.outcome
                guard case .applied(let result) = outcome, case .txn(let txn) = result.detail else {
                    Issue.record("transaction \(offset) was not applied: \(String(describing: outcome))")
                    continue
                }
                #expect(txn.succeeded && txn.results.count == request.success.count, "transaction \(offset)")
            }
        }
    }

    @Test func aRetriedTransactionGetsItsFirstAnswer() async throws {
        try await withStore { store, _ in
            let sm = store.stateMachine
            let id = ClientRequestID(clientID: 9, sequence: 1)
            let cas = TxnRequest(compare: [Self.compare("n", .version, .equal, .number(0))],
                                 success: [.put(key: "n", value: bytes("1"), lease: 0)],
                                 failure: [.get(key: "n")])
            let results = try await sm.apply([
                entry(1, term: 1, KVCommand(.txn(cas), requestID: id)),
                entry(2, term: 1, KVCommand(.txn(cas), requestID: id)),
            ])
            let first = KVResult(revision: 1, detail: .txn(TxnResult(succeeded: true, results: [.put(key: "n", revision: 1)])))
            #expect(results.map(\.outcome) == [.applied(first), .duplicate(first)])
            #expect(try sm.get("n")?.version == 1)
        }
    }
}
