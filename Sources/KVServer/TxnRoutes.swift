import FoundationEssentials
import HTTPTypes
import Hummingbird
import KVStore
import NodeRuntime

/// `POST /txn`: compare, then apply one branch, at one revision (Docs/API.md, "Transactions").
/// The whole transaction is one log entry, so it is forwarded, deduplicated by
/// Idempotency-Key and applied exactly like a single write.
struct TxnRoutes {
    let runtime: NodeRuntime
    let store: DurableStore
    /// Largest body accepted (413 beyond).
    static let maxBodyBytes = 1 << 20

    func register(on router: Router<BasicRequestContext>) {
        router.post("txn") { request, _ in await txn(request) }
        for method in [HTTPRequest.Method.get, .put, .delete, .patch] {
            router.on("txn", method: method) { _, _ in
                var response = JSON.error(405, "send a transaction with POST /txn")
                response.headers[.allow] = "POST"
                return response
            }
        }
    }

    private func txn(_ request: Request) async -> Response {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.maxBodyBytes)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            return JSON.tooLarge(limit: Self.maxBodyBytes).response
        } catch {
            return JSON.error(400, "the request body could not be read: \(error)")
        }
        guard buffer.readableBytes > 0 else { return JSON.emptyBody.response }
        let txn: TxnRequest
        switch TxnBody.parse(Data(buffer.readableBytesView)) {
        case .success(let t): txn = t
        case .failure(let failure): return failure.response
        }
        // `ClientAuthMiddleware` could only ask for an identity: the keys are in the body.
        if let identity = ClientContext.identity, let failure = ClientAccess.refusal(identity, for: txn) {
            return failure.response
        }
        let idempotencyKey = HTTPField.Name("Idempotency-Key").flatMap { request.headers[$0] }
        let operations = KVOperations(runtime: runtime, store: store)
        switch await operations.submit(txn, requestID: KVOperations.requestID(idempotencyKey: idempotencyKey),
                                       identity: ClientContext.identity?.name) {
        case .failure(let error): return JSON.error(error)
        case .success(let (revision, result)):
            return JSON.response(TxnAnswer(succeeded: result.succeeded, revision: revision,
                                           results: result.results.map(TxnAnswer.OperationResult.init)))
        }
    }
}

/// `{"succeeded":bool,"revision":N,"results":[...]}`, one result per operation of the branch taken.
struct TxnAnswer: Encodable {
    var succeeded: Bool
    var revision: UInt64
    var results: [OperationResult]

    struct OperationResult: Encodable {
        var result: TxnOperationResult

        init(_ result: TxnOperationResult) { self.result = result }

        func encode(to encoder: any Encoder) throws {
            var fields = encoder.container(keyedBy: JSONKey.self)
            func put<Value: Encodable>(_ name: String, _ value: Value) throws { try fields.encode(value, forKey: JSONKey(name)) }
            switch result {
            case .put(let key, let revision):
                try put("op", "put")
                try put("key", key)
                try put("revision", revision)
            case .delete(let key, let deleted):
                try put("op", "delete")
                try put("key", key)
                try put("deleted", deleted)
            case .deletePrefix(let prefix, let deleted):
                try put("op", "delete_prefix")
                try put("prefix", prefix)
                try put("deleted", deleted)
            case .get(let key, let record):
                try put("op", "get")
                try put("key", key)
                try put("found", record != nil)
                guard let record else { return }
                try put("value", String(decoding: record.value, as: UTF8.self))
                try put("revision", record.revision)
                try put("create_revision", record.createRevision)
                try put("version", record.version)
                if record.lease != 0 { try put("lease", String(record.lease)) }
            }
        }
    }
}
