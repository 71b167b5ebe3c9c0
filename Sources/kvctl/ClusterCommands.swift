import ArgumentParser
import KVClient

/// `member list|add|remove`.
struct MemberCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "member", abstract: "List, add and remove members.",
                                                    subcommands: [List.self, Add.self, Remove.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the cluster's members.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let members = try await global.withClient { try await $0.members() }
            ClusterOutput.members(members).print(global.writeOut)
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a node (as a learner, promoted once caught up).")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String
        @Option(help: "The new node's Raft address (host:port).") var raftAddr: String
        @Option(help: "The new node's API address (host:port).") var apiAddr: String

        func run() async throws {
            let members = try await global.withClient { try await $0.addMember(id: id, raftAddress: raftAddr, apiAddress: apiAddr) }
            var output = ClusterOutput.members(members)
            output.simple = ["Member \(id) added to cluster"]
            output.print(global.writeOut)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a member.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String

        func run() async throws {
            try await global.withClient { try await $0.removeMember(id: id) }
            Output(json: .object(["removed": .string(id)]), simple: ["Member \(id) removed from cluster"], table: nil).print(global.writeOut)
        }
    }
}

/// `endpoint status|health [--cluster]`.
struct EndpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "endpoint", abstract: "Status and health of each endpoint.",
                                                    subcommands: [Status.self, Health.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Role, term, indexes, lag and size of each endpoint.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Every member's API address, from the cluster's configuration.") var cluster = false

        func run() async throws {
            let (statuses, malformed) = try await global.withClient { client in
                let targets = try await EndpointCommand.targets(client, cluster: cluster)
                return (await client.statuses(of: targets.endpoints), targets.malformed)
            }
            ClusterOutput.statuses(statuses).print(global.writeOut)
            let failures = statuses.compactMap { if case .failure(let e) = $0.result { e } else { nil } }
            try EndpointCommand.fail(failures + malformed, of: statuses.count + malformed.count)
        }
    }

    struct Health: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "health", abstract: "Whether each endpoint serves.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Every member's API address, from the cluster's configuration.") var cluster = false

        func run() async throws {
            let (healths, malformed) = try await global.withClient { client in
                let targets = try await EndpointCommand.targets(client, cluster: cluster)
                return (await client.healths(of: targets.endpoints), targets.malformed)
            }
            ClusterOutput.healths(healths).print(global.writeOut)
            var failures = healths.compactMap { if case .failure(let e) = $0.result { e } else { nil } }
            for entry in healths { if case .success(let health) = entry.result, !health.isHealthy { failures.append(.server(status: 200, message: "\(entry.endpoint) is unhealthy")) } }
            try EndpointCommand.fail(failures + malformed, of: healths.count + malformed.count)
        }
    }

    /// `--endpoints`, or with `--cluster` every member's address (a member whose address is
    /// malformed is skipped, and reported as a failure).
    static func targets(_ client: KVClient, cluster: Bool) async throws -> MemberEndpoints {
        guard cluster else { return MemberEndpoints(endpoints: client.configuration.endpoints, malformed: []) }
        return try await client.memberEndpoints()
    }

    /// Exit 3 when no endpoint answered, 1 when some failed; the rows already went to stdout.
    static func fail(_ failures: [KVClientError], of total: Int) throws {
        guard let first = failures.first else { return }
        let unreachable = failures.allSatisfy { if case .unreachable = $0 { true } else { false } }
        throw CommandFailure(failures.count == total && unreachable ? .unreachable : .refused,
                             failures.map(\.description).joined(separator: "; ").isEmpty ? first.description
                                 : failures.map(\.description).joined(separator: "; "))
    }
}

/// `move-leader ID`.
struct MoveLeaderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "move-leader", abstract: "Transfer leadership to a voter.")
    @OptionGroup var global: GlobalOptions
    @Argument var id: String

    func run() async throws {
        let transfer = try await global.withClient { try await $0.moveLeader(to: id) }
        ClusterOutput.transferred(transfer).print(global.writeOut)
    }
}
