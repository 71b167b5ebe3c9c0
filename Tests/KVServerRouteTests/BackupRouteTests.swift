import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import KVServer
import KVStore
import Testing

/// `GET /snapshot`, `GET /export`, `POST /import` and `POST /cluster/transfer-leader` on a
/// single node, which leads.
@Suite struct BackupRouteTests {
    static let ndjson: HTTPFields = [.contentType: "application/x-ndjson"]

    @Test func snapshotStreamsAChecksummedFileAtTheRevisionItNames() async throws {
        try await RouteHarness.with { api in
            for i in 0..<20 { #expect(try await api.request(.put, "/kv/s\(i)", json: ["value": "v\(i)"]).status == .ok) }
            let response = try await api.request(.get, "/snapshot")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/octet-stream")
            let revision = try #require(response.headers[HTTPField.Name("X-KV-Revision")!].flatMap(UInt64.init))
            let path = NSTemporaryDirectory() + "route-snapshot-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: path) }
            try Data(buffer: response.body).write(to: URL(fileURLWithPath: path))
            let summary = try SnapshotSummary.read(path: path)
            #expect(summary.revision == revision)
            #expect(summary.keys == 20)
            #expect(summary.members == [api.node.id.rawValue])
            #expect(response.headers[.contentLength] == String(summary.bytes))

            let files = try FileManager.default.contentsOfDirectory(atPath: api.node.store.directory + "/snapshots")
            #expect(!files.contains { $0.hasPrefix("backup-") }, "the streamed file is removed: \(files)")
            #expect(try await api.request(.get, "/snapshot?format=tar").status == .badRequest)
            #expect(try await api.request(.get, "/snapshot?consistency=eventual").status == .badRequest)
        }
    }

    @Test func exportWritesOneJSONLinePerKeyOfThePrefixInByteOrder() async throws {
        try await RouteHarness.with { api in
            let values = ["app/a": "plain", "app/b\"q": "line\nbreak \"quoted\" é", "app/c": "", "zzz": "outside"]
            for (key, value) in values {
                let path = "/kv/" + key.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["/"]))!
                #expect(try await api.request(.put, path, json: ["value": value]).status == .ok)
            }
            let response = try await api.request(.get, "/export?prefix=app/")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/x-ndjson")
            let lines = response.text.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.last == "", "every line ends with a line break")
            let pairs = try lines.dropLast().map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
            }
            #expect(pairs.map { $0["key"] } == ["app/a", "app/b\"q", "app/c"])
            for pair in pairs { #expect(pair["value"] == values[pair["key"] ?? ""]) }
            #expect(try await api.request(.get, "/export?prefix=nothing/").text == "")
            #expect(try await api.request(.get, "/export?limit=3").status == .badRequest)
        }
    }

    @Test func importAppliesEveryLineThroughRaftAndReadsWhatExportWrote() async throws {
        try await RouteHarness.with { api in
            let body = "{\"key\":\"i/1\",\"value\":\"one\"}\r\n\n   \n{\"value\":\"two\",\"key\":\"i/2\"}\n{\"key\":\"i/1\",\"value\":\"again\"}"
            let response = try await api.request(.post, "/import", raw: body, headers: Self.ndjson)
            #expect(response.status == .ok)
            #expect(response.object?["imported"] as? Int == 3)
            #expect(try await api.request(.get, "/kv/i/1").object?["value"] as? String == "again", "a later line wins")
            #expect(try await api.request(.get, "/kv/i/2").object?["value"] as? String == "two")

            let exported = try await api.request(.get, "/export?prefix=i/").text
            #expect(try await api.request(.delete, "/kv?prefix=i/").status == .ok)
            #expect(try await api.request(.post, "/import", raw: exported, headers: Self.ndjson).object?["imported"] as? Int == 2)
            #expect(try await api.request(.get, "/export?prefix=i/").text == exported)
        }
    }

    @Test func aBadLineEndsTheImportAndTheAnswerSaysWhereAndHowManyWentIn() async throws {
        try await RouteHarness.with { api in
            // 300 good lines are three batches of 128, 128 and 44; the bad line comes while
            // the third is still being gathered, so only the first two are applied.
            var body = (0..<300).map { "{\"key\":\"b/\($0)\",\"value\":\"v\"}" }.joined(separator: "\n")
            body += "\n{\"key\":\"b/bad\",\"value\":7}\n{\"key\":\"b/never\",\"value\":\"v\"}\n"
            let response = try await api.request(.post, "/import", raw: body, headers: Self.ndjson)
            #expect(response.status == .badRequest)
            #expect((response.object?["error"] as? String)?.hasPrefix("line 301:") == true, "\(response.text)")
            #expect(response.object?["imported"] as? Int == 256)
            #expect(try await api.request(.get, "/kv/b/255").status == .ok)
            #expect(try await api.request(.get, "/kv/b/256").status == .notFound)

            for (line, why) in [("[1,2]", "not a JSON object"), ("{\"key\":\"k\"}", "needs"),
                                ("{\"key\":\"k\",\"value\":\"v\",\"lease\":\"1\"}", "unknown field"),
                                ("{\"key\":\"\",\"value\":\"v\"}", "line 1")] {
                let refused = try await api.request(.post, "/import", raw: line, headers: Self.ndjson)
                #expect(refused.status == .badRequest, "\(line)")
                #expect((refused.object?["error"] as? String)?.contains(why) == true, "\(line): \(refused.text)")
            }
            #expect(try await api.request(.post, "/import?dry_run=1", raw: "", headers: Self.ndjson).status == .badRequest)
            #expect(try await api.request(.post, "/import", raw: "{}", headers: [.contentType: "text/plain"]).status
                    == .unsupportedMediaType)
        }
    }

    @Test func transferLeaderToTheLeaderItselfAnswersAtOnceAndRefusesBadBodies() async throws {
        try await RouteHarness.with { api in
            let me = api.node.id.rawValue
            let done = try await api.request(.post, "/cluster/transfer-leader", json: ["to": me])
            #expect(done.status == .ok)
            #expect(done.object?["leader"] as? String == me)
            #expect(done.object?["status"] as? String == "transferred")
            #expect(try await api.request(.post, "/cluster/transfer-leader", json: ["to": "nobody"]).status == .notFound)
            #expect(try await api.request(.post, "/cluster/transfer-leader", json: ["to": "a b"]).status == .badRequest)
            #expect(try await api.request(.post, "/cluster/transfer-leader", json: ["to": me, "now": true]).status == .badRequest)
            #expect(try await api.request(.post, "/cluster/transfer-leader", json: [:]).status == .badRequest)
        }
    }
}

@Suite struct JSONLineSplitterTests {
    @Test func linesAreCutAtLineBreaksAcrossBuffersAndNumberedAsInAnEditor() throws {
        var splitter = JSONLineSplitter(maxLineBytes: 64)
        var lines: [(String, Int)] = []
        for chunk in ["{\"a\"", ":1}\r\n\n", "  \n{\"b\":2}\n{\"c", "\":3}"] {
            splitter.append(ByteBuffer(string: chunk))
            while let line = try splitter.next() { lines.append((String(decoding: line.bytes, as: UTF8.self), line.number)) }
        }
        if let last = try splitter.finish() { lines.append((String(decoding: last.bytes, as: UTF8.self), last.number)) }
        #expect(lines.map(\.0) == ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"])
        #expect(lines.map(\.1) == [1, 4, 5])
    }

    @Test func aLineLongerThanTheLimitIsRefusedBeforeItEnds() throws {
        var splitter = JSONLineSplitter(maxLineBytes: 8)
        splitter.append(ByteBuffer(string: "{\"k\":1}\n0123456789"))
        #expect(try splitter.next()?.number == 1)
        #expect(throws: APIFailure.self) { try splitter.next() }
    }
}
