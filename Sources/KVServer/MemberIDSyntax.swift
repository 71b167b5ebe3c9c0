/// What a member id may be: `^[A-Za-z0-9_-]{1,64}$`, checked byte by byte (the launcher's
/// `NodeID` enforces the same, because ids become directory names and URL path segments).
public enum MemberIDSyntax {
    public static let pattern = "^[A-Za-z0-9_-]{1,64}$"

    public static func isValid(_ text: String) -> Bool {
        let bytes = text.utf8
        return (1...64).contains(bytes.count) && bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
    }
}
