import RaftCore

/// What an inbound handshake must prove when the transport runs with TLS, beyond the
/// cluster id: that the sender id it claims is a name in the certificate it presented, and
/// that the sender is in this node's address book. The address book holds the members and a
/// learner from the moment the change adding it applies here (Docs/TRANSPORT.md, "TLS").
struct PeerAuthentication: Sendable {
    /// Whether `peer` is in the transport's address book right now.
    var isKnown: @Sendable (NodeID) -> Bool

    /// Why `sender` may not speak on a connection whose certificate names `certificateNames`
    /// (nil when the TLS handshake did not yield a certificate), or nil when it may.
    func refusal(of sender: NodeID, certificateNames: Set<String>?) -> HandshakeRefusal? {
        guard let certificateNames, certificateNames.contains(sender.rawValue) else {
            return .certificateMismatch(sender, names: certificateNames.map { $0.sorted() } ?? [])
        }
        guard isKnown(sender) else { return .unknownSender(sender) }
        return nil
    }
}
