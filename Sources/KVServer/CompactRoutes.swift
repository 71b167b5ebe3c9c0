import Hummingbird
import KVStore
import NodeRuntime

/// `POST /compact {"revision":R}`: forgets history at and below R on every node (Docs/API.md,
/// "History and compaction"). The compaction is a log entry: the state machine refuses a
/// revision not yet reached when it applies (400), or one already compacted (410), the same
/// way on every node, so a follower that lags does not refuse what the leader has reached.
struct CompactRoutes {
    let runtime: NodeRuntime

    func register(on router: Router<BasicRequestContext>) {
        router.post("compact") { request, _ in await compact(request) }
    }

    private func compact(_ request: Request) async -> Response {
        if let failure = ClientAccess.compactRefusal(ClientContext.identity) { return failure.response }
        let revision: UInt64
        switch await JSONIntegerBody.field("revision", of: UInt64.self, from: request, meaning: "the revision to compact through, a whole number") {
        case .success(let value): revision = value
        case .failure(let failure): return failure.response
        }
        let result = await withCheckedContinuation { done in
            runtime.submit(KVCommand(.compact(revision: revision)), identity: ClientContext.identity?.name) { done.resume(returning: $0) }
        }
        switch result {
        case .success(let applied):
            var json = JSONObjectWriter()
            json.field("compact_revision", revision)
            json.field("revision", applied.revision)
            return KVReply(json).response
        case .failure(let error):
            return JSON.error(error)
        }
    }
}
