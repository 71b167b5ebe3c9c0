/// A snapshot written to a file by ``KVClient/saveSnapshot(to:)``.
public struct SavedSnapshot: Sendable, Equatable {
    public var path: String
    /// The revision the snapshot holds (`X-KV-Revision`), nil when the node did not say.
    public var revision: UInt64?
    public var bytes: UInt64
}

/// What ``KVClient/export(prefix:into:)`` streamed.
public struct ExportSummary: Sendable, Equatable {
    /// The revision the export is consistent at (`X-KV-Revision`), nil when the node did not say.
    public var revision: UInt64?
    public var bytes: UInt64
}

/// The answer to an import.
public struct ImportResult: Sendable, Equatable, Decodable {
    /// How many pairs were written.
    public var imported: UInt64
    /// The revision after the last of them.
    public var revision: UInt64
}
