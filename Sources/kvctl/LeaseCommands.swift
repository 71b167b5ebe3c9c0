import ArgumentParser
import KVClient

/// `lease grant|keep-alive|revoke|ttl|list`.
struct LeaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lease", abstract: "Grant, renew, inspect and revoke leases.",
        subcommands: [Grant.self, KeepAlive.self, Revoke.self, TimeToLive.self, List.self])

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "grant", abstract: "Grant a lease of TTL seconds.")
        @OptionGroup var global: GlobalOptions
        @Argument var ttl: UInt64

        func run() async throws {
            let grant = try await global.withClient { try await $0.grantLease(ttlSeconds: ttl) }
            LeaseOutput.granted(grant).print(global.writeOut)
        }
    }

    struct KeepAlive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "keep-alive", abstract: "Keep a lease alive until interrupted.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: UInt64

        func run() async throws {
            let (global, id) = (self.global, self.id)
            try await global.withClient { client in
                _ = try await Interruption.run {
                    try await client.keepLeaseAlive(id) { LeaseOutput.keptAlive($0).print(global.writeOut) }
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a lease and delete its keys.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: UInt64

        func run() async throws {
            let revocation = try await global.withClient { try await $0.revokeLease(id) }
            LeaseOutput.revoked(revocation).print(global.writeOut)
        }
    }

    struct TimeToLive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ttl", abstract: "Show a lease's TTL and what remains of it.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: UInt64
        @Flag(help: "List the keys attached to the lease.") var keys = false

        func run() async throws {
            let info = try await global.withClient { try await $0.leaseTimeToLive(id) }
            LeaseOutput.timeToLive(info, keys: keys).print(global.writeOut)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List every lease.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let leases = try await global.withClient { try await $0.leases() }
            LeaseOutput.list(leases).print(global.writeOut)
        }
    }
}
