import NIOCore
import NIOPosix

/// `TCP_USER_TIMEOUT`: how long sent data may stay unacknowledged before the kernel gives the
/// connection up (see `TransportConfiguration.peerSilenceTimeout`). Linux only; elsewhere the
/// runtime's own silence check is all there is.
enum TCPUserTimeout {
    static func set(_ timeout: Duration, on bootstrap: ClientBootstrap) -> ClientBootstrap {
        #if os(Linux)
        // The option's number in Linux's `<netinet/tcp.h>`, which Glibc's module map does not export.
        let option = ChannelOptions.Types.SocketOption(level: .tcp, name: NIOBSDSocket.Option(rawValue: 18))
        return bootstrap.channelOption(option, value: milliseconds(timeout))
        #else
        return bootstrap
        #endif
    }

    /// Whole milliseconds, at least 1 (0 would mean "the system default").
    static func milliseconds(_ duration: Duration) -> SocketOptionValue {
        let (seconds, attoseconds) = duration.components
        let total = seconds * 1_000 + attoseconds / 1_000_000_000_000_000
        return SocketOptionValue(clamping: max(1, total))
    }
}
