import NIOCore
import RaftCore
import Synchronization

/// Counts inbound connections and decides which may stay. Every open socket costs a file
/// descriptor, a handshake timer and a receive buffer, and before its handshake a connection
/// has proven nothing, so those are capped separately and more tightly. A member keeps one
/// outbound connection to us (plus, briefly, the one it is replacing), so a sender id with more
/// than `maxPerPeer` connections loses its oldest: a restarted peer whose old sockets linger
/// half-open is never locked out by them.
final class InboundAdmission: Sendable {
    enum Refusal: Error, CustomStringConvertible {
        case tooManyUnauthenticated(Int)
        case tooManyConnections(Int)

        var description: String {
            switch self {
            case .tooManyUnauthenticated(let limit): "\(limit) connections already await their handshake"
            case .tooManyConnections(let limit): "\(limit) inbound connections already open"
            }
        }
    }

    private struct State {
        var unauthenticated = 0
        var total = 0
        var byPeer: [NodeID: [(key: ObjectIdentifier, channel: any Channel)]] = [:]
    }

    private let maxUnauthenticated: Int
    private let maxTotal: Int
    private let maxPerPeer: Int
    private let state = Mutex(State())

    init(maxUnauthenticated: Int, maxTotal: Int, maxPerPeer: Int) {
        self.maxUnauthenticated = maxUnauthenticated
        self.maxTotal = maxTotal
        self.maxPerPeer = max(maxPerPeer, 1)
    }

    var counts: (unauthenticated: Int, total: Int) { state.withLock { ($0.unauthenticated, $0.total) } }

    /// Takes an unauthenticated slot for a new connection, or says why there is none.
    func admit() -> Refusal? {
        state.withLock { state in
            if state.total >= maxTotal { return .tooManyConnections(maxTotal) }
            if state.unauthenticated >= maxUnauthenticated { return .tooManyUnauthenticated(maxUnauthenticated) }
            state.unauthenticated += 1
            state.total += 1
            return nil
        }
    }

    /// The connection completed its handshake as `peer`; returns connections of that peer to
    /// close, oldest first, beyond the per-peer limit.
    func authenticated(_ key: ObjectIdentifier, channel: any Channel, as peer: NodeID) -> [any Channel] {
        state.withLock { state in
            state.unauthenticated -= 1
            var connections = state.byPeer[peer, default: []]
            connections.append((key, channel))
            let evicted = connections.count > maxPerPeer ? connections.prefix(connections.count - maxPerPeer).map(\.channel) : []
            state.byPeer[peer] = connections
            return evicted
        }
    }

    /// The connection closed; `peer` is who it shook hands as, if it did.
    func closed(_ key: ObjectIdentifier, peer: NodeID?) {
        state.withLock { state in
            state.total -= 1
            guard let peer else {
                state.unauthenticated -= 1
                return
            }
            var connections = state.byPeer[peer, default: []]
            connections.removeAll { $0.key == key }
            state.byPeer[peer] = connections.isEmpty ? nil : connections
        }
    }
}
