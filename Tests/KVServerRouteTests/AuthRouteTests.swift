import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
@testable import KVServer
import Testing

/// `--auth-file` on the router (Docs/SECURITY.md, "Clients"; Docs/API.md, "Authentication"):
/// who is refused with 401, who with 403, and what each role may do. The fast path asks the
/// same `ClientAccess` rule; Tests/KVServerTests/ClientAuthTests.swift drives it over sockets.
@Suite struct AuthRouteTests {
    /// The users and token of every test here, each password its user's name reversed.
    static func authFile(users: [String] = ["app", "reader", "ops", "writer"]) -> [String: Any] {
        let roles: [String: [[String: Any]]] = [
            "app": [["role": "write", "prefixes": ["app/"]], ["role": "read", "prefixes": ["app/", "shared/"]]],
            "reader": [["role": "read", "prefixes": [""]]],
            "ops": [["role": "admin"]],
            "writer": [["role": "write", "prefixes": ["logs/"]]],
            "newbie": [["role": "read", "prefixes": ["app/"]]],
        ]
        return [
            // Cost 4, the lowest bcrypt allows: the tests check the rule, not bcrypt's cost.
            "users": users.map { ["name": $0, "password_bcrypt": Bcrypt.hash(String($0.reversed()), cost: 4), "roles": roles[$0] ?? []] },
            "tokens": [["name": "ci", "token_sha256": sha256Hex("ci-token"), "roles": [["role": "write", "prefixes": ["ci/"]]]]],
        ]
    }

    static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func basic(_ user: String, _ password: String? = nil) -> HTTPFields {
        let credentials = Data("\(user):\(password ?? String(user.reversed()))".utf8).base64EncodedString()
        return [.authorization: "Basic \(credentials)"]
    }

    static let ciToken: HTTPFields = [.authorization: "Bearer ci-token"]

    /// Runs `body` against a router with the auth file written to a temporary file, which
    /// is removed afterwards (the file is what `reload()` reads again).
    static func withAuth(_ file: [String: Any] = authFile(),
                         _ body: @Sendable (RouteHarness, ClientAuthenticator, URL) async throws -> Void) async throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("auth-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try JSONSerialization.data(withJSONObject: file).write(to: url)
        let authenticator = try ClientAuthenticator.load(path: url.path)
        try await RouteHarness.with(authenticator: authenticator) { api in try await body(api, authenticator, url) }
    }

    @Test func missingOrWrongCredentialsAre401WithAChallenge() async throws {
        try await Self.withAuth { api, _, _ in
            let attempts: [(String, HTTPFields)] = [
                ("none", [:]),
                ("wrong password", Self.basic("app", "guess")),
                ("unknown user", Self.basic("mallory", "x")),
                ("bad token", [.authorization: "Bearer not-the-token"]),
                ("empty token", [.authorization: "Bearer "]),
                ("not base64", [.authorization: "Basic !!!"]),
                ("no colon", [.authorization: "Basic \(Data("app".utf8).base64EncodedString())"]),
                ("another scheme", [.authorization: "Digest username=app"]),
            ]
            for (name, headers) in attempts {
                for (method, uri, json) in [(HTTPRequest.Method.get, "/kv/app/x", nil), (.put, "/kv/app/x", ["value": "v"]),
                                            (.get, "/kv?prefix=app/", nil), (.post, "/cluster/remove", ["id": "x"])] as [(HTTPRequest.Method, String, [String: Any]?)] {
                    let reply = try await api.request(method, uri, json: json, headers: headers)
                    #expect(reply.status == .unauthorized, "\(name): \(method) \(uri) → \(reply.status)")
                    #expect(reply.headers[.wwwAuthenticate] == "Basic realm=\"kv\", charset=\"UTF-8\"", "\(name)")
                    #expect(reply.isErrorDocument, "\(name)")
                }
            }
            // Nothing was written by any of them.
            #expect(try await api.request(.get, "/kv/app/x", headers: Self.basic("reader")).status == .notFound)
        }
    }

    @Test func rolesAreLimitedToTheirPrefixes() async throws {
        try await Self.withAuth { api, _, _ in
            // Allowed: write and read inside the prefixes.
            #expect(try await api.request(.put, "/kv/app/x", json: ["value": "1"], headers: Self.basic("app")).status == .ok)
            #expect(try await api.request(.get, "/kv/app/x", headers: Self.basic("app")).status == .ok)
            #expect(try await api.request(.get, "/kv/app/x", headers: Self.basic("reader")).status == .ok)
            #expect(try await api.request(.put, "/kv/ci/build", json: ["value": "2"], headers: Self.ciToken).status == .ok)
            #expect(try await api.request(.delete, "/kv/app/x", headers: Self.basic("app")).status == .ok)
            // Refused with 403: outside the prefixes, or the wrong role.
            let refusals: [(String, HTTPRequest.Method, String, HTTPFields)] = [
                ("read outside its prefixes", .get, "/kv/other/x", Self.basic("app")),
                ("write where it may only read", .put, "/kv/shared/x", Self.basic("app")),
                ("write with read only", .put, "/kv/app/y", Self.basic("reader")),
                ("delete with read only", .delete, "/kv/app/y", Self.basic("reader")),
                ("write does not imply read", .get, "/kv/logs/a", Self.basic("writer")),
                ("a token's write does not imply read", .get, "/kv/ci/build", Self.ciToken),
                ("a prefix is bytes: app/ does not cover app", .put, "/kv/app", Self.basic("app")),
            ]
            for (name, method, uri, headers) in refusals {
                let reply = try await api.request(method, uri, json: method == .put ? ["value": "no"] : nil, headers: headers)
                #expect(reply.status == .forbidden, "\(name): \(reply.status) \(reply.text)")
                #expect(reply.isErrorDocument && reply.headers[.wwwAuthenticate] == nil, "\(name)")
            }
            #expect(try await api.request(.get, "/kv/app/y", headers: Self.basic("reader")).status == .notFound)
            #expect(try await api.request(.get, "/kv/shared/x", headers: Self.basic("reader")).status == .notFound)
        }
    }

    @Test func membershipChangesNeedAdminWhichMayDoAnything() async throws {
        try await Self.withAuth { api, _, _ in
            let join: [String: Any] = ["id": "evil", "raft_addr": "127.0.0.1:1", "api_addr": "127.0.0.1:2"]
            for user in ["app", "reader", "writer"] {
                #expect(try await api.request(.post, "/cluster/join", json: join, headers: Self.basic(user)).status == .forbidden, "\(user)")
                #expect(try await api.request(.post, "/cluster/remove", json: ["id": "node1"], headers: Self.basic(user)).status == .forbidden)
            }
            #expect(try await api.request(.post, "/cluster/join", json: join, headers: Self.ciToken).status == .forbidden)
            // The admin gets past the rule: a malformed join is the route's 400, not 401/403.
            let malformed = try await api.request(.post, "/cluster/join", json: ["id": "bad id!"], headers: Self.basic("ops"))
            #expect(malformed.status == .badRequest, "\(malformed.text)")
            // ... and admin implies read and write on every key, and any listing.
            #expect(try await api.request(.put, "/kv/anything", json: ["value": "a"], headers: Self.basic("ops")).status == .ok)
            #expect(try await api.request(.get, "/kv/anything", headers: Self.basic("ops")).status == .ok)
            #expect(try await api.request(.get, "/kv", headers: Self.basic("ops")).status == .ok)
            let status = try await api.request(.get, "/cluster/status")
            let members = (status.object?["members"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(members == [api.node.id.rawValue])
        }
    }

    @Test func aListingMustLieInsideAReadPrefix() async throws {
        try await Self.withAuth { api, _, _ in
            for key in ["app/a", "app/b"] {
                #expect(try await api.request(.put, "/kv/\(key)", json: ["value": key], headers: Self.basic("app")).status == .ok)
            }
            #expect(try await api.request(.put, "/kv/secret", json: ["value": "s"], headers: Self.basic("ops")).status == .ok)
            let inside = try await api.request(.get, "/kv?prefix=app/", headers: Self.basic("app"))
            #expect(inside.status == .ok)
            #expect(inside.object?.keys.sorted() == ["app/a", "app/b"])
            #expect(try await api.request(.get, "/kv?prefix=app/a", headers: Self.basic("app")).status == .ok)
            for prefix in ["", "app", "a", "shared"] {
                let outside = try await api.request(.get, "/kv?prefix=\(prefix)", headers: Self.basic("app"))
                #expect(outside.status == .forbidden, "prefix \(prefix)")
            }
            #expect(try await api.request(.get, "/kv", headers: Self.basic("app")).status == .forbidden)
            let all = try await api.request(.get, "/kv", headers: Self.basic("reader"))
            #expect(all.object?.keys.sorted() == ["app/a", "app/b", "secret"])
        }
    }

    @Test func healthMetricsAndStatusStayOpen() async throws {
        try await Self.withAuth { (api: RouteHarness, _: ClientAuthenticator, _: URL) async throws in
            for uri in ["/health", "/metrics", "/cluster/status"] {
                #expect(try await api.request(.get, uri).status == .ok, "\(uri)")
            }
            // Any other path needs someone: no probing without credentials.
            #expect(try await api.request(.get, "/nowhere").status == .unauthorized)
            #expect(try await api.request(.get, "/nowhere", headers: Self.basic("reader")).status == .notFound)
        }
    }

    @Test func aReloadSwapsTheUsersAndABadFileKeepsThem() async throws {
        try await Self.withAuth { api, authenticator, url in
            // Verified once, so cached: the reload must still forget it.
            #expect(try await api.request(.get, "/kv/app/x", headers: Self.basic("reader")).status == .notFound)
            #expect(try await api.request(.get, "/kv/app/x", headers: Self.basic("newbie")).status == .unauthorized)
            try JSONSerialization.data(withJSONObject: Self.authFile(users: ["app", "newbie"])).write(to: url)
            try authenticator.reload()
            #expect(try await api.request(.get, "/kv/app/x", headers: Self.basic("newbie")).status == .notFound)
            #expect(try await api.request(.get, "/kv/app/x", headers: Self.basic("reader")).status == .unauthorized)

            try Data("{\"users\": [{\"name\": \"x\"}]}".utf8).write(to: url)
            #expect(throws: AuthFileError.self) { try authenticator.reload() }
            #expect(try await api.request(.get, "/kv/app/x", headers: Self.basic("newbie")).status == .notFound)
        }
    }

    @Test func withoutAnAuthFileNothingIsAsked() async throws {
        try await RouteHarness.with { (api: RouteHarness) async throws in
            #expect(try await api.request(.put, "/kv/k", json: ["value": "v"]).status == .ok)
            #expect(try await api.request(.get, "/kv/k", headers: Self.basic("nobody", "x")).status == .ok)
            #expect(try await api.request(.post, "/cluster/remove", json: ["id": "ghost"]).status != .unauthorized)
        }
    }

    @Test(arguments: [
        ("[]", "not a JSON object"),
        ("{\"people\": []}", "unknown field"),
        ("{\"users\": [{\"name\": \"a\", \"password_bcrypt\": \"plain\", \"roles\": [{\"role\": \"read\", \"prefixes\": [\"\"]}]}]}", "not a bcrypt hash"),
        ("{\"users\": [{\"name\": \"a:b\", \"password_bcrypt\": \"x\", \"roles\": []}]}", "cannot contain"),
        ("{\"tokens\": [{\"name\": \"t\", \"token_sha256\": \"abc\", \"roles\": [{\"role\": \"read\", \"prefixes\": [\"\"]}]}]}", "64 hexadecimal"),
        ("{\"tokens\": [{\"name\": \"t\", \"token_sha256\": \"\(String(repeating: "a", count: 64))\", \"roles\": [{\"role\": \"root\"}]}]}", "\"role\" must be"),
        ("{\"tokens\": [{\"name\": \"t\", \"token_sha256\": \"\(String(repeating: "a", count: 64))\", \"roles\": [{\"role\": \"read\"}]}]}", "\"prefixes\" must be"),
        ("{\"tokens\": [{\"name\": \"t\", \"token_sha256\": \"\(String(repeating: "a", count: 64))\", \"roles\": [{\"role\": \"admin\", \"prefixes\": [\"a/\"]}]}]}", "leave out"),
        ("{\"tokens\": [{\"name\": \"t\", \"token_sha256\": \"\(String(repeating: "a", count: 64))\", \"roles\": [{\"role\": \"admin\"}]}, {\"name\": \"t\", \"token_sha256\": \"\(String(repeating: "b", count: 64))\", \"roles\": [{\"role\": \"admin\"}]}]}", "used twice"),
    ])
    func invalidFilesAreRefusedWithTheReason(text: String, reason: String) throws {
        do {
            _ = try AuthFile.parse(Data(text.utf8))
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.reason.contains(reason), "\(error.reason)")
        }
    }
}
