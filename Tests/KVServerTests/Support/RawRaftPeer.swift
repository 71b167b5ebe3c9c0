import Foundation
#if canImport(Glibc)
import Glibc
import HTTPTestSupport
#endif

/// Raft-port frames built byte by byte from Docs/TRANSPORT.md (the test target does not see
/// the Transport module's codec), so a test can send what no honest node would.
/// Every frame is `[length: u32 LE][type: u8][payload]`, `length` counting type and payload.
struct RaftWire {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func bool(_ value: Bool) { u8(value ? 1 : 0) }
    /// Strings and node ids: `[u16 count][UTF-8]`.
    mutating func string(_ value: String) {
        u16(UInt16(value.utf8.count))
        bytes += value.utf8
    }
    /// Byte arrays: `[u32 count][bytes]`.
    mutating func data(_ value: [UInt8]) {
        u32(UInt32(value.count))
        bytes += value
    }

    static func frame(type: UInt8, _ body: (inout RaftWire) -> Void) -> [UInt8] {
        var payload = RaftWire()
        body(&payload)
        var frame = RaftWire()
        frame.u32(UInt32(payload.bytes.count + 1))
        frame.u8(type)
        return frame.bytes + payload.bytes
    }

    static func handshake(cluster: String = "kv", sender: String) -> [UInt8] {
        frame(type: 0x01) { $0.u32(0x5446_4152); $0.u16(1); $0.string(cluster); $0.string(sender) }
    }

    /// A Raft message: from, to, term, then the body's fields.
    static func message(type: UInt8, from: String, to: String, term: UInt64, _ body: (inout RaftWire) -> Void) -> [UInt8] {
        frame(type: type) { wire in
            wire.string(from)
            wire.string(to)
            wire.u64(term)
            body(&wire)
        }
    }

    static func vote(from: String, to: String, term: UInt64, lastLogIndex: UInt64 = .max, lastLogTerm: UInt64 = .max,
                     leadershipTransfer: Bool = false) -> [UInt8] {
        message(type: 0x12, from: from, to: to, term: term) {
            $0.u64(lastLogIndex); $0.u64(lastLogTerm); $0.bool(leadershipTransfer)
        }
    }

    static func appendResponse(from: String, to: String, term: UInt64, success: Bool, index: UInt64) -> [UInt8] {
        message(type: 0x15, from: from, to: to, term: term) {
            $0.bool(success); $0.u64(index); $0.u64(0); $0.u64(0)
        }
    }

    struct Entry {
        var term: UInt64
        var index: UInt64
        var data: [UInt8] = Array("forged".utf8)
    }

    static func append(from: String, to: String, term: UInt64, prevLogIndex: UInt64, prevLogTerm: UInt64,
                       leaderCommit: UInt64, entries: [Entry]) -> [UInt8] {
        message(type: 0x14, from: from, to: to, term: term) { wire in
            wire.u64(prevLogIndex); wire.u64(prevLogTerm); wire.u64(leaderCommit)
            wire.u32(UInt32(entries.count))
            for entry in entries {
                wire.u64(entry.term); wire.u64(entry.index); wire.u8(0); wire.data(entry.data)
            }
        }
    }
}

/// A raw TCP connection to a node's Raft port, standing in for a hostile peer. The socket is
/// non-blocking and waits by sleeping, so no test thread blocks on a node that stops reading.
final class RawRaftPeer {
    private let fd: Int32

    init(port: Int) throws {
        fd = try connectLoopback(port: port)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Writes `bytes`; returns true once all are in the kernel, false as soon as the node
    /// closes the connection, and throws if neither happens by the deadline.
    @discardableResult
    func send(_ bytes: [UInt8], timeout: Duration = .seconds(30)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent > 0 {
                offset += sent
            } else if sent < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                guard ContinuousClock.now < deadline else { throw NotYet("send: node neither read nor closed") }
                try await Task.sleep(for: .milliseconds(2))
            } else {
                return false
            }
        }
        return true
    }

    /// The type byte of the first frame the node answers with (0x02 accept, 0x03 reject),
    /// or nil if it closed without answering.
    func firstReplyType(timeout: Duration = .seconds(20)) async throws -> UInt8? {
        let received = try await firstBytes(5, timeout: timeout)
        return received.count >= 5 ? received[4] : nil
    }

    /// At least the first `count` bytes the node sends (all that one read brought), or fewer
    /// if it closes first.
    func firstBytes(_ count: Int, timeout: Duration = .seconds(20)) async throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while received.count < count {
            let read = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if read > 0 {
                received += chunk[0..<read]
            } else if read == 0 {
                return received
            } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                guard ContinuousClock.now < deadline else { throw NotYet("no handshake reply") }
                try await Task.sleep(for: .milliseconds(5))
            } else {
                return received
            }
        }
        return received
    }

    /// Connects and completes a handshake as `sender`; throws unless the node accepts.
    static func member(port: Int, claiming sender: String) async throws -> RawRaftPeer {
        let peer = try RawRaftPeer(port: port)
        try await peer.send(RaftWire.handshake(sender: sender))
        guard try await peer.firstReplyType() == 0x02 else { throw Unexpected("handshake as \(sender) was not accepted") }
        return peer
    }
}

/// A process's resident memory from `/proc/<pid>/status`, in bytes: `VmRSS` now, or `VmHWM`
/// (the most it ever held).
func residentBytes(of pid: pid_t, field: String = "VmRSS") -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        let number = line.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ").first
        return number.flatMap { Int($0) }.map { $0 * 1024 }
    }
    return nil
}
