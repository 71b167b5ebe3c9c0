/// A probe's way of saying "not yet, and here is why": a condition a test polls for
/// (`eventually`) has not come true, or a socket has nothing to give yet.
public struct NotYet: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A reply no retry can fix (a 400 where a 200 was due): `eventually` stops at once.
public struct Unexpected: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
