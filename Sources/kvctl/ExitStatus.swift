import Foundation
import KVClient

/// kvctl's exit codes: scripts tell a refused request from a typo from a cluster that is down.
enum ExitStatus: Int32 {
    case ok = 0
    /// The server refused the request (its message goes to stderr), a local file failed, a
    /// lease was lost, an unrepeatable request's answer was lost, or any error that is not usage.
    case refused = 1
    /// The command line was wrong.
    case usage = 2
    /// No endpoint answered.
    case unreachable = 3
}

/// A command's failure with the exit status it stands for.
struct CommandFailure: Error {
    var status: ExitStatus
    var message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    init(_ error: KVClientError) {
        switch error {
        case .unreachable: self.init(.unreachable, error.description)
        case .invalidArgument: self.init(.usage, error.description)
        default: self.init(.refused, error.description)
        }
    }

    /// Prints `Error: message` to stderr and exits with the status.
    func report() -> Never {
        FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
        exit(status.rawValue)
    }
}
