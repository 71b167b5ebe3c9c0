import FoundationEssentials
import NIOSSL
import NodeRuntime
import Transport

/// Where `--join` asks for admission, and how: plain HTTP, or HTTPS trusting a given CA
/// (for a cluster whose nodes serve their API with `--cert-file`), presenting this node's own
/// API certificate as a client certificate (for `--client-cert-auth`), and with credentials
/// (for `--auth-file`, where joining needs the `admin` role). Docs/SECURITY.md, "Joining a
/// secured cluster".
public struct JoinTarget: Sendable {
    public var address: HostPort
    public var usesTLS: Bool
    /// PEM CA certificates the target's certificate must chain to; nil trusts the system's.
    public var trustedCAFile: String?
    /// This node's certificate and key, presented when the target asks for one.
    public var clientCertificate: (certificateFile: String, keyFile: String)?
    /// The `Authorization` header sent with the request.
    public var authorization: String?

    /// `HOST:PORT` (HTTP), `http://HOST:PORT` or `https://HOST:PORT`; nil for anything else.
    public init?(parsing text: String) {
        var rest = Substring(text)
        var usesTLS = false
        if rest.hasPrefix("https://") {
            usesTLS = true
            rest = rest.dropFirst("https://".count)
        } else if rest.hasPrefix("http://") {
            rest = rest.dropFirst("http://".count)
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let address = HostPort(parsing: String(rest)) else { return nil }
        self.address = address
        self.usesTLS = usesTLS
    }

    var scheme: String { usesTLS ? "https" : "http" }

    /// The `Authorization` header for a credentials file's first line: `USER:PASSWORD` is sent
    /// as HTTP Basic, anything without a colon as a bearer token. Nil for an empty line.
    public static func authorization(credentials line: String) -> String? {
        let text = line.trimmingWhitespace()
        guard !text.isEmpty else { return nil }
        if text.contains(":") { return "Basic " + Data(text.utf8).base64EncodedString() }
        return "Bearer " + text
    }

    /// The TLS configuration for the join request; the error names a file that is unreadable
    /// or not PEM.
    public func tlsConfiguration() throws(PeerTLSError) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let trustedCAFile { tls.trustRoots = .certificates(try PEMFiles.certificates(in: trustedCAFile)) }
        if let clientCertificate {
            tls.certificateChain = try PEMFiles.certificates(in: clientCertificate.certificateFile).map { .certificate($0) }
            tls.privateKey = .privateKey(try PEMFiles.privateKey(in: clientCertificate.keyFile))
        }
        return tls
    }
}
