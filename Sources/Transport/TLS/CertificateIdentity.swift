import NIOCore
import NIOSSL
import X509

/// Which node ids a peer's certificate speaks for: its SAN DNS names and its subject common
/// name(s). The CA decides what it signs, so a certificate naming a node is as good as the
/// CA's word that the holder is that node. Both are accepted because `openssl req -subj
/// /CN=node1` is the shortest way to make one, and current practice puts names in SANs.
enum CertificateIdentity {
    /// The names of `certificate`; empty when it cannot be parsed (then it speaks for no one).
    static func names(of certificate: NIOSSLCertificate) -> Set<String> {
        guard let bytes = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: bytes) else { return [] }
        var names: Set<String> = []
        for rdn in parsed.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                if let name = String(attribute.value) { names.insert(name) }
            }
        }
        if let alternatives = try? parsed.extensions.subjectAlternativeNames {
            for case .dnsName(let name) in alternatives { names.insert(name) }
        }
        return names
    }

    /// The names of the peer certificate on `pipeline`'s TLS handler, or nil when there is
    /// no TLS handler or no peer certificate.
    static func peerNames(on pipeline: ChannelPipeline.SynchronousOperations) -> Set<String>? {
        guard let certificate = try? pipeline.nioSSL_peerCertificate() else { return nil }
        return names(of: certificate)
    }
}
