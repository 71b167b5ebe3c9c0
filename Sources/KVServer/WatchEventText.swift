import KVStore
import NIOCore

/// The `text/event-stream` form of a watch (Docs/API.md, "Watch").
enum WatchEventText {
    /// `event: progress` with the revision the watch has seen everything up to.
    static func progress(_ revision: UInt64) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("event: progress\ndata: {\"revision\":\(revision)}\n\n")
        return buffer
    }

    /// One block per event, in order. `id:` goes on the last event of each revision only,
    /// so a client that resumes with `Last-Event-ID` never gets part of a revision twice or
    /// misses the rest of one. The hub hands over whole revisions, so the last event of the
    /// batch ends its revision.
    static func events(_ events: [KVEvent], previousValues: Bool) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(events.reduce(0) { $0 + 160 + $1.key.utf8.count + $1.record.value.count })
        for (position, event) in events.enumerated() {
            let lastOfRevision = position == events.count - 1 || events[position + 1].revision != event.revision
            buffer.writeString(event.kind == .put ? "event: put\n" : "event: delete\n")
            buffer.writeString("data: ")
            buffer.writeBytes(data(event, previousValue: previousValues).encoded)
            buffer.writeString("\n")
            if lastOfRevision { buffer.writeString("id: \(event.revision)\n") }
            buffer.writeString("\n")
        }
        return buffer
    }

    /// The event's JSON: the key as the change left it (a delete: empty value, create
    /// revision and version 0), its lease as a decimal string, the value before the change
    /// when asked for and the key existed, and `expired` on deletes of an expired lease.
    /// The writer escapes line breaks, so the object is always one `data:` line.
    static func data(_ event: KVEvent, previousValue: Bool) -> JSONObjectWriter {
        let record = event.record
        var json = JSONObjectWriter(capacity: 128 + record.key.utf8.count + record.value.count)
        json.field("create_revision", record.createRevision)
        if event.expired { json.field("expired", true) }
        json.field("key", record.key)
        if record.lease != 0 { json.field("lease", String(record.lease)) }
        if previousValue, let previous = event.previous {
            json.field("prev_value", String(decoding: previous.value, as: UTF8.self))
        }
        json.field("revision", record.revision)
        json.field("value", String(decoding: record.value, as: UTF8.self))
        json.field("version", record.version)
        return json
    }
}
