import KVClient

/// One watch event: etcdctl's `PUT`/`DELETE`, the key and the value (and with --prev-value the
/// value before), or one JSON line per event.
enum WatchOutput {
    static func output(_ event: WatchEvent, previousValue: Bool) -> Output {
        var fields: [String: JSONValue] = [
            "type": .string(event.kind == .put ? "PUT" : "DELETE"), "key": .string(event.key), "value": .string(event.keyValue.value),
            "revision": .number(event.revision), "create_revision": .number(event.keyValue.createRevision),
            "version": .number(event.keyValue.version),
        ]
        if let lease = event.keyValue.lease { fields["lease"] = .string(String(lease)) }
        if event.expired { fields["expired"] = .bool(true) }
        var lines = [event.kind == .put ? "PUT" : "DELETE", event.key]
        if previousValue {
            fields["prev_value"] = JSONValue.optional(event.previousValue)
            lines.append(event.previousValue ?? "")
        }
        lines.append(event.keyValue.value)
        return Output(json: .object(fields), simple: lines, table: nil)
    }
}
