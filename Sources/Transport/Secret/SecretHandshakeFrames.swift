import NIOCore

/// The acceptor's challenge, sent after it has checked a hello when it holds a cluster secret:
/// `[acceptor nonce: bytes(32)]`.
struct SecretChallenge: Equatable {
    var nonce: [UInt8]

    func writeFrame(into buffer: inout ByteBuffer) {
        buffer.writeFrame(.secretChallenge) { $0.writeWire(nonce) }
    }

    static func decode(_ payload: ByteBuffer) throws -> SecretChallenge {
        var reader = WireReader(payload)
        let nonce = try reader.readNonce("acceptor nonce")
        try reader.finish()
        return SecretChallenge(nonce: nonce)
    }
}

/// The dialler's answer: `[dialler nonce: bytes(32)][proof: bytes(32)]`, the proof being the
/// dialler's HMAC over both nonces (`ClusterSecret.proof`).
struct SecretResponse: Equatable {
    var nonce: [UInt8]
    var proof: [UInt8]

    func writeFrame(into buffer: inout ByteBuffer) {
        buffer.writeFrame(.secretResponse) { payload in
            payload.writeWire(nonce)
            payload.writeWire(proof)
        }
    }

    static func decode(_ payload: ByteBuffer) throws -> SecretResponse {
        var reader = WireReader(payload)
        let nonce = try reader.readNonce("dialler nonce")
        let proof = try reader.readBytes("dialler proof")
        try reader.finish()
        return SecretResponse(nonce: nonce, proof: proof)
    }
}

/// The acceptor's own proof, sent just before its accept: `[proof: bytes(32)]`. Without it a
/// dialler would hand its traffic to whoever answers at the peer's address.
struct SecretProof: Equatable {
    var proof: [UInt8]

    func writeFrame(into buffer: inout ByteBuffer) {
        buffer.writeFrame(.secretProof) { $0.writeWire(proof) }
    }

    static func decode(_ payload: ByteBuffer) throws -> SecretProof {
        var reader = WireReader(payload)
        let proof = try reader.readBytes("acceptor proof")
        try reader.finish()
        return SecretProof(proof: proof)
    }
}

extension WireReader {
    /// A nonce of exactly `ClusterSecret.nonceLength` bytes: a shorter one would weaken the
    /// challenge, a longer one is not what this version sends.
    mutating func readNonce(_ field: String) throws -> [UInt8] {
        let nonce = try readBytes(field)
        guard nonce.count == ClusterSecret.nonceLength else { throw WireError.invalidValue(field: field) }
        return nonce
    }
}
