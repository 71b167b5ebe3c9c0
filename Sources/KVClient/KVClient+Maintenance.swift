import Foundation
import NIOCore

/// Compaction, snapshots, export and import: the calls that move the whole store.
extension KVClient {
    /// Forgets history at and below `revision`.
    ///
    /// - Throws: ``KVClientError/compacted(compactRevision:)`` when it is already gone.
    @discardableResult
    public func compact(revision: UInt64) async throws -> Compaction {
        try await call(APIRequest(.POST, "/compact", body: try APIRequest.json(["revision": revision])), as: Compaction.self)
    }

    /// Streams a consistent snapshot of the answering node into `path`.
    ///
    /// The bytes go to `path.part` as they arrive (a snapshot can be larger than memory) and
    /// the file is renamed to `path` only once the whole body arrived, so `path` never holds
    /// a partial snapshot; the `.part` file is removed when the transfer fails.
    public func saveSnapshot(to path: String) async throws -> SavedSnapshot {
        let answer = try await send(APIRequest(.GET, "/snapshot"))
        guard answer.status == 200 else { throw await refusal(answer) }
        let bytes = try await stream(answer, toFile: path)
        return SavedSnapshot(path: path, revision: answer.header("X-KV-Revision").flatMap { UInt64($0) }, bytes: bytes)
    }

    /// Streams every pair under `prefix` (all keys when empty) as NDJSON lines,
    /// `{"key":"k","value":"v"}` in key byte order (`GET /export`), handing each chunk to `sink` as it arrives.
    public func export(prefix: String = "", into sink: (ByteBuffer) throws -> Void) async throws -> ExportSummary {
        let query = PercentEncoding.query([("prefix", prefix.isEmpty ? nil : prefix)])
        let answer = try await send(APIRequest(.GET, "/export\(query)"))
        guard answer.status == 200 else { throw await refusal(answer) }
        var bytes: UInt64 = 0
        do {
            for try await chunk in answer.response.body {
                try sink(chunk)
                bytes += UInt64(chunk.readableBytes)
            }
        } catch let error as KVClientError {
            throw error
        } catch {
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            throw KVClientError.unreachable(endpoints: [answer.endpoint.description], underlying: error)
        }
        return ExportSummary(revision: answer.header("X-KV-Revision").flatMap { UInt64($0) }, bytes: bytes)
    }

    /// Streams an export into `path` (through `path.part`, as ``saveSnapshot(to:)``).
    public func export(prefix: String = "", toFile path: String) async throws -> ExportSummary {
        let part = path + ".part"
        let handle = try Self.create(part)
        do {
            let summary = try await export(prefix: prefix) { chunk in try handle.write(contentsOf: Data(chunk.readableBytesView)) }
            try handle.close()
            try Self.publish(part, as: path)
            return summary
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: part)
            throw error
        }
    }

    /// Writes every pair of an NDJSON file (as ``export(prefix:into:)`` makes) through the
    /// cluster. The file is streamed; the node applies it in batches.
    ///
    /// - Throws: ``KVClientError/badRequest(_:)`` naming the first bad line.
    public func importPairs(fromFile path: String) async throws -> ImportResult {
        try await call(APIRequest(.POST, "/import", body: .ndjsonFile(path: path)), as: ImportResult.self)
    }

    /// Writes the body of `answer` to `path.part`, then renames it to `path`; returns the bytes.
    private func stream(_ answer: APIResponse, toFile path: String) async throws -> UInt64 {
        let part = path + ".part"
        let handle = try Self.create(part)
        var bytes: UInt64 = 0
        do {
            for try await chunk in answer.response.body {
                try handle.write(contentsOf: Data(chunk.readableBytesView))
                bytes += UInt64(chunk.readableBytes)
            }
            try handle.synchronize()
            try handle.close()
            try Self.publish(part, as: path)
            return bytes
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: part)
            if let error = error as? KVClientError { throw error }
            if Task.isCancelled || error is CancellationError { throw CancellationError() }
            throw KVClientError.unreachable(endpoints: [answer.endpoint.description], underlying: error)
        }
    }

    private static func create(_ path: String) throws(KVClientError) -> FileHandle {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw .file(path: path, reason: "cannot be created")
        }
        return handle
    }

    private static func publish(_ part: String, as path: String) throws(KVClientError) {
        guard rename(part, path) == 0 else {
            throw .file(path: path, reason: "cannot be renamed from \(part): errno \(errno)")
        }
    }
}
