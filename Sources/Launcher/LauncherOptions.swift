import Foundation
import HTTPLimits
import Logging

/// Everything the launcher needs to know to start; the executable fills it from flags.
public struct LauncherOptions: Sendable {
    /// Where the dashboard and control API listen. Loopback by default: whoever reaches this
    /// port can start and kill processes.
    public var host = "127.0.0.1"
    public var port = 8080
    /// node1's API port; node i listens on base+10(i-1) and base+10(i-1)+1.
    public var basePort = 9000
    public var dataDirectory = "./data"
    /// Explicit kv-node path; nil looks beside the launcher and builds it if missing.
    public var kvNodePath: String?
    /// How many founders a first start bootstraps.
    public var initialNodes = 3
    public var logLevel: Logger.Level = .info
    /// Connection cap and idle timeout of the dashboard and control API.
    public var http = HTTPServerLimits()
    /// More names the dashboard may be addressed by (`--allowed-host`), with or without a
    /// port; loopback names and `host` always are (`ControlAccess`).
    public var allowedHosts: [String] = []
    /// A file holding the bearer token every `/api/` request must send; nil: no token.
    public var controlTokenFile: String?
    /// Nodes serve their HTTP API over HTTPS with their cluster certificate (`--tls`), and the
    /// launcher's monitor and proxy reach them trusting the cluster CA. Plain HTTP when false,
    /// so the README's curl calls work as written.
    public var tls = false

    public init() {}
}
