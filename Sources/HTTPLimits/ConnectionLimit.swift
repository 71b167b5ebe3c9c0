import NIOConcurrencyHelpers
import NIOCore

/// How many connections one HTTP server holds open at once, shared by all its connections.
///
/// Why: every open connection costs a socket, buffers and a task, so a client that opens
/// connections and keeps them costs the server memory without bound. Beyond the cap a new
/// connection is closed as soon as it is accepted (`ConnectionLimitHandler`): the client
/// sees the close at once instead of waiting in the kernel's accept queue, and the
/// server's memory does not grow with the number of connections attempted.
public final class ConnectionLimit: Sendable {
    public let maximum: Int
    private let open = NIOLockedValueBox(0)

    public init(maximum: Int) {
        self.maximum = max(1, maximum)
    }

    /// Connections admitted and not yet closed.
    public var current: Int { open.withLockedValue { $0 } }

    /// Takes one place; false when all are taken.
    func acquire() -> Bool {
        open.withLockedValue { count in
            guard count < maximum else { return false }
            count += 1
            return true
        }
    }

    func release() {
        open.withLockedValue { count in count = max(0, count - 1) }
    }
}

/// The first handler of every accepted connection: takes a place in the `ConnectionLimit`
/// when the connection becomes active and gives it back when it closes; with no place
/// left it closes the connection before any byte of it is read.
public final class ConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private enum State {
        case waiting, admitted, refused, released
    }

    private let limit: ConnectionLimit
    private var state = State.waiting

    public init(limit: ConnectionLimit) {
        self.limit = limit
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        guard case .waiting = state else { return context.fireChannelActive() }
        admit(context: context)
    }

    private func admit(context: ChannelHandlerContext) {
        guard case .waiting = state else { return }
        if limit.acquire() {
            state = .admitted
            context.fireChannelActive()
        } else {
            // Handlers behind never see the connection become active, nor any byte of it.
            state = .refused
            context.close(promise: nil)
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .admitted = state else { return }
        context.fireChannelRead(data)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    private func release() {
        if case .admitted = state { limit.release() }
        state = .released
    }
}

@available(*, unavailable)
extension ConnectionLimitHandler: Sendable {}
