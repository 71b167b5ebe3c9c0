@testable import KVStore
import Testing

@Suite("CRC-32")
struct CRC32Tests {
    @Test("the check value of the IEEE CRC-32")
    func checkValue() {
        var crc = CRC32()
        crc.update(Array("123456789".utf8))
        #expect(crc.value == 0xCBF4_3926)
        #expect(CRC32().value == 0, "the CRC of nothing")
    }

    @Test("eight bytes at a time equals one byte at a time, however the input is split")
    func slicingMatchesTheDefinition() {
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 1000, 4099] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let reference = CRC32.bytewise(0xFFFF_FFFF, bytes) ^ 0xFFFF_FFFF
            var whole = CRC32()
            whole.update(bytes)
            #expect(whole.value == reference, "length \(length)")
            var pieces = CRC32()
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + Int.random(in: 1...13, using: &generator))
                pieces.update(bytes[start..<end])
                start = end
            }
            #expect(pieces.value == reference, "length \(length), in pieces")
            var lazy = CRC32()
            lazy.update(bytes.lazy.map { $0 })
            #expect(lazy.value == reference, "length \(length), not contiguous")
        }
    }
}
