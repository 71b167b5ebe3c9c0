import HTTPTypes
import HummingbirdTesting
@testable import KVServer
import Testing

/// The router drops empty path segments, so `//kv`, `/kv//` and `/watch/` reach the same
/// routes as `/kv` and `/watch`: the access rule must judge them as those routes, or a
/// doubled or trailing slash would be a way around it (Docs/SECURITY.md, "Clients").
@Suite struct AuthPathShapeRouteTests {
    @Test func aDoubledSlashDoesNotTurnAPrefixDeleteIntoAnUncheckedOne() async throws {
        try await AuthRouteTests.withAuth { api, _, _ in
            #expect(try await api.request(.put, "/kv/app/x", json: ["value": "1"], headers: AuthRouteTests.basic("app")).status == .ok)
            // `writer` may write only under logs/.
            for uri in ["//kv?prefix=app/", "/kv//?prefix=app/", "//kv//?prefix=app/"] {
                let reply = try await api.request(.delete, uri, headers: AuthRouteTests.basic("writer"))
                #expect(reply.status == .forbidden, "\(uri): \(reply.status) \(reply.text)")
            }
            #expect(try await api.request(.get, "/kv/app/x", headers: AuthRouteTests.basic("app")).status == .ok)
        }
    }

    @Test func aDoubledSlashDoesNotOpenAListingOrTheAdminRoutes() async throws {
        try await AuthRouteTests.withAuth { api, _, _ in
            #expect(try await api.request(.put, "/kv/secret", json: ["value": "s"], headers: AuthRouteTests.basic("ops")).status == .ok)
            for uri in ["//kv?prefix=", "//kv", "/kv//", "//kv?prefix=secret"] {
                let reply = try await api.request(.get, uri, headers: AuthRouteTests.basic("app"))
                #expect(reply.status == .forbidden, "\(uri): \(reply.status) \(reply.text)")
            }
            for uri in ["//cluster/remove", "/cluster//remove", "/cluster/remove/"] {
                let reply = try await api.request(.post, uri, json: ["id": "node1"], headers: AuthRouteTests.basic("app"))
                #expect(reply.status == .forbidden, "\(uri): \(reply.status) \(reply.text)")
            }
        }
    }

    /// A watch streams until it ends, so the rule is checked on its own here.
    @Test func aWatchPathWithExtraSlashesIsJudgedAsAWatch() {
        for path in ["/watch", "/watch/", "//watch", "/watch//"] {
            #expect(ClientAccess.action(method: .get, path: path[...], listPrefix: "", watchKey: nil) == .list(prefix: ""), "\(path)")
            #expect(ClientAccess.action(method: .get, path: path[...], listPrefix: nil, watchKey: "k") == .read(key: "k"), "\(path)")
        }
        #expect(ClientAccess.action(method: .get, path: "//kv", listPrefix: "p", watchKey: nil) == .list(prefix: "p"))
        #expect(ClientAccess.action(method: .delete, path: "/kv//", listPrefix: "p", watchKey: nil) == .write(key: "p"))
        #expect(ClientAccess.action(method: .get, path: "/kv/a//b", listPrefix: nil) == .read(key: "a//b"))
        #expect(ClientAccess.action(method: .get, path: "//health", listPrefix: nil) == .open)
        #expect(ClientAccess.action(method: .post, path: "//cluster/join", listPrefix: nil) == .admin)
    }
}
