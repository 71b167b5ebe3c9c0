import ArgumentParser
import KVClient

/// `lock NAME [-- COMMAND ...]`: holds a distributed lock, printing its key, until interrupted,
/// or runs COMMAND while holding it (kvctl then exits with the command's status).
struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lock", abstract: "Acquire a distributed lock.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Seconds the lock outlives a holder that stops renewing it (a crash).") var ttl: UInt64 = 10
    @Argument var name: String
    @Argument(parsing: .postTerminator, help: "A command to run while holding the lock (after --).") var command: [String] = []

    func run() async throws {
        let (global, name, ttl, command) = (self.global, self.name, self.ttl, self.command)
        let status = try await global.withClient { client in
            try await Interruption.run {
                try await client.withLock(name, ttlSeconds: ttl) { ownership in
                    if command.isEmpty {
                        Output(json: .object(["key": .string(ownership.key), "lease": .string(String(ownership.lease))]),
                               simple: [ownership.key], table: nil).print(global.writeOut)
                        try await Interruption.waitForever()
                    }
                    return try await ChildCommand(arguments: command, environment: ["KVCTL_LOCK_KEY": ownership.key]).run()
                }
            }
        }
        if let status, status != 0 { throw ExitCode(status) }
    }
}

/// `elect NAME VALUE`: campaigns, prints the leader key and value once elected, and leads until
/// interrupted. `elect NAME`: prints each new leader's value as it changes.
struct ElectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "elect", abstract: "Campaign in an election, or observe its leaders.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Seconds leadership outlives a leader that stops renewing it.") var ttl: UInt64 = 10
    @Argument var name: String
    @Argument(help: "The value to announce as leader; without it, observe.") var value: String?

    func run() async throws {
        let (global, name, ttl, value) = (self.global, self.name, self.ttl, self.value)
        try await global.withClient { client in
            _ = try await Interruption.run {
                guard let value else {
                    for try await leader in client.observeLeader(name) { Self.output(key: leader.key, value: leader.value).print(global.writeOut) }
                    return
                }
                try await client.withLeadership(name, value: value, ttlSeconds: ttl) { ownership in
                    Self.output(key: ownership.key, value: value).print(global.writeOut)
                    try await Interruption.waitForever()
                }
            }
        }
    }

    static func output(key: String, value: String) -> Output {
        Output(json: .object(["key": .string(key), "value": .string(value)]), simple: [key, value], table: nil)
    }
}
