/// Progress of an HTTP exchange that a handler in front of NIO's HTTP/1 codec served from the
/// bytes itself, so that `HTTPIdleTimeoutHandler`, which otherwise learns of requests and
/// answers from the HTTP parts passing through it, counts them too. Fired inbound.
public enum HTTPExchangeEvent: Sendable {
    /// A request arrived whole.
    case requestRead
    /// Its answer was written.
    case answerWritten
    /// That answer reached the socket.
    case answerDrained
}
