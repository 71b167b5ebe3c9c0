import Foundation
#if canImport(Glibc)
import Glibc
import HTTPTestSupport
#endif

/// Hands out loopback TCP ports for test nodes.
///
/// Ports come from 20000–32767, away from the launcher's 8080 and 9000–9100, so a
/// cluster someone runs by hand is never disturbed, and below Linux's ephemeral range
/// (32768–60999 by default): a port from that range could be taken as the local port of
/// some test's outgoing connection between this check and the node's bind, and the node
/// would then fail to start with "Address already in use". A port is handed out only if it
/// can be bound right now, and never twice in one test run, because tests run in parallel.
enum PortAllocator {
    private static let handedOut = HandedOut()

    static func ports(_ count: Int) -> [Int] {
        var result: [Int] = []
        while result.count < count {
            let candidate = Int.random(in: 20_000...32_767)
            let fresh = handedOut.insert(candidate)
            if fresh && canBind(candidate) { result.append(candidate) }
        }
        return result
    }

    /// Binds 127.0.0.1:port without SO_REUSEADDR: fails for ports in use or in TIME_WAIT.
    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bound = withLoopbackAddress(port: port) { bind(fd, $0, $1) }
        return bound == 0
    }
}

/// The ports this test process gave out already (tests allocate concurrently).
private final class HandedOut: @unchecked Sendable {
    private let lock = NSLock()
    private var ports: Set<Int> = []

    /// True when `port` was not handed out before.
    func insert(_ port: Int) -> Bool {
        lock.withLock { ports.insert(port).inserted }
    }
}
