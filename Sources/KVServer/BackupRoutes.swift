import FoundationEssentials
import HTTPTypes
import Hummingbird
import KVStore
import NodeRuntime

/// `GET /snapshot` and `GET /export`: consistent copies of the store for backups and moves
/// (Docs/API.md, "Backup, restore, export and import"). Both write a backup file first (one
/// LMDB read transaction on the snapshot thread) and stream from it, so a slow client holds
/// neither a read transaction nor the state in memory, and what it gets is one revision.
struct BackupRoutes {
    let runtime: NodeRuntime
    let store: DurableStore

    /// Bytes read from the backup file per chunk written to the client.
    static let chunkBytes = 256 << 10

    func register(on router: Router<BasicRequestContext>) {
        router.get("snapshot") { request, _ in await snapshot(request) }
        router.get("export") { request, _ in await export(request) }
    }

    /// The whole state in the snapshot format (checksummed), with its revision in
    /// `X-KV-Revision`: what `kv-node restore` seeds a new cluster from.
    private func snapshot(_ request: Request) async -> Response {
        let backup: Backup
        switch await takeBackup(request, allowed: ["consistency"]) {
        case .ready(let b): backup = b
        case .refused(let response): return response
        }
        let file: BackupFileReader
        do {
            file = try BackupFileReader(path: backup.path)
        } catch {
            Self.remove(backup.path)
            return JSON.error(500, "the backup file could not be opened: \(error)")
        }
        var headers = backup.headers
        headers[.contentType] = "application/octet-stream"
        headers[.contentLength] = String(file.size)
        headers[.contentDisposition] = "attachment; filename=\"kv-snapshot-\(backup.revision).snap\""
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { Self.remove(backup.path) }
            while case let chunk = try file.next(maxBytes: Self.chunkBytes), !chunk.isEmpty {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        })
    }

    /// Every key under `prefix` as JSON lines, `{"key":"k","value":"v"}`, in byte order:
    /// what `POST /import` reads.
    private func export(_ request: Request) async -> Response {
        let prefix = request.uri.queryParameters["prefix"].map(String.init) ?? ""
        guard prefix.utf8.count <= KVCommand.maxKeySize else {
            return JSON.error(400, "the prefix is longer than \(KVCommand.maxKeySize) bytes")
        }
        let backup: Backup
        switch await takeBackup(request, allowed: ["consistency", "prefix"]) {
        case .ready(let b): backup = b
        case .refused(let response): return response
        }
        var headers = backup.headers
        headers[.contentType] = "application/x-ndjson"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { Self.remove(backup.path) }
            var reader = try BackupKeyReader(path: backup.path, prefix: prefix)
            while true {
                let page = try reader.nextPage(maxBytes: Self.chunkBytes)
                if page.isEmpty { break }
                var lines = ByteBuffer()
                for record in page {
                    var line = JSONObjectWriter(capacity: 32 + record.key.utf8.count + record.value.count)
                    line.field("key", record.key)
                    line.field("value", String(decoding: record.value, as: UTF8.self))
                    lines.writeBytes(line.encoded)
                    lines.writeInteger(UInt8(ascii: "\n"))
                }
                try await writer.write(lines)
            }
            try await writer.finish(nil)
        })
    }

    private struct Backup {
        var path: String
        var revision: UInt64
        var headers: HTTPFields
    }

    private enum BackupOutcome {
        case ready(Backup)
        case refused(Response)
    }

    /// Checks the query, passes the read barrier, and writes a backup file to stream; the
    /// caller removes the file once it is sent.
    private func takeBackup(_ request: Request, allowed: Set<String>) async -> BackupOutcome {
        let query = request.uri.queryParameters
        if let unknown = query.first(where: { !allowed.contains(String($0.key)) }) {
            return .refused(JSON.error(400, "unknown query parameter \"\(unknown.key)\"; allowed: \(allowed.sorted().joined(separator: ", "))"))
        }
        guard let consistency = ReadConsistency(query: query["consistency"]) else {
            return .refused(ReadConsistency.badValue.response)
        }
        if consistency == .linearizable {
            do {
                try await runtime.linearizableBarrier()
            } catch {
                return .refused(JSON.error(error))
            }
        } else {
            await runtime.staleReadBarrier()
        }
        let path = store.backupPath(UUID().uuidString)
        do {
            let position = try await store.writeBackup(to: path)
            var headers: HTTPFields = [:]
            if let name = RevisionHeaderMiddleware.name { headers[name] = String(position.index) }
            return .ready(Backup(path: path, revision: position.index, headers: headers))
        } catch {
            Self.remove(path)
            return .refused(JSON.error(RuntimeError(error)))
        }
    }

    private static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
