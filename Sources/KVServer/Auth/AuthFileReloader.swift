import Logging
import ServiceLifecycle
import UnixSignals

/// Reads `--auth-file` again on every SIGHUP, until the node shuts down. A file that does
/// not parse leaves the users in force as they were, and says why in the log.
struct AuthFileReloader: Service {
    let authenticator: ClientAuthenticator
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            do {
                try authenticator.reload()
                logger.notice("auth file reloaded", metadata: ["file": "\(authenticator.path)"])
            } catch {
                logger.error("auth file not reloaded; the previous users stay in force", metadata: ["error": "\(error)"])
            }
        }
    }
}
