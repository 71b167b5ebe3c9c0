import KVClient

/// Leases as etcdctl words them (`lease 42 granted with TTL(10s)`), or their JSON.
enum LeaseOutput {
    static func granted(_ grant: LeaseGrant) -> Output {
        Output(json: .object(["id": .string(String(grant.id)), "ttl_seconds": .number(grant.ttlSeconds), "revision": .number(grant.revision)]),
               simple: ["lease \(grant.id) granted with TTL(\(grant.ttlSeconds)s)"],
               table: Table(header: ["id", "ttl", "revision"], rows: [[String(grant.id), String(grant.ttlSeconds), String(grant.revision)]]))
    }

    static func keptAlive(_ info: LeaseInfo) -> Output {
        Output(json: info.json, simple: ["lease \(info.id) keepalived with TTL(\(info.ttlSeconds))"], table: nil)
    }

    static func revoked(_ revocation: LeaseRevocation) -> Output {
        Output(json: .object(["id": .string(String(revocation.id)), "deleted": .number(revocation.deleted),
                              "revision": .number(revocation.revision)]),
               simple: ["lease \(revocation.id) revoked"], table: nil)
    }

    static func timeToLive(_ info: LeaseInfo, keys: Bool) -> Output {
        var line = "lease \(info.id) granted with TTL(\(info.ttlSeconds)s), remaining(\(info.remainingSeconds)s)"
        if keys { line += ", attached keys([\((info.keys ?? []).joined(separator: " "))])" }
        var json = info.json
        if !keys, case .object(var fields) = json {
            fields["keys"] = nil
            json = .object(fields)
        }
        return Output(json: json, simple: [line],
                      table: Table(header: ["id", "ttl", "remaining", "keys"],
                                   rows: [[String(info.id), String(info.ttlSeconds), String(info.remainingSeconds),
                                           keys ? (info.keys ?? []).joined(separator: " ") : ""]]))
    }

    static func list(_ leases: [LeaseInfo]) -> Output {
        Output(json: .object(["leases": .array(leases.map(\.json))]),
               simple: ["found \(leases.count) leases"] + leases.map { String($0.id) },
               table: Table(header: ["id", "ttl", "remaining"],
                            rows: leases.map { [String($0.id), String($0.ttlSeconds), String($0.remainingSeconds)] }))
    }
}

extension LeaseInfo {
    var json: JSONValue {
        var fields: [String: JSONValue] = ["id": .string(String(id)), "ttl_seconds": .number(ttlSeconds),
                                           "remaining_seconds": .number(remainingSeconds)]
        if let keys { fields["keys"] = .array(keys.map(JSONValue.string)) }
        return .object(fields)
    }
}
