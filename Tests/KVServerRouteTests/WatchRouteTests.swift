import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KVStore
@testable import KVServer
import NodeRuntime
import RuntimeTestSupport
import Testing

/// `GET /watch` (Docs/API.md, "Watch"): what is refused and how, and the shape of the
/// stream. Delivery itself (order, resume, snapshots) is tested on the hub in
/// Tests/NodeRuntimeTests/WatchHubTests.swift and over processes in Tests/KVServerTests.
@Suite struct WatchRouteTests {
    @Test func badRequestsAre400WithWhatToFix() async throws {
        try await RouteHarness.with { api in
            let cases: [(String, HTTPFields, String)] = [
                ("/watch", [:], "key"),
                ("/watch?key=a&prefix=b", [:], "not both"),
                ("/watch?key=", [:], "key is empty"),
                ("/watch?key=a&start_revision=ten", [:], "start_revision"),
                ("/watch?key=a&start_revision=-1", [:], "start_revision"),
                ("/watch?prefix=a&prev_value=maybe", [:], "prev_value"),
                ("/watch?prefix=a&consistency=eventual", [:], "consistency"),
                ("/watch?prefix=a", [HTTPField.Name("Last-Event-ID")!: "abc"], "Last-Event-ID"),
                ("/watch?key=\(String(repeating: "k", count: 600))", [:], "invalid key"),
            ]
            for (uri, headers, hint) in cases {
                let reply = try await api.request(.get, uri, headers: headers)
                #expect(reply.status == .badRequest, "\(uri.prefix(60)) → \(reply.status)")
                #expect(reply.isErrorDocument)
                #expect((reply.object?["error"] as? String)?.contains(hint) == true, "\(uri.prefix(60)): \(reply.text)")
            }
            #expect(api.node.runtime.watchHub.watcherCount == 0)
        }
    }

    @Test func aStartBeforeTheCompactedHistoryIs410() async throws {
        try await RouteHarness.with { api in
            for i in 0..<5 { _ = try await api.request(.put, "/kv/c\(i)", json: ["value": "v\(i)"]) }
            await api.node.runtime.staleReadBarrier()
            let compactTo = api.node.store.stateMachine.revision - 1
            _ = try await api.node.runtime.submit(KVCommand(.compact(revision: compactTo)))
            for headers: HTTPFields in [[:], [HTTPField.Name("Last-Event-ID")!: "1"]] {
                let uri = headers.isEmpty ? "/watch?prefix=c&start_revision=1" : "/watch?prefix=c&start_revision=\(compactTo)"
                let reply = try await api.request(.get, uri, headers: headers)
                #expect(reply.status == .gone, "\(uri) \(headers)")
                #expect(reply.object?["error"] as? String == "compacted")
                #expect((reply.object?["compact_revision"] as? NSNumber)?.uint64Value == compactTo)
            }
            #expect(api.node.runtime.watchHub.watcherCount == 0)
        }
    }

    /// The stream opens with a progress event at the start revision, and ends cleanly when
    /// the node stops serving watches (here: the hub is closed, as at graceful shutdown).
    @Test func theStreamOpensWithProgressAndEndsWhenTheHubCloses() async throws {
        try await RouteHarness.with { api in
            let hub = api.node.runtime.watchHub
            let response = Task { try await api.request(.get, "/watch?key=k&start_revision=3&consistency=stale") }
            try await eventually("the watch to be served") { hub.watcherCount == 1 ? true : nil }
            hub.close()
            let reply = try await finishing("the stream to end", within: .seconds(30)) { try await response.value }
            #expect(reply.status == .ok)
            #expect(reply.headers[.contentType] == "text/event-stream")
            #expect(reply.headers[.cacheControl] == "no-cache")
            #expect(reply.text.hasPrefix("event: progress\ndata: {\"revision\":3}\n\n"))
            #expect(hub.watcherCount == 0)
            // A closed hub refuses new watches: the node is stopping.
            let refused = try await api.request(.get, "/watch?key=k")
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.headers[.retryAfter] == "1")
        }
    }

    /// `id:` only on the last event of a revision, so Last-Event-ID never splits one; deletes
    /// carry an empty value and zero create revision and version; prev_value only when asked.
    @Test func eventsAreWrittenAsServerSentEvents() {
        let a1 = KVRecord(key: "p/a", value: Array("1".utf8), revision: 7, createRevision: 5, version: 2, lease: 42)
        let put = KVEvent(kind: .put, record: a1, previous: KVRecord(key: "p/a", value: Array("0".utf8), revision: 5))
        let gone = KVEvent(kind: .delete, record: KVRecord(key: "p/b", value: [], revision: 7, createRevision: 0, version: 0),
                           previous: KVRecord(key: "p/b", value: Array("old".utf8), revision: 6), expired: true)
        let later = KVEvent(kind: .put, record: KVRecord(key: "p/c", value: Array("line\nbreak".utf8), revision: 9), previous: nil)
        let text = String(buffer: WatchEventText.events([put, gone, later], previousValues: true))
        #expect(text == """
            event: put
            data: {"create_revision":5,"key":"p/a","lease":"42","prev_value":"0","revision":7,"value":"1","version":2}

            event: delete
            data: {"create_revision":0,"expired":true,"key":"p/b","prev_value":"old","revision":7,"value":"","version":0}
            id: 7

            event: put
            data: {"create_revision":9,"key":"p/c","revision":9,"value":"line\\nbreak","version":1}
            id: 9


            """)
        let plain = String(buffer: WatchEventText.events([put], previousValues: false))
        #expect(!plain.contains("prev_value"))
        #expect(String(buffer: WatchEventText.progress(12)) == "event: progress\ndata: {\"revision\":12}\n\n")
    }

    /// With an auth file, a watch needs read rights on its key, or a prefix inside a read prefix.
    @Test func aWatchNeedsReadRightsOnWhatItFollows() {
        #expect(ClientAccess.action(method: .get, path: "/watch", listPrefix: nil, watchKey: "app/x") == .read(key: "app/x"))
        #expect(ClientAccess.action(method: .get, path: "/watch", listPrefix: "app/", watchKey: nil) == .list(prefix: "app/"))
        #expect(ClientAccess.action(method: .get, path: "/watch", listPrefix: "a", watchKey: "b") == .authenticated)
    }
}
