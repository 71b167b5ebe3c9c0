import Foundation
import Glibc

/// One HTTP/1.1 request written as given, with whatever `Host` the test names, on a
/// loopback connection of its own; the answer is read until the server closes. The test
/// framework's own clients always send `Host: localhost`, which the access rules admit.
enum RawHTTP {
    struct Reply {
        var status: Int
        /// Header lines as sent, names lowercased.
        var headers: [String: String]
        var body: String
    }

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    static func send(port: Int, method: String, path: String, host: String, headers: [String: String] = [:],
                     body: String = "", timeout: Duration = .seconds(20)) async throws -> Reply {
        // HummingbirdTesting's live mode binds "localhost": 127.0.0.1 or ::1.
        let fd = try connectLoopback(port: port)
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var text = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if !body.isEmpty { text += "Content-Length: \(body.utf8.count)\r\n" }
        let bytes = Array((text + "\r\n" + body).utf8)
        let deadline = ContinuousClock.now + timeout
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count > 0 { offset += count; continue }
            guard errno == EAGAIN, ContinuousClock.now < deadline else { throw Failed(description: "send: errno \(errno)") }
            try await Task.sleep(for: .milliseconds(2))
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 { received += chunk[..<count]; continue }
            if count == 0 || errno == ECONNRESET { break }
            guard errno == EAGAIN, ContinuousClock.now < deadline else { throw Failed(description: "no complete answer from :\(port)") }
            try await Task.sleep(for: .milliseconds(2))
        }
        let answer = String(decoding: received, as: UTF8.self)
        guard let split = answer.range(of: "\r\n\r\n") else { throw Failed(description: "not an HTTP answer: \(answer)") }
        let lines = answer[..<split.lowerBound].components(separatedBy: "\r\n")
        guard let status = lines.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw Failed(description: "no status line: \(answer)")
        }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Reply(status: status, headers: fields, body: String(answer[split.upperBound...]))
    }

    static func connectLoopback(port: Int) throws -> Int32 {
        let v4 = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let connectedV4 = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(v4, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connectedV4 == 0 { return v4 }
        close(v4)
        let v6 = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        var address6 = sockaddr_in6()
        address6.sin6_family = sa_family_t(AF_INET6)
        address6.sin6_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET6, "::1", &address6.sin6_addr)
        let connectedV6 = withUnsafePointer(to: &address6) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(v6, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        if connectedV6 == 0 { return v6 }
        close(v6)
        throw Failed(description: "nothing listens on localhost:\(port)")
    }
}
