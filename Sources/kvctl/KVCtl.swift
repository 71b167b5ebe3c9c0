import ArgumentParser

/// The root command: etcdctl's vocabulary over kv-node's HTTP API.
struct KVCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvctl",
        abstract: "A command-line client of a kv-node cluster.",
        discussion: """
            Exit status: 0 ok, 1 the server refused (its message on stderr), 2 usage, 3 no endpoint answered.
            Environment: KVCTL_ENDPOINTS (default endpoints), KVCTL_PASSWORD (for --user without a password).
            """,
        subcommands: [
            PutCommand.self, GetCommand.self, DelCommand.self, WatchCommand.self, TxnCommand.self,
            LeaseCommand.self, LockCommand.self, ElectCommand.self,
            MemberCommand.self, EndpointCommand.self, MoveLeaderCommand.self,
            SnapshotCommand.self, ExportCommand.self, ImportCommand.self, CompactCommand.self,
        ]
    )
}
