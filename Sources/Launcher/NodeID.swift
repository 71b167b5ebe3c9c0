import Foundation

/// A validated node id.
///
/// Node ids become directory names under the data directory and path segments in URLs, so the
/// only way to get one is through this type's validating initialiser: a string that is not
/// `^[A-Za-z0-9_-]{1,64}$` never reaches the file system.
public struct NodeID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// Why a string was refused, worded for an API error body.
    public enum ValidationError: Error, CustomStringConvertible, Equatable {
        case empty
        case tooLong(Int)
        case invalidCharacter(Character)

        public var description: String {
            switch self {
            case .empty: "node id must not be empty"
            case .tooLong(let n): "node id must be at most 64 characters (got \(n))"
            case .invalidCharacter(let c):
                "node id may contain only letters A-Z and a-z, digits, '_' and '-' (found \(c.debugDescription))"
            }
        }
    }

    public init(validating string: String) throws(ValidationError) {
        guard !string.isEmpty else { throw .empty }
        // Count Unicode scalars, not grapheme clusters, so combining marks cannot hide length.
        guard string.unicodeScalars.count <= 64 else { throw .tooLong(string.unicodeScalars.count) }
        for scalar in string.unicodeScalars where !NodeID.isAllowed(scalar) {
            throw .invalidCharacter(Character(scalar))
        }
        self.rawValue = string
    }

    /// Returns nil instead of throwing, for places that only need a yes or no.
    public init?(_ string: String) {
        guard let id = try? NodeID(validating: string) else { return nil }
        self = id
    }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true  // 0-9 A-Z a-z
        case 0x2D, 0x5F: true  // - _
        default: false
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        do {
            try self.init(validating: string)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        // Natural order so node10 sorts after node9 on the dashboard.
        lhs.rawValue.compare(rhs.rawValue, options: .numeric) == .orderedAscending
    }

    public var description: String { rawValue }
}
