import Glibc

/// Holds a TCP port on 127.0.0.1 open, as another program would.
struct Listener {
    let fd: Int32

    struct Failed: Error {}

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard ok, listen(fd, 4) == 0 else {
            Glibc.close(fd)
            throw Failed()
        }
    }

    func close() { Glibc.close(fd) }
}
