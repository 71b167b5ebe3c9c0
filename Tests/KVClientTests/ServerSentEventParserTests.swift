@testable import KVClient
import Testing

/// The watch's event-stream parser against any chunking, every line ending, and a hostile
/// stream that tries to make it buffer without bound.
@Suite("ServerSentEventParser")
struct ServerSentEventParserTests {
    @Test("LF, CRLF and CR line endings, split anywhere, give the same events")
    func lineEndingsAndChunking() throws {
        let lines = ["event: put", "data: {\"a\":1}", "id: 7", "", ": a comment", "event: progress", "data: x", "", ""]
        let expected = [ServerSentEvent(event: "put", data: "{\"a\":1}", id: "7"), ServerSentEvent(event: "progress", data: "x")]
        for ending in ["\n", "\r\n", "\r"] {
            let bytes = Array(lines.joined(separator: ending).utf8)
            for split in 0...bytes.count {
                var parser = ServerSentEventParser()
                let events = try parser.feed(bytes[..<split]) + parser.feed(bytes[split...])
                #expect(events == expected, "ending \(ending.debugDescription), split at \(split)")
            }
        }
    }

    @Test("a CR at the end of one chunk and its LF at the start of the next end one line")
    func carriageReturnThenLineFeedAcrossChunks() throws {
        var parser = ServerSentEventParser()
        #expect(try parser.feed(Array("data: a\r".utf8)).isEmpty)
        #expect(try parser.feed(Array("\ndata: b\r".utf8)).isEmpty)
        #expect(try parser.feed(Array("\n\r\n".utf8)) == [ServerSentEvent(data: "a\nb")])
    }

    @Test("several data lines join with LF; fields without a colon, unknown fields and comments are handled as the standard says")
    func multiLineDataAndOddFields() throws {
        var parser = ServerSentEventParser()
        let text = "data\ndata:no space\ndata:  two spaces\nretry: 5\nfoo: bar\n:comment\nid\n\n"
        #expect(try parser.feed(Array(text.utf8)) == [ServerSentEvent(data: "\nno space\n two spaces", id: "")])
        // A block of comments and unknown fields only dispatches nothing.
        #expect(try parser.feed(Array(":x\nretry: 1\n\n\n".utf8)).isEmpty)
    }

    @Test("a line over the limit is refused, however it is chunked")
    func lineLimit() {
        var parser = ServerSentEventParser(maxLineBytes: 16, maxEventBytes: 1_000)
        #expect(throws: KVClientError.self) {
            for _ in 0..<20 { _ = try parser.feed(Array("d".utf8)) }
        }
    }

    @Test("many short data lines with no blank line are refused once the event passes its limit")
    func eventLimit() throws {
        var parser = ServerSentEventParser(maxLineBytes: 64, maxEventBytes: 100)
        #expect(throws: KVClientError.self) {
            for _ in 0..<1_000 { _ = try parser.feed(Array("data: 0123456789\n".utf8)) }
        }
        // Endless comments cost nothing and are not refused.
        var quiet = ServerSentEventParser(maxLineBytes: 64, maxEventBytes: 100)
        for _ in 0..<1_000 { #expect(try quiet.feed(Array(": keep-alive\n".utf8)).isEmpty) }
        // The limit is per event: a blank line starts the count again.
        var steady = ServerSentEventParser(maxLineBytes: 64, maxEventBytes: 100)
        for _ in 0..<1_000 { #expect(try steady.feed(Array("data: 0123456789\n\n".utf8)).count == 1) }
    }

    @Test("invalid UTF-8 becomes replacement characters, never a crash")
    func invalidUTF8() throws {
        var parser = ServerSentEventParser()
        let events = try parser.feed([UInt8]("data: ".utf8) + [0xFF, 0xC3] + [UInt8]("\n\n".utf8))
        #expect(events.count == 1)
        #expect(events.first?.data == "\u{FFFD}\u{FFFD}")
    }

    @Test("reset drops a block that was cut off")
    func resetDropsPartialBlock() throws {
        var parser = ServerSentEventParser()
        _ = try parser.feed(Array("event: put\ndata: half".utf8))
        parser.reset()
        #expect(try parser.feed(Array("data: whole\n\n".utf8)) == [ServerSentEvent(data: "whole")])
    }
}
