import KVStore
import NodeRuntime

/// What a `PUT` or `DELETE /kv/{key}` asks beyond the plain write: conditions on the key's
/// revision (`If-Match`, `If-None-Match`, `?if_revision=`) and, for a put, a lease
/// (Docs/API.md, "Conditional writes").
///
/// Such a write becomes a one-operation transaction: the condition is decided when the
/// entry is applied, so every replica decides alike and a retried request (same
/// Idempotency-Key) gets the first answer instead of applying twice.
struct WriteConditions: Sendable, Equatable {
    var compares: [TxnCompare] = []
    /// The lease the put attaches the key to; nil: none (a put detaches the key from any lease).
    var lease: UInt64?

    /// Nothing asked beyond the plain write.
    var isPlain: Bool { compares.isEmpty && lease == nil }

    /// Reads the conditions of a write to `key`. `query` is every query parameter; one the
    /// write does not know is refused, since a misspelt `if_revision` would otherwise turn a
    /// conditional write into an unconditional one.
    static func parse(key: String, ifMatch: String?, ifNoneMatch: String?, query: [(name: Substring, value: Substring)],
                      mayAttachLease: Bool) -> Result<WriteConditions, APIFailure> {
        var conditions = WriteConditions()
        func require(_ relation: TxnCompare.Relation, _ revision: UInt64) {
            conditions.compares.append(TxnCompare(key: key, target: .revision, relation: relation, operand: .number(revision)))
        }
        if let ifMatch {
            switch EntityTag(ifMatch) {
            // `*`: the key exists (RFC 9110, 13.1.1).
            case .any: require(.greater, 0)
            case .revision(let revision): require(.equal, revision)
            case nil: return .failure(EntityTag.badValue("If-Match"))
            }
        }
        if let ifNoneMatch {
            switch EntityTag(ifNoneMatch) {
            case .any: require(.equal, 0)
            case .revision(let revision): require(.notEqual, revision)
            case nil: return .failure(EntityTag.badValue("If-None-Match"))
            }
        }
        for (name, value) in query {
            switch name {
            case "if_revision":
                guard let revision = UInt64(value) else {
                    return .failure(APIFailure(400, "if_revision must be a revision (a whole number; 0 = the key must be absent)"))
                }
                require(.equal, revision)
            case "lease" where mayAttachLease:
                guard let id = UInt64(value) else { return .failure(APIFailure(400, "lease must be a lease id (a decimal number)")) }
                conditions.lease = id == 0 ? nil : id
            default:
                let known = mayAttachLease ? "if_revision and lease" : "if_revision"
                return .failure(APIFailure(400, "unknown query parameter \"\(name)\": this write takes \(known)"))
            }
        }
        return .success(conditions)
    }
}

/// An entity tag of `If-Match` / `If-None-Match`: the key's revision, quoted as `ETag` sends
/// it (a bare number is accepted too), or `*`.
enum EntityTag: Equatable {
    case any
    case revision(UInt64)

    init?(_ header: String) {
        let text = header.trimmingWhitespace
        if text == "*" {
            self = .any
            return
        }
        var digits = text[...]
        if digits.count >= 2, digits.hasPrefix("\""), digits.hasSuffix("\"") { digits = digits.dropFirst().dropLast() }
        guard let revision = UInt64(digits) else { return nil }
        self = .revision(revision)
    }

    static func badValue(_ header: String) -> APIFailure {
        APIFailure(400, "\(header) must be one revision as the ETag gives it (\"42\", quotes optional) or *")
    }
}

extension String {
    fileprivate var trimmingWhitespace: Substring {
        var text = self[...]
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}

extension KVOperations {
    /// A put with conditions or a lease; a plain put goes the cheaper way.
    func put(_ key: String, value: String, conditions: WriteConditions, requestID: ClientRequestID?,
             identity: String?) async -> KVReply {
        if conditions.isPlain { return await put(key, value: value, requestID: requestID, identity: identity) }
        let txn = TxnRequest(compare: conditions.compares,
                             success: [.put(key: key, value: Array(value.utf8), lease: conditions.lease ?? 0)],
                             failure: conditions.compares.isEmpty ? [] : [.get(key: key)])
        return await conditional(txn, key: key, requestID: requestID, identity: identity) { revision, _ in
            var json = JSONObjectWriter(capacity: 48 + key.utf8.count)
            json.field("key", key)
            json.field("revision", revision)
            json.field("status", "success")
            return json
        }
    }

    /// A delete with conditions; a plain delete goes the cheaper way.
    func delete(_ key: String, conditions: WriteConditions, requestID: ClientRequestID?, identity: String?) async -> KVReply {
        if conditions.isPlain { return await delete(key, requestID: requestID, identity: identity) }
        let txn = TxnRequest(compare: conditions.compares, success: [.delete(key: key)], failure: [.get(key: key)])
        return await conditional(txn, key: key, requestID: requestID, identity: identity) { revision, results in
            var deleted = false
            if case .delete(_, let count) = results.first { deleted = count > 0 }
            var json = JSONObjectWriter()
            json.field("deleted", deleted)
            json.field("revision", revision)
            json.field("status", "success")
            return json
        }
    }

    /// `DELETE /kv?prefix=P`: every key under `prefix`, at one revision.
    func deletePrefix(_ prefix: String, requestID: ClientRequestID?, identity: String?) async -> KVReply {
        let txn = TxnRequest(success: [.deletePrefix(prefix)])
        return await conditional(txn, key: prefix, requestID: requestID, identity: identity) { revision, results in
            var deleted = 0
            if case .deletePrefix(_, let count) = results.first { deleted = count }
            var json = JSONObjectWriter()
            json.field("deleted", UInt64(deleted))
            json.field("revision", revision)
            json.field("status", "success")
            return json
        }
    }

    /// Submits `txn` (whose failure branch reads `key`) and answers with `success` when its
    /// comparisons held, otherwise 412 with the key's current revision.
    private func conditional(_ txn: TxnRequest, key: String, requestID: ClientRequestID?, identity: String?,
                             success: @escaping @Sendable (UInt64, [TxnOperationResult]) -> JSONObjectWriter) async -> KVReply {
        switch await submit(txn, requestID: requestID, identity: identity) {
        case .failure(let error): return .error(error)
        case .success(let (revision, result)):
            guard result.succeeded else {
                var current: UInt64 = 0
                if case .get(_, let record) = result.results.first { current = record?.revision ?? 0 }
                return .revisionMismatch(key: key, current: current)
            }
            return KVReply(success(revision, result.results))
        }
    }

    /// Proposes a transaction and waits for what it did at apply.
    func submit(_ txn: TxnRequest, requestID: ClientRequestID?,
                identity: String?) async -> Result<(UInt64, TxnResult), RuntimeError> {
        let outcome = await withCheckedContinuation { done in
            runtime.submit(KVCommand(.txn(txn), requestID: requestID), identity: identity) { done.resume(returning: $0) }
        }
        switch outcome {
        case .failure(let error): return .failure(error)
        case .success(let result):
            guard case .txn(let txnResult) = result.detail else {
                return .failure(.internalError("a transaction was applied without a transaction result"))
            }
            return .success((result.revision, txnResult))
        }
    }
}

extension KVReply {
    /// `412 {"error":"revision mismatch","key":k,"revision":<current, or 0 when absent>}`.
    static func revisionMismatch(key: String, current: UInt64) -> KVReply {
        var json = JSONObjectWriter(capacity: 64 + key.utf8.count)
        json.field("error", "revision mismatch")
        json.field("key", key)
        json.field("revision", current)
        return KVReply(status: 412, json)
    }
}
