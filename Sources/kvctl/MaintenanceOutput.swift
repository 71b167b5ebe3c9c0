import KVClient

/// Compaction, snapshots and imports.
enum MaintenanceOutput {
    static func compacted(_ compaction: Compaction) -> Output {
        Output(json: .object(["compact_revision": .number(compaction.compactRevision), "revision": .number(compaction.revision)]),
               simple: ["compacted revision \(compaction.compactRevision)"], table: nil)
    }

    static func snapshotSaved(_ saved: SavedSnapshot) -> Output {
        Output(json: .object(["path": .string(saved.path), "revision": .optional(saved.revision), "bytes": .number(saved.bytes)]),
               simple: ["Snapshot saved at \(saved.path) (revision \(saved.revision.map(String.init) ?? "?"), \(saved.bytes) bytes)"],
               table: nil)
    }

    static func imported(_ result: ImportResult) -> Output {
        Output(json: .object(["imported": .number(result.imported), "revision": .number(result.revision)]),
               simple: ["Imported \(result.imported) keys at revision \(result.revision)"], table: nil)
    }
}
