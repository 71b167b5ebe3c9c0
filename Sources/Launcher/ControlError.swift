/// Why a control or KV request failed, with the HTTP status it maps to.
public enum ControlError: Error, Sendable, CustomStringConvertible {
    case badRequest(String)
    case notFound(String)
    case conflict(String)
    /// The action would leave fewer than a majority of voters up; `?force=true` overrides.
    case quorum(QuorumAssessment)
    case unavailable(String)
    case failed(String)

    public var status: Int {
        switch self {
        case .badRequest: 400
        case .notFound: 404
        case .conflict, .quorum: 409
        case .unavailable: 503
        case .failed: 500
        }
    }

    public var description: String {
        switch self {
        case .badRequest(let m), .notFound(let m), .conflict(let m), .unavailable(let m), .failed(let m): m
        case .quorum(let q): "\(q.message) Repeat with ?force=true to \(q.action.rawValue) \(q.node) anyway."
        }
    }

    /// Parses an id from a URL or body, so a bad id is a 400 before anything else happens.
    public static func validID(_ raw: String) throws(ControlError) -> NodeID {
        do {
            return try NodeID(validating: raw)
        } catch {
            throw .badRequest("invalid node id: \(error.description)")
        }
    }
}
