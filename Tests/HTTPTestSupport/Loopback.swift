#if canImport(Glibc)
import Glibc
#endif

/// Calls `body` with 127.0.0.1:`port` in the form `bind` and `connect` take: the test
/// nodes listen on loopback only.
public func withLoopbackAddress<T>(port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

/// A non-blocking TCP connection to 127.0.0.1:`port`. The caller owns the descriptor; a
/// failed connect closes it here, before anyone else could hold it.
public func connectLoopback(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw NotYet("socket: errno \(errno)") }
    let connected = withLoopbackAddress(port: port) { connect(fd, $0, $1) }
    guard connected == 0 else {
        let reason = String(cString: strerror(errno))
        close(fd)
        throw NotYet("connect to 127.0.0.1:\(port): \(reason)")
    }
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    return fd
}
