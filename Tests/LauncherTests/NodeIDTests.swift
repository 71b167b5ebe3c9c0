import Launcher
import Testing

@Suite struct NodeIDTests {
    @Test(arguments: ["node1", "a", "A-b_9", String(repeating: "x", count: 64), "db-east_2"])
    func acceptsDesignIDs(_ id: String) throws {
        #expect(try NodeID(validating: id).rawValue == id)
    }

    @Test(arguments: [
        "", String(repeating: "x", count: 65), "../etc", "..", ".", "a/b", "a\\b", "node 1", "node1\n", "nöde",
        "node%2F", "a.b", "~root", "node1;rm", "\u{0}",
    ])
    func refusesAnythingElse(_ id: String) {
        #expect(throws: NodeID.ValidationError.self) { try NodeID(validating: id) }
        #expect(NodeID(id) == nil)
    }

    @Test func errorsSayWhy() {
        #expect(throws: NodeID.ValidationError.empty) { try NodeID(validating: "") }
        #expect(throws: NodeID.ValidationError.tooLong(65)) { try NodeID(validating: String(repeating: "a", count: 65)) }
        #expect(throws: NodeID.ValidationError.invalidCharacter("/")) { try NodeID(validating: "a/b") }
    }

    @Test func combiningMarksCountTowardsTheLimit() {
        // 64 visible characters but 128 scalars: still refused (and é is not allowed anyway).
        #expect(NodeID(String(repeating: "e\u{301}", count: 64)) == nil)
    }

    @Test func decodingValidates() throws {
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode([NodeID].self, from: Data(#"["../x"]"#.utf8))
        }
        let ids = try JSONDecoder().decode([NodeID].self, from: Data(#"["node1"]"#.utf8))
        #expect(ids == [NodeID("node1")!])
    }

    @Test func sortsNaturally() {
        let ids = ["node10", "node2", "node1"].compactMap(NodeID.init).sorted()
        #expect(ids.map(\.rawValue) == ["node1", "node2", "node10"])
    }
}

import Foundation
