import ArgumentParser
import HTTPLimits
import Launcher
import Logging

/// `swift run kv-launcher`: starts (or resumes) a supervised kv-node cluster and serves the
/// dashboard and control API. All logic lives in the Launcher library.
@main
struct KVLauncher: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kv-launcher",
        abstract: "Start a supervised kv-node cluster with a live dashboard.")

    @Option(help: "Address the dashboard and control API listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port of the dashboard and control API.")
    var port = 8080

    @Option(help: "API port of node1; node i uses base+10(i-1) for its API and one above for Raft.")
    var basePort = 9000

    @Option(help: "Directory holding cluster.json and one directory per node.")
    var dataDir = "./data"

    @Option(help: "Path of the kv-node executable (default: beside kv-launcher, built if missing).")
    var kvNode: String?

    @Option(help: "Number of nodes a first start bootstraps.")
    var nodes = 3

    @Option(name: .customLong("max-http-connections"), help: "Dashboard and control API connections open at once; more are closed when accepted.")
    var maxHTTPConnections = HTTPServerLimits.defaultMaxConnections

    @Option(name: .customLong("http-idle-timeout-ms"), help: "Close a dashboard or API connection that made no progress for this long.")
    var httpIdleTimeoutMilliseconds = HTTPServerLimits.defaultIdleTimeoutMilliseconds

    @Option(name: .customLong("allowed-host"),
            help: "Another name the dashboard may be addressed by (NAME or NAME:PORT; repeatable). Loopback names and --host always are.")
    var allowedHosts: [String] = []

    @Option(name: .customLong("control-token-file"),
            help: "File (mode 0600) holding a token every /api/ request must send as Authorization: Bearer TOKEN.")
    var controlTokenFile: String?

    @Flag(help: "Nodes serve their API over HTTPS with their cluster certificate; the launcher trusts the cluster CA (<data-dir>/tls/ca.pem, for curl's --cacert). Adding nodes is not available with it yet.")
    var tls = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel = "info"

    func validate() throws {
        guard (1...65_535).contains(port) else { throw ValidationError("--port must be 1...65535") }
        guard (1...65_524).contains(basePort) else { throw ValidationError("--base-port must leave room for node ports") }
        guard (1...9).contains(nodes) else { throw ValidationError("--nodes must be 1...9") }
        guard maxHTTPConnections > 0 else { throw ValidationError("--max-http-connections must be > 0") }
        guard httpIdleTimeoutMilliseconds > 0 else { throw ValidationError("--http-idle-timeout-ms must be > 0") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() async throws {
        var options = LauncherOptions()
        options.host = host
        options.port = port
        options.basePort = basePort
        options.dataDirectory = dataDir
        options.kvNodePath = kvNode
        options.initialNodes = nodes
        options.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        options.allowedHosts = allowedHosts
        options.controlTokenFile = controlTokenFile
        options.tls = tls
        options.http = HTTPServerLimits(maxConnections: maxHTTPConnections, idleTimeoutMilliseconds: httpIdleTimeoutMilliseconds)
        try await Launcher.run(options)
    }
}
