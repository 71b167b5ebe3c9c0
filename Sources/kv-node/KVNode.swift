import ArgumentParser

/// `kv-node`: runs a node (`serve`, the default, so `kv-node --id ...` works as it always
/// did) or prepares a data directory offline (`restore`).
@main
struct KVNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kv-node",
        abstract: "A node of the Raft-replicated key-value store.",
        subcommands: [ServeCommand.self, RestoreCommand.self],
        defaultSubcommand: ServeCommand.self)
}
