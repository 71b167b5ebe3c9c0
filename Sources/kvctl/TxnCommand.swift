import ArgumentParser
import Foundation
import KVClient

/// `txn`: etcdctl's transaction syntax from stdin, typed or piped (see `TxnScript`).
struct TxnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "txn", abstract: "Run a transaction read from stdin: compares, blank line, success ops, blank line, failure ops.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let txn: Txn
        do {
            txn = try TxnScript.parse(Self.readScript(interactive: isatty(STDIN_FILENO) != 0))
        } catch {
            throw CommandFailure(.usage, error.description)
        }
        let result = try await global.withClient { try await $0.txn(txn) }
        TxnOutput.output(result).print(global.writeOut)
    }

    /// Reads the three parts, each ended by a blank line (the last also by the end of input),
    /// prompting for each when a person types them.
    private static func readScript(interactive: Bool) -> String {
        let prompts = ["compares:", "success requests (get, put, del):", "failure requests (get, put, del):"]
        var lines: [String] = []
        for (part, prompt) in prompts.enumerated() {
            if interactive { FileHandle.standardError.write(Data((prompt + "\n").utf8)) }
            while let line = readLine(strippingNewline: true) {
                if line.trimmingCharacters(in: .whitespaces).isEmpty { break }
                lines.append(line)
            }
            if part < prompts.count - 1 { lines.append("") }
        }
        return lines.joined(separator: "\n")
    }
}
