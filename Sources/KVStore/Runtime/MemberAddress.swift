import RaftCore
import Transport

/// A `host:port` pair as operators write it on the command line.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` (the last colon separates the port, so `[::1]:9000` works too).
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else { return nil }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    public var peerAddress: PeerAddress { PeerAddress(host: host, port: port) }
}

/// Where a member listens. It travels in the `ConfChange` context that adds the member, so
/// every node learns every other node's addresses from the replicated log itself.
public struct MemberAddress: Sendable, Hashable {
    public var raft: HostPort
    public var api: HostPort

    public init(raft: HostPort, api: HostPort) {
        self.raft = raft
        self.api = api
    }

    /// `RAFTHOST:PORT@APIHOST:PORT`, the form of `--peers` entries.
    public init?(parsing text: String) {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, let raft = HostPort(parsing: String(parts[0])), let api = HostPort(parsing: String(parts[1])) else {
            return nil
        }
        self.init(raft: raft, api: api)
    }

    public var text: String { "\(raft)@\(api)" }
    public var context: [UInt8] { Array(text.utf8) }

    public init?(context: [UInt8]) {
        self.init(parsing: String(decoding: context, as: UTF8.self))
    }
}
