import KVClient

/// How keys print: etcdctl's `get` prints each key, then its value, on lines of their own.
enum KeyValueOutput {
    static func json(_ kv: KeyValue) -> JSONValue {
        var fields: [String: JSONValue] = [
            "key": .string(kv.key), "value": .string(kv.value), "revision": .number(kv.revision),
            "create_revision": .number(kv.createRevision), "version": .number(kv.version),
        ]
        if let lease = kv.lease { fields["lease"] = .string(String(lease)) }
        return .object(fields)
    }

    static func single(_ kv: KeyValue?, keysOnly: Bool) -> Output {
        let kvs = kv.map { [$0] } ?? []
        return Output(
            json: .object(["count": .number(UInt64(kvs.count)),
                           "kvs": .array(kvs.map { keysOnly ? .object(["key": .string($0.key)]) : json($0) })]),
            simple: kvs.flatMap { keysOnly ? [$0.key] : [$0.key, $0.value] },
            table: Table(header: ["key", "value", "revision", "create revision", "version", "lease"],
                         rows: kvs.map { [$0.key, keysOnly ? "" : $0.value, String($0.revision), String($0.createRevision),
                                          String($0.version), $0.lease.map(String.init) ?? ""] })
        )
    }

    static func listing(_ pairs: [KeyValuePair], keysOnly: Bool) -> Output {
        Output(
            json: .object(["count": .number(UInt64(pairs.count)),
                           "kvs": .array(pairs.map {
                               keysOnly ? .object(["key": .string($0.key)]) : .object(["key": .string($0.key), "value": .string($0.value)])
                           })]),
            simple: pairs.flatMap { keysOnly ? [$0.key] : [$0.key, $0.value] },
            table: Table(header: ["key", "value"], rows: pairs.map { [$0.key, keysOnly ? "" : $0.value] })
        )
    }

    static func put(_ result: PutResult) -> Output {
        Output(json: .object(["key": .string(result.key), "revision": .number(result.revision)]), simple: ["OK"],
               table: Table(header: ["key", "revision"], rows: [[result.key, String(result.revision)]]))
    }

    static func deleted(_ count: UInt64, revision: UInt64) -> Output {
        Output(json: .object(["deleted": .number(count), "revision": .number(revision)]), simple: [String(count)],
               table: Table(header: ["deleted", "revision"], rows: [[String(count), String(revision)]]))
    }
}
