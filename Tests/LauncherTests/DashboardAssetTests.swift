import Foundation
import Hummingbird
import HummingbirdTesting
import Launcher
import Testing

@Suite struct DashboardAssetTests {
    @Test func theBundleHoldsThePage() throws {
        let assets = try DashboardAssets.bundled()
        #expect(assets.names.contains("index.html"))
        #expect(assets.names.contains("js/main.js"))
        #expect(assets.names.contains { $0.hasPrefix("css/") })
    }

    @Test func everyModuleTheIndexLoadsExists() throws {
        let assets = try DashboardAssets.bundled()
        let index = String(buffer: try #require(assets.asset(named: "index.html")).body)
        var referenced: [String] = []
        for name in assets.names where name.hasSuffix(".js") {
            let text = String(buffer: assets.asset(named: name)!.body)
            // import ... from "./x.js"
            for line in text.split(separator: "\n") where line.hasPrefix("import ") {
                if let from = line.range(of: "from \"./") {
                    let rest = line[from.upperBound...]
                    referenced.append("js/" + rest.prefix { $0 != "\"" })
                }
            }
        }
        for name in referenced { #expect(assets.asset(named: name) != nil, "\(name) is imported but missing") }
        for href in ["/css/base.css", "/css/layout.css", "/css/components.css", "/js/main.js", "/favicon.svg"] {
            #expect(index.contains(href))
            #expect(assets.asset(named: String(href.dropFirst())) != nil)
        }
        #expect(!index.contains("http://") && !index.contains("https://"), "the page must load nothing from the network")
    }

    @Test func servedWithTypesAndNoTraversal() async throws {
        let launcher = try TestLauncher()
        defer { launcher.directory.remove() }
        try await launcher.application().test(.router) { client in
            let index = try await client.execute(uri: "/", method: .get)
            #expect(index.status == .ok)
            #expect(index.headers[.contentType] == "text/html; charset=utf-8")
            let js = try await client.execute(uri: "/js/main.js", method: .get)
            #expect(js.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(try await client.execute(uri: "/css/base.css", method: .get).status == .ok)
            for uri in ["/js/..%2F..%2FPackage.swift", "/js/nope.js", "/css/..%2Findex.html"] {
                #expect(try await client.execute(uri: uri, method: .get).status == .notFound, "\(uri)")
            }
        }
    }
}
