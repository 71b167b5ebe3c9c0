import NIOCore

/// `TCP_USER_TIMEOUT` as a channel option: how long sent data may stay unacknowledged before
/// the kernel gives the connection up (see `TransportConfiguration.peerSilenceTimeout`).
enum TCPUserTimeout {
    /// The option's number in Linux's `<netinet/tcp.h>` (18), which Glibc's module map does
    /// not export.
    static let option = ChannelOptions.Types.SocketOption(level: .tcp, name: NIOBSDSocket.Option(rawValue: 18))

    /// The option's value: whole milliseconds, at least 1 (0 would mean "the system default").
    static func milliseconds(_ duration: Duration) -> SocketOptionValue {
        let (seconds, attoseconds) = duration.components
        let total = seconds * 1_000 + attoseconds / 1_000_000_000_000_000
        return SocketOptionValue(clamping: max(1, total))
    }
}
