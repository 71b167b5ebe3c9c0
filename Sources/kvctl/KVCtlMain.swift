import ArgumentParser
import Foundation
import KVClient

/// Entry point: parses, runs, and turns every outcome into kvctl's exit codes (see ``ExitStatus``).
/// ArgumentParser's own `main` would exit 64 on a usage error; kvctl promises 2, and only for
/// what ArgumentParser reports (parsing, validation); every other error is 1.
@main
enum KVCtlMain {
    static func main() async {
        let arguments = GlobalOptions.hoisted(Array(CommandLine.arguments.dropFirst()))
        let command: any ParsableCommand
        do {
            command = try KVCtl.parseAsRoot(arguments)
        } catch {
            exit(usageFailure: error)
        }
        do {
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                var synchronous = command
                try synchronous.run()
            }
            Foundation.exit(ExitStatus.ok.rawValue)
        } catch let failure as CommandFailure {
            failure.report()
        } catch let error as KVClientError {
            CommandFailure(error).report()
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch let usage as ValidationError {
            exit(usageFailure: usage)
        } catch let clean as CleanExit {
            exit(usageFailure: clean)
        } catch {
            // Not the command line's fault (a local I/O error, say): status 1, never 2, so a
            // script does not take it for a typo.
            CommandFailure(.refused, "\(error)").report()
        }
    }

    /// Help and version requests exit 0 with their text; every other parse or validation
    /// error prints the usage message and exits 2.
    private static func exit(usageFailure error: any Error) -> Never {
        let code = KVCtl.exitCode(for: error)
        let message = KVCtl.fullMessage(for: error)
        if code == .success {
            FileHandle.standardOutput.write(Data((message + "\n").utf8))
            Foundation.exit(ExitStatus.ok.rawValue)
        }
        FileHandle.standardError.write(Data((message + "\n").utf8))
        Foundation.exit(ExitStatus.usage.rawValue)
    }
}
