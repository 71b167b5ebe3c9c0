import FoundationEssentials
import Hummingbird
import KVStore
import NodeRuntime

/// `POST /import`: JSON lines as `GET /export` writes them, `{"key":"k","value":"v"}`, of any
/// total size, written through Raft as transactions of up to 128 keys or 512 KiB each
/// (Docs/API.md, "Backup, restore, export and import"). Lines are applied in file order; an
/// import is not atomic: a bad line or a failed batch ends it, and the answer says how many
/// keys went in before.
struct ImportRoutes {
    let runtime: NodeRuntime

    /// A line longer than this is refused (a value is at most 1 MiB, which JSON escaping
    /// can make six times longer at worst).
    static let maxLineBytes = 8 << 20
    static let batchBytes = 512 << 10
    /// Batches proposed before the first of them must have been answered: enough to keep
    /// the leader's batches full, few enough that a failure stops the import soon.
    static let batchesInFlight = 8

    func register(on router: Router<BasicRequestContext>) {
        router.post("import") { request, _ in await importLines(request) }
    }

    private func importLines(_ request: Request) async -> Response {
        if let unknown = request.uri.queryParameters.first {
            return JSON.error(400, "unknown query parameter \"\(unknown.key)\": POST /import takes none")
        }
        var lines = JSONLineSplitter(maxLineBytes: Self.maxLineBytes)
        var importer = BatchedImport(runtime: runtime, identity: ClientContext.identity?.name)
        do {
            for try await buffer in request.body {
                lines.append(buffer)
                while let line = try lines.next() {
                    try await importer.add(try Self.pair(line.bytes, number: line.number))
                }
            }
            if let line = try lines.finish() {
                try await importer.add(try Self.pair(line.bytes, number: line.number))
            }
            try await importer.finish()
        } catch let refusal as APIFailure {
            await importer.drain()
            var body: [String: ImportAnswerValue] = ["error": .text(refusal.message), "imported": .number(UInt64(importer.imported))]
            if importer.revision > 0 { body["revision"] = .number(importer.revision) }
            return JSON.response(body, status: .init(code: refusal.status))
        } catch {
            await importer.drain()
            return JSON.response(["error": ImportAnswerValue.text("the request body could not be read: \(error)"),
                                  "imported": .number(UInt64(importer.imported))], status: .badRequest)
        }
        return JSON.response(["imported": UInt64(importer.imported), "revision": importer.revision])
    }

    /// One line as a put: an object with exactly a string `key` and a string `value`.
    static func pair(_ bytes: [UInt8], number: Int) throws(APIFailure) -> TxnOperation {
        guard let object = JSONDocument.object(bytes) else {
            throw APIFailure(400, "line \(number): not a JSON object")
        }
        guard let key = object["key"] as? String, let value = object["value"] as? String else {
            throw APIFailure(400, "line \(number): needs \"key\" and \"value\", both strings")
        }
        if let extra = object.keys.first(where: { $0 != "key" && $0 != "value" }) {
            throw APIFailure(400, "line \(number): unknown field \"\(extra)\"; a line is {\"key\":...,\"value\":...}")
        }
        do {
            try KVCommand.validate(key: key)
        } catch {
            throw APIFailure(400, "line \(number): \(error)")
        }
        return .put(key: key, value: Array(value.utf8), lease: 0)
    }
}

enum ImportAnswerValue: Encodable {
    case text(String)
    case number(UInt64)
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let text): try container.encode(text)
        case .number(let number): try container.encode(number)
        }
    }
}
