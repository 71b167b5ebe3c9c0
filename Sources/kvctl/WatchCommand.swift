import ArgumentParser
import KVClient

/// `watch KEY [--prefix] [--rev R] [--prev-value]`: prints changes until Ctrl-C.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "watch", abstract: "Print changes to a key or prefix until interrupted.")
    @OptionGroup var global: GlobalOptions
    @Argument var key: String
    @Flag(help: "Watch every key that starts with KEY.") var prefix = false
    @Option(help: "Deliver every change after this revision (default: from now on).") var rev: UInt64?
    @Flag(help: "Print the value each key had before the change.") var prevValue = false

    func run() async throws {
        let (global, key, prefix, rev, prevValue) = (self.global, self.key, self.prefix, self.rev, self.prevValue)
        try await global.withClient { client in
            _ = try await Interruption.run {
                let stream = client.watch(prefix ? .prefix(key) : .key(key), startRevision: rev, previousValues: prevValue)
                for try await message in stream {
                    guard case .events(_, let events) = message else { continue }
                    for event in events { WatchOutput.output(event, previousValue: prevValue).print(global.writeOut) }
                }
            }
        }
    }
}
