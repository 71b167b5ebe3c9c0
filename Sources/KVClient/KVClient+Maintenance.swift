import ClusterAPI
import Foundation
import NIOCore

/// Compaction, snapshots, export and import: the calls that move the whole store.
extension KVClient {
    /// Forgets history at and below `revision`. Not retried once sent.
    ///
    /// - Throws: ``KVClientError/compacted(compactRevision:)`` when it is already gone.
    @discardableResult
    public func compact(revision: UInt64) async throws -> Compaction {
        try await call(.unrepeatable(.POST, "/compact", body: try APIRequest.json(["revision": revision])), as: Compaction.self)
    }

    /// Streams a consistent snapshot of the answering node into `path`.
    ///
    /// The bytes go to `path.part` as they arrive (a snapshot can be larger than memory) and
    /// the file is renamed to `path` only once the whole body arrived, so `path` never holds
    /// a partial snapshot; the `.part` file is removed when the transfer fails. The node writes
    /// its backup before it answers, so the head is awaited without a deadline; after that, a
    /// stream silent for ``KVClientConfiguration/streamIdleTimeout`` is taken as lost.
    ///
    /// - Throws: ``KVClientError/file(path:reason:)`` when the file cannot be written.
    public func saveSnapshot(to path: String) async throws -> SavedSnapshot {
        let answer = try await send(.read("/snapshot", headTimeout: .unlimited))
        guard answer.status == 200 else { throw await refusal(answer) }
        let bytes = try await PartialFile.download(to: path) { file in
            try await streamBody(answer) { try file.write($0) }
        }
        return SavedSnapshot(path: path, revision: answer.header("X-KV-Revision").flatMap { UInt64($0) }, bytes: bytes)
    }

    /// Streams every pair under `prefix` (all keys when empty) as NDJSON lines,
    /// `{"key":"k","value":"v"}` in key byte order (`GET /export`), handing each chunk to `sink`
    /// as it arrives. An error `sink` throws ends the export and is rethrown unchanged.
    public func export(prefix: String = "", into sink: (ByteBuffer) throws -> Void) async throws -> ExportSummary {
        let query = PercentEncoding.query([("prefix", prefix.isEmpty ? nil : prefix)])
        let answer = try await send(.read("/export\(query)", headTimeout: .unlimited))
        guard answer.status == 200 else { throw await refusal(answer) }
        let bytes = try await streamBody(answer, into: sink)
        return ExportSummary(revision: answer.header("X-KV-Revision").flatMap { UInt64($0) }, bytes: bytes)
    }

    /// Streams an export into `path` (through `path.part`, as ``saveSnapshot(to:)``).
    public func export(prefix: String = "", toFile path: String) async throws -> ExportSummary {
        try await PartialFile.download(to: path) { file in
            try await export(prefix: prefix) { try file.write($0) }
        }
    }

    /// Writes every pair of an NDJSON file (as ``export(prefix:into:)`` makes) through the
    /// cluster. The file is streamed; the node applies it in batches and answers only once
    /// all of it is applied, so the answer is awaited without a deadline. Not retried once
    /// sent: an import has no `Idempotency-Key`.
    ///
    /// - Throws: ``KVClientError/badRequest(_:)`` naming the first bad line.
    public func importPairs(fromFile path: String) async throws -> ImportResult {
        try await call(.unrepeatable(.POST, "/import", body: .ndjsonFile(path: path), headTimeout: .unlimited), as: ImportResult.self)
    }

    /// Hands each chunk of the answer's body to `sink`; returns the bytes streamed. A stream
    /// that breaks, or stays silent for ``KVClientConfiguration/streamIdleTimeout``, is
    /// ``KVClientError/unreachable(endpoints:underlying:)``; errors of `sink` pass unchanged.
    private func streamBody(_ answer: APIResponse, into sink: (ByteBuffer) throws -> Void) async throws -> UInt64 {
        let body = BodyReader(answer.response.body)
        var bytes: UInt64 = 0
        while true {
            let chunk: ByteBuffer?
            do {
                chunk = try await body.next(within: configuration.streamIdleTimeout)
            } catch {
                throw TransportFailure.reported(error, endpoint: answer.endpoint)
            }
            guard let chunk else { return bytes }
            try sink(chunk)
            // A UInt64 of bytes received cannot overflow in practice; saturate rather than trap.
            let (sum, overflow) = bytes.addingReportingOverflow(UInt64(chunk.readableBytes))
            bytes = overflow ? .max : sum
        }
    }
}
