import KVStore
import RaftCore

/// SplitMix64: a small generator whose sequence depends on the seed alone, on every
/// platform and run, so a failing seed replays exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random logs of coordination commands for the determinism model: puts, deletes, prefix
/// deletes, transactions with random comparisons, lease grants, keepalives, revocations
/// (some marked expired) and compactions, some of them under a client request id and some
/// of those retried, reused for another request or sent late. It reads the reference
/// model as it goes so that comparisons and lease ids are often (not always) the ones that
/// matter.
struct CommandGenerator {
    /// Two spellings of "é" are two keys (their bytes differ), and "p/" and "q/" are prefixes.
    static let keyspace = ["a", "b", "c", "p/1", "p/2", "p/3", "q/1", "q/x", "\u{E9}", "e\u{301}"]
    static let prefixes = ["p/", "q/", "a", "e", "\u{E9}"]
    static let values: [[UInt8]] = [[], Array("x".utf8), Array("y".utf8), Array("yy".utf8), [0, 255]]

    private var random: SeededGenerator
    private var grants: [UInt64] = []
    /// Per client: the next sequence and the requests it sent.
    private var clients: [UInt64: (next: UInt64, sent: [KVCommand])] = [:]

    init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    /// The entry at `model.applied + 1`, chosen from what the model holds now.
    mutating func next(_ model: ReferenceModel) -> Entry {
        let index = model.applied + 1
        let roll = Int.random(in: 0..<100, using: &random)
        if roll < 3 { return Entry(term: 1, index: index) }
        if roll < 13, let retry = retry() { return Entry(term: 1, index: index, data: retry.encoded()) }
        let operation = self.operation(model, index: index)
        var command = KVCommand(operation)
        if Int.random(in: 0..<100, using: &random) < 30 {
            let client = UInt64.random(in: 1...3, using: &random)
            var state = clients[client] ?? (next: 1, sent: [])
            command.requestID = ClientRequestID(clientID: client, sequence: state.next)
            state.next += 1
            state.sent.append(command)
            clients[client] = state
        }
        if case .leaseGrant = operation { grants.append(index) }
        return Entry(term: 1, index: index, data: command.encoded())
    }

    /// A request sent again: the latest of its client (a retry), an older one (late), or
    /// the latest id with another operation (an id reused).
    private mutating func retry() -> KVCommand? {
        guard let client = clients.keys.sorted().randomElement(using: &random), let sent = clients[client]?.sent,
              let latest = sent.last else { return nil }
        switch Int.random(in: 0..<3, using: &random) {
        case 0: return latest
        case 1: return sent.randomElement(using: &random)
        default:
            var reused = latest
            reused.operation = .put(key: key(), value: value())
            return reused
        }
    }

    private mutating func operation(_ model: ReferenceModel, index: UInt64) -> KVCommand.Operation {
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<25: return .put(key: key(), value: value())
        case 25..<35: return .delete(key: key())
        case 35..<65: return .txn(txn(model))
        case 65..<73: return .leaseGrant(ttlSeconds: Int.random(in: 0..<20, using: &random) == 0 ? 0 : Int64.random(in: 1...60, using: &random))
        case 73..<80: return .leaseKeepAlive(id: leaseID())
        case 80..<90: return .leaseRevoke(id: leaseID(), expired: Bool.random(using: &random))
        default:
            // Mostly a revision that can be compacted, sometimes one already compacted or not reached.
            let low = model.compactRevision
            let revision = Int.random(in: 0..<4, using: &random) == 0
                ? UInt64.random(in: 0...index + 2, using: &random)
                : UInt64.random(in: low...max(low, index - 1), using: &random)
            return .compact(revision: revision)
        }
    }

    private mutating func txn(_ model: ReferenceModel) -> TxnRequest {
        var request = TxnRequest()
        for _ in 0..<Int.random(in: 0...2, using: &random) { request.compare.append(comparison(model)) }
        request.success = branch()
        request.failure = branch()
        return request
    }

    private mutating func comparison(_ model: ReferenceModel) -> TxnCompare {
        let key = key()
        let record = model.records.first { $0.key.utf8.elementsEqual(key.utf8) }
        let target = [TxnCompare.Target.revision, .createRevision, .version, .value].randomElement(using: &random) ?? .version
        let relation = [TxnCompare.Relation.equal, .notEqual, .less, .greater].randomElement(using: &random) ?? .equal
        let operand: TxnCompare.Operand
        if target == .value {
            operand = .bytes(Bool.random(using: &random) ? record?.value ?? value() : value())
        } else {
            let actual: UInt64 = switch target {
            case .revision: record?.revision ?? 0
            case .createRevision: record?.createRevision ?? 0
            default: record?.version ?? 0
            }
            let nudged = [actual, actual + 1, actual > 0 ? actual - 1 : 0, 0].randomElement(using: &random) ?? actual
            operand = .number(nudged)
        }
        // Now and then an operand of the wrong kind, which never holds.
        if Int.random(in: 0..<30, using: &random) == 0 {
            return TxnCompare(key: key, target: target, relation: relation,
                              operand: target == .value ? .number(1) : .bytes(value()))
        }
        return TxnCompare(key: key, target: target, relation: relation, operand: operand)
    }

    private mutating func branch() -> [TxnOperation] {
        (0..<Int.random(in: 0...3, using: &random)).map { _ in
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<4:
                let lease = Int.random(in: 0..<2, using: &random) == 0 ? 0 : leaseID()
                return .put(key: key(), value: value(), lease: lease)
            case 4..<6: return .delete(key: key())
            case 6: return .deletePrefix(Self.prefixes.randomElement(using: &random) ?? "p/")
            default: return .get(key: key())
            }
        }
    }

    /// A lease granted earlier (perhaps revoked since), or now and then one never granted.
    private mutating func leaseID() -> UInt64 {
        if grants.isEmpty || Int.random(in: 0..<8, using: &random) == 0 { return UInt64.random(in: 1...10_000, using: &random) }
        return grants.suffix(4).randomElement(using: &random) ?? 1
    }

    private mutating func key() -> String { Self.keyspace.randomElement(using: &random) ?? "a" }
    private mutating func value() -> [UInt8] { Self.values.randomElement(using: &random) ?? [] }
}
