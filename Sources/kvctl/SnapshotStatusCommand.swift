import ArgumentParser
import KVStore

/// `snapshot status FILE`: what a snapshot file holds, read locally; the whole file's checksum
/// is verified first, so a damaged or truncated file is reported, never described.
struct SnapshotStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Verify a snapshot file and describe it.")
    @OptionGroup var global: GlobalOptions
    @Argument var file: String

    func run() throws {
        let summary: SnapshotSummary
        do {
            summary = try SnapshotSummary.read(path: file)
        } catch {
            throw CommandFailure(.refused, "\(file): \(error)")
        }
        let checksum = String(summary.checksum, radix: 16)
        let cells = [checksum, String(summary.revision), String(summary.term), String(summary.keys), String(summary.historyEvents),
                     String(summary.leases), summary.members.joined(separator: ","), String(summary.compactRevision), String(summary.bytes)]
        Output(
            json: .object([
                "checksum": .string(checksum), "revision": .number(summary.revision), "term": .number(summary.term),
                "keys": .number(UInt64(summary.keys)), "history_events": .number(UInt64(summary.historyEvents)),
                "leases": .number(UInt64(summary.leases)), "members": .array(summary.members.map(JSONValue.string)),
                "compact_revision": .number(summary.compactRevision), "bytes": .number(summary.bytes),
            ]),
            simple: [cells.joined(separator: ", ")],
            table: Table(header: ["checksum", "revision", "term", "keys", "history events", "leases", "members", "compact revision", "bytes"],
                         rows: [cells])
        ).print(global.writeOut)
    }
}
