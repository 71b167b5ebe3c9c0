/// Percent-encoding for a value a client passes back verbatim in a query string, such as
/// `X-Next-Start-After` into `start_after=`.
///
/// Every byte of the UTF-8 form except the unreserved ones of RFC 3986 (`A-Z a-z 0-9 - . _ ~`)
/// becomes `%XX` (upper-case hex). So `&`, `=`, `+`, `%`, `#`, space and non-ASCII keys all
/// survive the trip: the server decodes `%XX` back to the same bytes and never reads `+`
/// as a space.
enum QueryValueEncoding {
    static func encode(_ value: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
