import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Launcher
import Testing

/// The access rules in front of the control API and dashboard (Docs/LAUNCHER.md, "Access
/// rules"): what a web page could make the operator's browser send is refused and changes
/// nothing, a foreign `Host` (DNS rebinding) is misdirected, and a control token, when set,
/// is required on every `/api/` request.
@Suite struct ControlAccessTests {
    /// Every state-changing endpoint: each row of the action table (so a new row is covered
    /// without touching this test) and the KV explorer's writes.
    static var stateChanging: [(HTTPRequest.Method, String)] {
        ControlAction.all.map { ($0.method, "/api/control/" + $0.path.replacingOccurrences(of: "{id}", with: "node2") + "?force=true") }
            + [(.put, "/api/kv/k"), (.delete, "/api/kv/k")]
    }

    /// What the launcher and its nodes are, to compare before and after.
    static func state(of launcher: TestLauncher) async -> String {
        let snapshot = await launcher.supervisor.snapshot()
        let nodes = snapshot.config.nodes.map { "\($0.id.rawValue) \(snapshot.record($0.id).state) \(snapshot.record($0.id).pid ?? 0)" }
        let writes = launcher.cluster.requests.filter { !$0.contains(" GET ") }
        return "\(nodes) \(writes) \(launcher.cluster.removeCalls.map(\.id))"
    }

    @Test func formPostsAndForeignOriginsAreRefusedByEveryEndpointAndChangeNothing() async throws {
        #expect(ControlAction.all.count >= 8)
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        let before = await Self.state(of: launcher)
        try await launcher.application().test(.router) { client in
            for (method, uri) in Self.stateChanging {
                for type in ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"] {
                    let form = try await client.execute(uri: uri, method: method, headers: [.contentType: type],
                                                        body: ByteBuffer(string: "node_id=node9&value=x"))
                    #expect(form.status == .unsupportedMediaType, "\(method) \(uri) as \(type)")
                }
                let untyped = try await client.execute(uri: uri, method: method)
                #expect(untyped.status == .unsupportedMediaType, "\(method) \(uri) without a content type")
                for origin in ["http://evil.example", "null", "http://localhost:8081", "http://localhost.evil.example"] {
                    let foreign = try await client.execute(uri: uri, method: method,
                                                           headers: [.contentType: "application/json", .origin: origin],
                                                           body: ByteBuffer(string: #"{"value":"x"}"#))
                    #expect(foreign.status == .forbidden, "\(method) \(uri) from \(origin)")
                    let error = try JSONSerialization.jsonObject(with: Data(buffer: foreign.body)) as? [String: Any]
                    #expect(error?["error"] is String)
                }
            }
            // Reads answer any origin (a page cannot read the answer without CORS anyway).
            let nodes = try await client.execute(uri: "/api/control/nodes", method: .get, headers: [.origin: "http://evil.example"])
            #expect(nodes.status == .ok)
        }
        #expect(await Self.state(of: launcher) == before)
        await launcher.stop()
    }

    @Test func sameOriginJSONRequestsAreServedWithOrWithoutABody() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        try await launcher.application().test(.router) { client in
            // HummingbirdTesting sends Host: localhost, so the page's own origin is http://localhost.
            let stop = try await client.execute(uri: "/api/control/stop/node3", method: .post,
                                                headers: [.contentType: "application/json; charset=utf-8", .origin: "http://localhost"])
            #expect(stop.status == .ok)
            let start = try await client.execute(uri: "/api/control/start/node3", method: .post, headers: .json)
            #expect(start.status == .ok)
        }
        await launcher.stop()
    }

    @Test func aForeignHostIsMisdirectedOnEveryRouteAndAllowedHostAdmitsAName() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        let before = await Self.state(of: launcher)
        let access = ControlAccess(host: "127.0.0.1", port: 8080, allowedHosts: ["kv.example", "proxy.example:9443"])
        try await launcher.application(access: access).test(.live) { client in
            let port = try #require(client.port)
            let json = ["Content-Type": "application/json"]
            for host in ["evil.example", "evil.example:8080", "localhost:8081", "127.0.0.1.evil.example:8080", "proxy.example:8080"] {
                for (method, path) in [("GET", "/"), ("GET", "/js/api.js"), ("GET", "/api/control/nodes"), ("GET", "/api/events"),
                                       ("GET", "/api/kv/k"), ("GET", "/api/watch?prefix="), ("GET", "/api/lease"), ("GET", "/api/lease/1"),
                                       ("POST", "/api/control/stop/node2"), ("DELETE", "/api/kv/k")] {
                    let reply = try await RawHTTP.send(port: port, method: method, path: path, host: host, headers: json)
                    #expect(reply.status == 421, "\(method) \(path) for \(host): \(reply.status)")
                    #expect(reply.body.contains("\"error\""))
                }
            }
            for host in ["localhost:8080", "127.0.0.1:8080", "[::1]:8080", "LOCALHOST", "kv.example", "kv.example:8080", "proxy.example:9443"] {
                let reply = try await RawHTTP.send(port: port, method: "GET", path: "/api/control/nodes", host: host)
                #expect(reply.status == 200, "\(host): \(reply.status) \(reply.body)")
            }
            // The admitted name is also the page's origin.
            let stop = try await RawHTTP.send(port: port, method: "POST", path: "/api/control/stop/node3", host: "kv.example:8080",
                                              headers: ["Content-Type": "application/json", "Origin": "http://kv.example:8080"])
            #expect(stop.status == 200, "\(stop.body)")
        }
        #expect(await Self.state(of: launcher) != before, "the admitted stop stopped node3")
        await launcher.stop()
    }

    @Test func aControlTokenIsRequiredOnEveryAPIRequestButNotForThePage() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        await launcher.start()
        let before = await Self.state(of: launcher)
        let access = ControlAccess(host: "127.0.0.1", port: 8080, token: "s3cret-token")
        try await launcher.application(access: access).test(.router) { client in
            for (method, uri) in [(HTTPRequest.Method.get, "/api/control/nodes"), (.get, "/api/events"), (.get, "/api/kv"),
                                  (.get, "/api/watch?prefix="), (.get, "/api/lease"), (.get, "/api/lease/1")]
                + Self.stateChanging {
                for authorization in [nil, "Bearer wrong", "Bearer s3cret-toke", "Basic czNjcmV0LXRva2Vu", "s3cret-token"] {
                    var headers: HTTPFields = .json
                    if let authorization { headers[.authorization] = authorization }
                    let refused = try await client.execute(uri: uri, method: method, headers: headers)
                    #expect(refused.status == .unauthorized, "\(method) \(uri) with \(authorization ?? "nothing")")
                    #expect(refused.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                }
            }
            #expect(await Self.state(of: launcher) == before)
            for uri in ["/", "/index.html", "/js/api.js"] {
                #expect(try await client.execute(uri: uri, method: .get).status == .ok, "\(uri)")
            }
            var headers: HTTPFields = .json
            headers[.authorization] = "Bearer s3cret-token"
            #expect(try await client.execute(uri: "/api/control/nodes", method: .get, headers: headers).status == .ok)
            #expect(try await client.execute(uri: "/api/control/stop/node3", method: .post, headers: headers).status == .ok)
            headers[.authorization] = "bearer s3cret-token"
            #expect(try await client.execute(uri: "/api/control/start/node3", method: .post, headers: headers).status == .ok)
        }
        await launcher.stop()
    }

    @Test func theTokenFileMustBePrivateAndNotEmpty() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        func file(_ name: String, _ text: String, mode: mode_t) throws -> String {
            let path = directory.url.appendingPathComponent(name).path
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            chmod(path, mode)
            return path
        }
        #expect(try ControlToken.read(path: try file("good", "tok3n-value\n", mode: 0o600)) == "tok3n-value")
        #expect(throws: Launcher.StartupError.self) { try ControlToken.read(path: try file("shared", "tok3n", mode: 0o644)) }
        #expect(throws: Launcher.StartupError.self) { try ControlToken.read(path: try file("empty", " \n", mode: 0o600)) }
        #expect(throws: Launcher.StartupError.self) { try ControlToken.read(path: try file("spaced", "two words", mode: 0o600)) }
        #expect(throws: Launcher.StartupError.self) { try ControlToken.read(path: directory.url.appendingPathComponent("missing").path) }
    }
}
