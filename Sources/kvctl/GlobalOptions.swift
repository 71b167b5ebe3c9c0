import ArgumentParser
import Foundation
import KVClient

/// The flags every command takes: where the cluster is, how to print, and who we are to it.
struct GlobalOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Comma-separated host:port list (default: $KVCTL_ENDPOINTS, else 127.0.0.1:9000).", valueName: "h:p,h:p"))
    var endpoints: String?

    @Option(name: [.customShort("w"), .customLong("write-out")], help: "Output format: simple, json or table.")
    var writeOut: OutputFormat = .simple

    @Option(help: "Read consistency: linearizable or stale.")
    var consistency: ReadConsistency = .linearizable

    @Option(help: ArgumentHelp("CA certificate (PEM) that signed the nodes' certificates; implies HTTPS.", valueName: "file"))
    var cacert: String?

    @Option(help: ArgumentHelp("Client certificate (PEM), for nodes started with --client-cert-auth.", valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("Client certificate's private key (PEM).", valueName: "file"))
    var key: String?

    @Flag(help: "Do not check that the node's certificate names the host dialled (the chain is still checked).")
    var insecureSkipHostnameVerify = false

    @Option(help: ArgumentHelp("HTTP Basic credentials; without :password it is read from $KVCTL_PASSWORD.", valueName: "user[:password]"))
    var user: String?

    @Option(help: ArgumentHelp("Bearer token.", valueName: "token"))
    var token: String?

    @Option(help: ArgumentHelp("Seconds one call keeps retrying other endpoints before giving up.", valueName: "seconds"))
    var commandTimeout: Int = 30

    func validate() throws {
        if user != nil && token != nil { throw ValidationError("--user and --token exclude each other") }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        if !(1...3_600).contains(commandTimeout) { throw ValidationError("--command-timeout must be 1 to 3600 seconds") }
    }

    /// The endpoints in effect: the flag, else `KVCTL_ENDPOINTS`, else 127.0.0.1:9000.
    var endpointList: [String] {
        let text = endpoints ?? ProcessInfo.processInfo.environment["KVCTL_ENDPOINTS"] ?? "127.0.0.1:9000"
        return text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func configuration() throws -> KVClientConfiguration {
        var tls: TLSSettings?
        if cacert != nil || cert != nil || endpointList.contains(where: { $0.hasPrefix("https://") }) {
            tls = TLSSettings(caFile: cacert, certificateFile: cert, keyFile: key, verifyHostname: !insecureSkipHostnameVerify)
        }
        var credentials: Credentials?
        if let user {
            if let colon = user.firstIndex(of: ":") {
                credentials = .basic(user: String(user[..<colon]), password: String(user[user.index(after: colon)...]))
            } else {
                credentials = .basic(user: user, password: ProcessInfo.processInfo.environment["KVCTL_PASSWORD"] ?? "")
            }
        } else if let token {
            credentials = .bearer(token)
        }
        // One attempt may not outlast the whole command's time.
        let budget = Duration.seconds(commandTimeout)
        return try KVClientConfiguration(endpoints: endpointList, tls: tls, credentials: credentials,
                                         requestTimeout: min(.seconds(10), budget), retryBudget: budget,
                                         defaultConsistency: consistency)
    }

    /// Runs `body` with a client, and shuts the client down after, whatever happens.
    func withClient<T>(_ body: (KVClient) async throws -> T) async throws -> T {
        let client = try KVClient(configuration: try configuration())
        do {
            let result = try await body(client)
            try? await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// etcdctl users write global flags before the command (`kvctl --endpoints X get k`);
    /// ArgumentParser reads a subcommand's options only after its name. This moves the global
    /// options written before the first command word to the end of the line (before a `--`,
    /// which ends options for `lock NAME -- COMMAND`).
    static func hoisted(_ arguments: [String]) -> [String] {
        let valued: Set<String> = ["--endpoints", "-w", "--write-out", "--consistency", "--cacert", "--cert", "--key",
                                   "--user", "--token", "--command-timeout"]
        let flags: Set<String> = ["--insecure-skip-hostname-verify"]
        var globals: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            if valued.contains(argument), index + 1 < arguments.count {
                globals += arguments[index...(index + 1)]
                index += 2
            } else if (valued.contains(name) && argument.contains("=")) || flags.contains(argument) {
                globals.append(argument)
                index += 1
            } else {
                break
            }
        }
        guard !globals.isEmpty else { return arguments }
        var rest = Array(arguments[index...])
        let end = rest.firstIndex(of: "--") ?? rest.endIndex
        rest.insert(contentsOf: globals, at: end)
        return rest
    }
}

extension ReadConsistency: ExpressibleByArgument {}
