import Foundation
import Launcher
import Testing

@Suite struct LogTailTests {
    @Test func returnsTheLastLines() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.url.appendingPathComponent("node.log").path
        try (1...500).map { "line \($0)" }.joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(LogTail.lines(atPath: path, count: 3) == ["line 498", "line 499", "line 500"])
        #expect(LogTail.lines(atPath: path, count: 1000).count == 500)
    }

    @Test func readsOnlyTheEndOfALargeFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.url.appendingPathComponent("node.log").path
        try (1...20_000).map { "entry number \($0)" }.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let lines = LogTail.lines(atPath: path, count: 100_000, maxBytes: 1000)
        #expect(lines.last == "entry number 20000")
        #expect(lines.count < 100)
        #expect(lines.first?.hasPrefix("entry number ") == true)
    }

    @Test func missingFileIsEmpty() {
        #expect(LogTail.lines(atPath: "/nonexistent/node.log", count: 10).isEmpty)
    }
}
