import HTTPTypes
import Hummingbird

/// `GET /api/snapshot[?node=ID]`: a node's `GET /snapshot` (a consistent backup of the whole
/// store, checksummed) relayed as a file download, for the dashboard's "Download snapshot"
/// (Docs/LAUNCHER.md). `kv-node restore` seeds a new cluster from it.
enum SnapshotRoutes {
    static func register(on router: Router<some RequestContext>, gateway: KVGateway) {
        router.get("api/snapshot") { request, _ in
            let answer: (NodeID, NodeStream)
            do throws(ControlError) {
                answer = try await gateway.snapshot(node: request.query("node"))
            } catch {
                return JSONResponse.error(error)
            }
            let (node, stream) = answer
            guard stream.status == 200 else { return await WatchRoutes.refusal(stream, node: node) }
            let revision = stream.storeRevision.flatMap(UInt64.init)
            var headers: HTTPFields = [
                .contentType: "application/octet-stream",
                .contentDisposition: "attachment; filename=\"kv-snapshot-\(revision.map(String.init) ?? "latest").snap\"",
                KVRoutes.nodeHeader: node.rawValue,
            ]
            if let revision, let name = HTTPField.Name("X-KV-Revision") { headers[name] = String(revision) }
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                var failed = false
                try await WatchRoutes.relay(stream.body) { try await writer.write($0) } onFailure: { failed = true }
                // A node that failed mid-file must not look like a finished download: the
                // connection is cut instead of ending the body cleanly.
                if failed { throw NodeUnreachable("\(node) stopped sending the snapshot") }
                try await writer.finish(nil)
            })
        }
    }
}
