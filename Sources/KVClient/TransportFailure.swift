import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// What a failed attempt says about the request it carried, and how the failure is reported.
enum TransportFailure {
    /// True only when the error proves the request never left the client: the connection to
    /// the node could not be made. Anything else (a reset, a closed connection, a timeout)
    /// may have come after the node read the request, so a request that is not safe to
    /// repeat must not be sent again after it.
    static func requestNeverSent(_ error: any Error) -> Bool {
        switch error {
        case is NIOConnectionError:
            // Every address of a host name refused or timed out.
            return true
        case let error as HTTPClientError:
            // Waiting for a connection that never came; the request was still queued.
            return error == .connectTimeout || error == .getConnectionFromPoolTimeout
        case let error as ChannelError:
            if case .connectTimeout = error { return true }
            return false
        case let error as IOError:
            // An IP address that refused the connection, or no route to it.
            return [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH].contains(error.errnoCode)
        default:
            return false
        }
    }

    /// The error a call reports for a transport failure on `endpoint`: a ``KVClientError``
    /// unchanged, `CancellationError` when the calling task was cancelled (the HTTP client
    /// reports a cancelled request as one of its own errors), otherwise
    /// ``KVClientError/unreachable(endpoints:underlying:)``.
    static func reported(_ error: any Error, endpoint: Endpoint) -> any Error {
        if let error = error as? KVClientError { return error }
        if Task.isCancelled || error is CancellationError { return CancellationError() }
        return KVClientError.unreachable(endpoints: [endpoint.description], underlying: error)
    }
}
