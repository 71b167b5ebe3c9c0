import FoundationEssentials
import NIOSSL

/// PEM files read for TLS, each failure naming the file.
public enum PEMFiles {
    public static func certificates(in file: String) throws(PeerTLSError) -> [NIOSSLCertificate] {
        let pem = try bytes(of: file)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(pem)
        } catch {
            throw .invalid(file: file, reason: "not PEM certificates (\(error))")
        }
        guard !certificates.isEmpty else { throw .invalid(file: file, reason: "no PEM certificate in it") }
        return certificates
    }

    public static func privateKey(in file: String) throws(PeerTLSError) -> NIOSSLPrivateKey {
        let pem = try bytes(of: file)
        do {
            return try NIOSSLPrivateKey(bytes: pem, format: .pem)
        } catch {
            throw .invalid(file: file, reason: "not a PEM private key (\(error))")
        }
    }

    private static func bytes(of file: String) throws(PeerTLSError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: file) else { throw .unreadable(file: file) }
        return [UInt8](data)
    }
}
