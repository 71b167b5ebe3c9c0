import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `GET /kv`: prefix, limit and the `X-Next-Start-After` cursor (Docs/API.md).
@Suite struct ListingRouteTests {
    static let pairs = [
        "fruit/apple": "red", "fruit/banana": "yellow", "fruit/cherry & plum=stone": "dark",
        "fruit/d%20te": "brown", "veg/kale": "green",
    ]

    @Test func aPrefixSelectsKeysInByteOrder() async throws {
        try await RouteHarness.with { api in
            for (key, value) in Self.pairs {
                let encoded = try #require(key.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
                #expect(try await api.request(.put, "/kv/" + encoded, json: ["value": value]).status == .ok)
            }
            let fruit = try await api.request(.get, "/kv?prefix=fruit/")
            #expect(fruit.status == .ok)
            #expect(fruit.headers[.nextStartAfter] == nil)
            let object = try #require(fruit.object as? [String: String])
            #expect(object == Self.pairs.filter { $0.key.hasPrefix("fruit/") })
            // The pairs come in byte order of their keys.
            let positions = ["fruit/apple", "fruit/banana", "fruit/cherry & plum=stone", "fruit/d%20te"]
                .compactMap { fruit.text.range(of: "\"\($0)\"")?.lowerBound }
            #expect(positions.count == 4 && positions == positions.sorted())

            let all = try await api.request(.get, "/kv")
            #expect((all.object as? [String: String]) == Self.pairs)
            let none = try await api.request(.get, "/kv?prefix=meat/")
            #expect(none.status == .ok)
            #expect(none.object?.isEmpty == true)
        }
    }

    @Test func aCursorWalksEveryPairOnceWhateverItsCharacters() async throws {
        try await RouteHarness.with { api in
            for (key, value) in Self.pairs {
                let encoded = try #require(key.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
                #expect(try await api.request(.put, "/kv/" + encoded, json: ["value": value]).status == .ok)
            }
            var seen: [String: String] = [:]
            var pages = 0
            var cursor: String?
            repeat {
                let uri = "/kv?prefix=fruit/&limit=2" + (cursor.map { "&start_after=\($0)" } ?? "")
                let page = try await api.request(.get, uri)
                #expect(page.status == .ok, "\(uri): \(page.text)")
                let pairs = try #require(page.object as? [String: String])
                #expect((1...2).contains(pairs.count))
                for (key, value) in pairs {
                    #expect(seen.updateValue(value, forKey: key) == nil, "\(key) came twice")
                }
                // The header goes back exactly as it came, neither decoded nor encoded again.
                cursor = page.headers[.nextStartAfter]
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 2)
            #expect(seen == Self.pairs.filter { $0.key.hasPrefix("fruit/") })
        }
    }

    @Test func aPageEndsAtTheByteBudgetWithAtLeastOnePair() async throws {
        try await RouteHarness.with(maxPageBytes: 16) { api in
            for key in ["a", "b", "c"] {
                #expect(try await api.request(.put, "/kv/\(key)", json: ["value": String(repeating: key, count: 20)]).status == .ok)
            }
            var keys: [String] = []
            var cursor: String?
            for _ in 0..<5 {
                let page = try await api.request(.get, "/kv" + (cursor.map { "?start_after=\($0)" } ?? ""))
                let pairs = try #require(page.object as? [String: String])
                #expect(pairs.count == 1)
                keys += pairs.keys
                cursor = page.headers[.nextStartAfter]
                if cursor == nil { break }
            }
            #expect(keys == ["a", "b", "c"])
        }
    }
}
