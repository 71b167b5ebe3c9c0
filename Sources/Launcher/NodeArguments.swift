/// Builds the kv-node command line from the persisted configuration, following Docs/LAUNCHER.md:
/// founders bootstrap until the cluster has had a leader, nodes added later join through a
/// member's API, and every node gets its own directory under the data directory.
public struct NodeArguments: Sendable {
    public let dataDirectory: String
    /// Whether nodes serve their API over HTTPS, with the certificate they use for peer TLS.
    public let servesHTTPS: Bool
    /// Nodes always listen on loopback: the launcher and the dashboard proxy are their only clients.
    public static let nodeHost = "127.0.0.1"

    public init(dataDirectory: String, servesHTTPS: Bool = false) {
        self.dataDirectory = dataDirectory
        self.servesHTTPS = servesHTTPS
    }

    public func directory(for id: NodeID) -> String {
        dataDirectory + "/" + id.rawValue
    }

    /// - Parameter joinAddress: `HOST:PORT` of a member's API for a node that is not a founder;
    ///   nil leaves the flag out (the node then waits to be added).
    /// - Parameter peerTLS: the node's certificate, key and the cluster CA, for mutual TLS on
    ///   the Raft port (Docs/SECURITY.md, "Peer traffic"); nil runs the Raft port in plaintext.
    public func arguments(
        for node: NodeConfig, in config: ClusterConfig, joinAddress: String?, peerTLS: PeerTLSPaths? = nil
    ) -> [String] {
        var arguments = [
            "--id", node.id.rawValue,
            "--api-addr", "\(NodeArguments.nodeHost):\(node.apiPort)",
            "--raft-addr", "\(NodeArguments.nodeHost):\(node.raftPort)",
            "--data-dir", directory(for: node.id),
        ]
        if node.founder {
            if !config.bootstrapped {
                let peers = config.nodes.filter(\.founder).map {
                    "\($0.id.rawValue)=\(NodeArguments.nodeHost):\($0.raftPort)@\(NodeArguments.nodeHost):\($0.apiPort)"
                }
                arguments += ["--bootstrap", "--peers", peers.joined(separator: ",")]
            }
        } else if let joinAddress {
            // An HTTPS member is asked over HTTPS, trusting the cluster CA; the newcomer's own
            // certificate (its --cert-file below) is what it would present as a client.
            if servesHTTPS, let peerTLS {
                arguments += ["--join", "https://\(joinAddress)", "--join-ca-file", peerTLS.trustedCA]
            } else {
                arguments += ["--join", joinAddress]
            }
        }
        if let peerTLS {
            arguments += peerTLS.kvNodeArguments
            // The node certificate names 127.0.0.1 (SAN IP) and allows server auth, so it serves
            // the API too; a client trusts it through the cluster CA.
            if servesHTTPS { arguments += ["--cert-file", peerTLS.certificate, "--key-file", peerTLS.key] }
        }
        return arguments
    }
}
