import KVClient

/// A transaction's result: etcdctl prints SUCCESS or FAILURE, a blank line, then each
/// operation's result (`OK` for a put, the count for a delete, key and value for a get).
enum TxnOutput {
    static func output(_ result: TxnResult) -> Output {
        var lines = [result.succeeded ? "SUCCESS" : "FAILURE"]
        var json: [JSONValue] = []
        for operation in result.results {
            lines.append("")
            switch operation {
            case .put(let key, let revision):
                lines.append("OK")
                json.append(.object(["op": .string("put"), "key": .string(key), "revision": .number(revision)]))
            case .delete(let key, let deleted):
                lines.append(String(deleted))
                json.append(.object(["op": .string("delete"), "key": .string(key), "deleted": .number(deleted)]))
            case .deletePrefix(let prefix, let deleted):
                lines.append(String(deleted))
                json.append(.object(["op": .string("delete_prefix"), "prefix": .string(prefix), "deleted": .number(deleted)]))
            case .get(let key, let found):
                if let found { lines += [found.key, found.value] }
                var fields: [String: JSONValue] = ["op": .string("get"), "key": .string(key), "found": .bool(found != nil)]
                if let found, case .object(let kv) = KeyValueOutput.json(found) { fields.merge(kv) { current, _ in current } }
                json.append(.object(fields))
            }
        }
        return Output(
            json: .object(["succeeded": .bool(result.succeeded), "revision": .number(result.revision), "results": .array(json)]),
            simple: lines, table: nil)
    }
}
