import ArgumentParser
import Foundation
import KVClient

/// `put KEY VALUE` (or `put KEY -` to read the value from stdin).
struct PutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "put", abstract: "Write a key.")
    @OptionGroup var global: GlobalOptions
    @Argument var key: String
    @Argument(help: "The value, or - to read it from stdin (everything, trailing newline included).") var value: String
    @Option(help: "Write only if the key's revision is this (0: only if it does not exist).") var ifRevision: UInt64?
    @Option(help: "Attach the key to this lease.") var lease: UInt64?

    func run() async throws {
        let text: String
        if value == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard let decoded = String(data: data, encoding: .utf8) else { throw CommandFailure(.usage, "stdin is not UTF-8") }
            text = decoded
        } else {
            text = value
        }
        let result = try await global.withClient { try await $0.put(key, text, ifRevision: ifRevision, lease: lease) }
        KeyValueOutput.put(result).print(global.writeOut)
    }
}

/// `get KEY [--prefix] [--keys-only] [--limit N] [--revision R]`.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Read a key, or every key under a prefix.")
    @OptionGroup var global: GlobalOptions
    @Argument var key: String
    @Flag(help: "Read every key that starts with KEY.") var prefix = false
    @Flag(help: "Print keys without values.") var keysOnly = false
    @Option(help: "At most this many keys (with --prefix).") var limit: Int?
    @Option(help: "Read the key as it was at this revision.") var revision: UInt64?

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if prefix && revision != nil { throw ValidationError("--revision reads one key; it does not go with --prefix") }
    }

    func run() async throws {
        if prefix {
            let pairs = try await global.withClient { try await $0.listAll(prefix: key, limit: limit) }
            KeyValueOutput.listing(pairs, keysOnly: keysOnly).print(global.writeOut)
        } else {
            let kv = try await global.withClient { try await $0.get(key, revision: revision) }
            KeyValueOutput.single(kv, keysOnly: keysOnly).print(global.writeOut)
        }
    }
}

/// `del KEY [--prefix] [--if-revision N]`.
struct DelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "del", abstract: "Delete a key, or every key under a prefix.")
    @OptionGroup var global: GlobalOptions
    @Argument var key: String
    @Flag(help: "Delete every key that starts with KEY.") var prefix = false
    @Option(help: "Delete only if the key's revision is this.") var ifRevision: UInt64?

    func validate() throws {
        if prefix && ifRevision != nil { throw ValidationError("--if-revision applies to one key, not with --prefix") }
    }

    func run() async throws {
        if prefix {
            let result = try await global.withClient { try await $0.deletePrefix(key) }
            KeyValueOutput.deleted(result.deleted, revision: result.revision).print(global.writeOut)
        } else {
            let result = try await global.withClient { try await $0.delete(key, ifRevision: ifRevision) }
            KeyValueOutput.deleted(result.deleted ? 1 : 0, revision: result.revision).print(global.writeOut)
        }
    }
}

/// `compact REV`.
struct CompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compact", abstract: "Forget history at and below a revision.")
    @OptionGroup var global: GlobalOptions
    @Argument var revision: UInt64

    func run() async throws {
        let result = try await global.withClient { try await $0.compact(revision: revision) }
        MaintenanceOutput.compacted(result).print(global.writeOut)
    }
}
