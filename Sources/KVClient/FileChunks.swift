import Foundation
import NIOCore

/// A file's bytes as a sequence of buffers, read as the request body is sent: an upload of any
/// size takes one chunk of memory at a time.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    /// The file's size when it was opened (the `Content-Length` sent).
    let size: Int64
    static let chunkSize = 256 * 1024

    init(path: String) throws(KVClientError) {
        self.path = path
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            guard let size = (attributes[.size] as? NSNumber)?.int64Value else {
                throw KVClientError.file(path: path, reason: "has no size")
            }
            self.size = size
        } catch let error as KVClientError {
            throw error
        } catch {
            throw .file(path: path, reason: "cannot be read: \(error.localizedDescription)")
        }
    }

    func makeAsyncIterator() -> Iterator { Iterator(path: path, remaining: size) }

    struct Iterator: AsyncIteratorProtocol {
        let path: String
        /// What is still to be sent of the announced size: a file that grows while it is sent
        /// must not send more than its `Content-Length`.
        var remaining: Int64
        var handle: FileHandle?

        init(path: String, remaining: Int64) {
            self.path = path
            self.remaining = remaining
        }

        mutating func next() async throws -> ByteBuffer? {
            guard remaining > 0 else {
                try handle?.close()
                handle = nil
                return nil
            }
            if handle == nil { handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)) }
            let want = Int(Swift.min(Int64(FileChunks.chunkSize), remaining))
            guard let data = try handle?.read(upToCount: want), !data.isEmpty else {
                throw KVClientError.file(path: path, reason: "ended before its announced \(remaining) more bytes")
            }
            remaining -= Int64(data.count)
            return ByteBuffer(bytes: data)
        }
    }
}
