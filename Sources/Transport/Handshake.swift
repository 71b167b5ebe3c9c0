import NIOCore
import RaftCore

/// The first frame on every connection, sent by the dialling side. The three handshake frames
/// keep this layout in every protocol version, so two versions can always tell each other no.
/// Layout: `[magic: u32][version: u16][cluster id][sender id]`.
struct Handshake: Equatable {
    var version: UInt16 = WireProtocol.version
    var clusterID: String
    var sender: NodeID

    func writeFrame(into buffer: inout ByteBuffer) {
        buffer.writeFrame(.handshake) { payload in
            payload.writeWire(WireProtocol.magic)
            payload.writeWire(version)
            payload.writeWire(clusterID)
            payload.writeWire(sender)
        }
    }

    static func decode(_ payload: ByteBuffer) throws -> Handshake {
        var reader = WireReader(payload)
        guard try reader.readU32("magic") == WireProtocol.magic else { throw WireError.invalidValue(field: "magic") }
        let version = try reader.readU16("version")
        let clusterID = try reader.readString("cluster id")
        let sender = try reader.readNodeID("sender id")
        try reader.finish()
        return Handshake(version: version, clusterID: clusterID, sender: sender)
    }

    /// Why the accepting side refuses this handshake, or nil when it may proceed.
    func refusal(localID: NodeID, clusterID expected: String) -> HandshakeRefusal? {
        if version != WireProtocol.version { return .unsupportedVersion(version) }
        if clusterID != expected { return .wrongCluster(clusterID) }
        if !Self.isValidID(sender) || sender == localID { return .invalidSender(sender) }
        return nil
    }

    /// Sender ids follow kv-node's `--id` rule (1 to 64 of `A-Z a-z 0-9 _ -`), so an accepted
    /// id is safe to log and to key maps by, and an id no node can have is refused up front.
    static func isValidID(_ id: NodeID) -> Bool {
        let bytes = id.rawValue.utf8
        guard (1...64).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }
}

/// A refusal travels back to the dialler before the connection closes, so the misconfigured
/// side learns why instead of seeing only a reset. Layout: `[code: u8][reason]`.
enum HandshakeRefusal: Error, Equatable, CustomStringConvertible {
    case unsupportedVersion(UInt16)
    case wrongCluster(String)
    case invalidSender(NodeID)
    /// With TLS: the sender id is not a name in the certificate the connection presented.
    case certificateMismatch(NodeID, names: [String])
    /// With TLS: the sender is not in the receiver's address book (not a member, nor a
    /// learner whose addition it has applied).
    case unknownSender(NodeID)
    /// With a cluster secret: the dialler's proof is not the one the secret gives (another
    /// secret, a replayed or forged answer).
    case secretMismatch(NodeID)
    /// A refusal whose code this version does not know; kept so it can still be reported.
    case other(code: UInt8, reason: String)

    var code: UInt8 {
        switch self {
        case .unsupportedVersion: 1
        case .wrongCluster: 2
        case .invalidSender: 3
        case .certificateMismatch: 4
        case .unknownSender: 5
        case .secretMismatch: 6
        case .other(let code, _): code
        }
    }

    var description: String {
        switch self {
        case .unsupportedVersion(let version): "unsupported protocol version \(version) (expected \(WireProtocol.version))"
        // The peer's own words are quoted escaped and cut short: this text goes to the log.
        case .wrongCluster(let cluster): "cluster id '\(PeerText.escaped(cluster))' does not match this cluster"
        case .invalidSender(let sender):
            "sender id '\(PeerText.escaped(sender.rawValue))' is not 1-64 of A-Z a-z 0-9 _ - or is the receiver's own id"
        case .certificateMismatch(let sender, let names):
            "sender id '\(PeerText.escaped(sender.rawValue))' is not a name in its certificate (\(PeerText.escaped(names.joined(separator: ", "), limit: 128)))"
        case .unknownSender(let sender): "sender id '\(PeerText.escaped(sender.rawValue))' is not in this node's address book"
        case .secretMismatch(let sender):
            "sender '\(PeerText.escaped(sender.rawValue))' did not prove the cluster secret (another --cluster-secret-file?)"
        case .other(_, let reason): reason
        }
    }

    func writeFrame(into buffer: inout ByteBuffer) {
        buffer.writeFrame(.handshakeReject) { payload in
            payload.writeWire(code)
            payload.writeWire(description)
        }
    }

    static func decode(_ payload: ByteBuffer) throws -> HandshakeRefusal {
        var reader = WireReader(payload)
        let code = try reader.readU8("refusal code")
        let reason = try reader.readString("refusal reason")
        try reader.finish()
        return .other(code: code, reason: reason)
    }
}

/// The accepting side's yes: `[version: u16][responder id]`. The dialler checks the id so a
/// stale address book entry pointing at another member is noticed rather than trusted.
struct HandshakeAccept: Equatable {
    var version: UInt16 = WireProtocol.version
    var responder: NodeID

    func writeFrame(into buffer: inout ByteBuffer) {
        buffer.writeFrame(.handshakeAccept) { payload in
            payload.writeWire(version)
            payload.writeWire(responder)
        }
    }

    static func decode(_ payload: ByteBuffer) throws -> HandshakeAccept {
        var reader = WireReader(payload)
        let version = try reader.readU16("version")
        let responder = try reader.readNodeID("responder id")
        try reader.finish()
        return HandshakeAccept(version: version, responder: responder)
    }
}
