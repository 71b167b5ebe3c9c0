import NIOCore

/// Cuts a streamed body into lines (`\n`, or `\r\n`), skipping blank ones, numbering them
/// from 1 as an editor would, so an error can name the line to fix. A line longer than
/// `maxLineBytes` is refused before it is buffered whole.
struct JSONLineSplitter {
    let maxLineBytes: Int
    private var pending: [UInt8] = []
    /// Where the next line starts in `pending`: consumed lines are dropped in bulk, not one
    /// by one, so splitting stays linear in the body's size.
    private var start = 0
    private var scanned = 0
    private var lineNumber = 0

    init(maxLineBytes: Int) { self.maxLineBytes = maxLineBytes }

    mutating func append(_ buffer: ByteBuffer) {
        if start > 0 {
            pending.removeFirst(start)
            scanned -= start
            start = 0
        }
        pending.append(contentsOf: buffer.readableBytesView)
    }

    /// The next complete, non-blank line, or nil until more bytes arrive.
    mutating func next() throws(APIFailure) -> (bytes: [UInt8], number: Int)? {
        while let end = pending[max(scanned, start)...].firstIndex(of: UInt8(ascii: "\n")) {
            lineNumber += 1
            var line = Array(pending[start..<end])
            start = end + 1
            scanned = start
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if line.count > maxLineBytes { throw tooLong(lineNumber) }
            if !Self.isBlank(line[...]) { return (line, lineNumber) }
        }
        scanned = pending.count
        if pending.count - start > maxLineBytes { throw tooLong(lineNumber + 1) }
        return nil
    }

    /// The last line when the body does not end with a line break.
    mutating func finish() throws(APIFailure) -> (bytes: [UInt8], number: Int)? {
        if let line = try next() { return line }
        let rest = pending[start...]
        guard !Self.isBlank(rest) else { return nil }
        lineNumber += 1
        defer {
            pending = []
            start = 0
            scanned = 0
        }
        return (Array(rest), lineNumber)
    }

    private static func isBlank(_ line: ArraySlice<UInt8>) -> Bool {
        line.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
    }

    private func tooLong(_ number: Int) -> APIFailure {
        APIFailure(413, "line \(number) is longer than \(maxLineBytes) bytes")
    }
}
