import KVStore
import NodeRuntime

/// Gathers imported puts into transactions and proposes them in order, several at a time.
/// Proposals are handed to the runtime in the order they are made (`submit` enqueues at
/// once), so the log holds the batches in file order and a key given twice ends with its
/// later value.
struct BatchedImport {
    let runtime: NodeRuntime
    let identity: String?
    private(set) var imported = 0
    /// The revision of the last batch applied.
    private(set) var revision: UInt64 = 0
    private var batch: [TxnOperation] = []
    private var batchBytes = 0
    private typealias Answer = (count: Int, result: Result<KVResult, RuntimeError>)
    private var answers: AsyncStream<Answer>.AsyncIterator
    private let answer: AsyncStream<Answer>.Continuation
    private var outstanding = 0

    init(runtime: NodeRuntime, identity: String?) {
        self.runtime = runtime
        self.identity = identity
        let (stream, continuation) = AsyncStream<Answer>.makeStream()
        answers = stream.makeAsyncIterator()
        answer = continuation
    }

    mutating func add(_ put: TxnOperation) async throws(APIFailure) {
        if case .put(let key, let value, _) = put {
            let size = key.utf8.count + value.count
            if !batch.isEmpty && (batch.count == TxnRequest.maxEntries || batchBytes + size > ImportRoutes.batchBytes) {
                try await propose()
            }
            batchBytes += size
        }
        batch.append(put)
    }

    /// Proposes what is left and waits for every answer.
    mutating func finish() async throws(APIFailure) {
        if !batch.isEmpty { try await propose() }
        while outstanding > 0 { try await collect() }
    }

    /// Waits for the batches already proposed, ignoring their failures: the answer reports
    /// the first failure and how many keys were applied.
    mutating func drain() async {
        while outstanding > 0 { try? await collect() }
    }

    private mutating func propose() async throws(APIFailure) {
        while outstanding >= ImportRoutes.batchesInFlight { try await collect() }
        let count = batch.count
        let answer = self.answer
        runtime.submit(KVCommand(.txn(TxnRequest(success: batch))), identity: identity) { result in
            answer.yield((count, result))
        }
        outstanding += 1
        batch = []
        batchBytes = 0
    }

    private mutating func collect() async throws(APIFailure) {
        guard let (count, result) = await answers.next() else {
            throw APIFailure(500, "the import's answers ended early")
        }
        outstanding -= 1
        switch result {
        case .success(let applied):
            imported += count
            revision = max(revision, applied.revision)
        case .failure(let error):
            throw APIFailure(error.httpStatus, "a batch was not applied: \(error.message)")
        }
    }
}
