import Glibc

/// Where each node listens: slot i (1-based) has its API on `basePort + 10(i-1)` and its Raft
/// port one above, as Docs/LAUNCHER.md fixes for the default cluster. Slots, not ids, own ports, so a
/// node called "db-east" still gets a predictable pair.
public struct PortPlan: Sendable, Equatable {
    public let basePort: Int
    /// Ports are spaced by ten so a person can read a node's slot off its port.
    public static let stride = 10

    public init(basePort: Int) {
        self.basePort = basePort
    }

    public func apiPort(slot: Int) -> Int { basePort + PortPlan.stride * (slot - 1) }
    public func raftPort(slot: Int) -> Int { apiPort(slot: slot) + 1 }

    /// The highest slot whose Raft port still fits in 16 bits.
    public var maxSlot: Int { (65_535 - 1 - basePort) / PortPlan.stride + 1 }

    /// The lowest slot not in `used` whose two ports `isFree` accepts, or nil when none is left.
    /// `isFree` is injected so tests can decide which ports are taken.
    public func nextFreeSlot(used: Set<Int>, isFree: (Int) -> Bool) -> Int? {
        guard maxSlot >= 1 else { return nil }
        for slot in 1...maxSlot where !used.contains(slot) {
            if isFree(apiPort(slot: slot)) && isFree(raftPort(slot: slot)) { return slot }
        }
        return nil
    }
}

/// Asks the kernel whether a TCP port on 127.0.0.1 can be bound right now.
public enum PortProbe {
    /// Binds and closes a socket. `SO_REUSEADDR` matches what servers set, so a port that only
    /// has connections in TIME_WAIT counts as free, as it would for the node that binds it next.
    public static func isFree(_ port: Int, host: String = "127.0.0.1") -> Bool {
        guard (1...65_535).contains(port) else { return false }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return false }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }
}
