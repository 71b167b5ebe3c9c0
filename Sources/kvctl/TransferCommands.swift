import ArgumentParser
import Foundation
import KVClient

/// `export [PREFIX]`: every pair as NDJSON on stdout, streamed.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Write every pair under PREFIX to stdout as NDJSON lines.")
    @OptionGroup var global: GlobalOptions
    @Argument var prefix: String = ""

    func run() async throws {
        let stdout = FileHandle.standardOutput
        _ = try await global.withClient { client in
            try await client.export(prefix: prefix) { chunk in
                do {
                    try stdout.write(contentsOf: Data(chunk.readableBytesView))
                } catch {
                    // A full disk or a closed pipe downstream: a local file error (exit 1).
                    throw KVClientError.file(path: "stdout", reason: "cannot be written: \(error.localizedDescription)")
                }
            }
        }
    }
}

/// `import FILE`: writes every pair of an export through the cluster.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Write every pair of an NDJSON export file.")
    @OptionGroup var global: GlobalOptions
    @Argument var file: String

    func run() async throws {
        let result = try await global.withClient { try await $0.importPairs(fromFile: file) }
        MaintenanceOutput.imported(result).print(global.writeOut)
    }
}

/// `snapshot save FILE`.
struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "snapshot", abstract: "Save a snapshot, or describe a snapshot file.",
                                                    subcommands: [Save.self, SnapshotStatusCommand.self])

    struct Save: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "save", abstract: "Stream a consistent snapshot into FILE.")
        @OptionGroup var global: GlobalOptions
        @Argument var file: String

        func run() async throws {
            let saved = try await global.withClient { try await $0.saveSnapshot(to: file) }
            MaintenanceOutput.snapshotSaved(saved).print(global.writeOut)
        }
    }
}
