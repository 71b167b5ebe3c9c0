import Logging
import NIOCore
import NIOPosix
import RaftCore
import Synchronization
import Testing
@testable import Transport

struct DeadlineExceeded: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Waits until `condition` holds, checking every few milliseconds; fails after `timeout`.
/// Tests wait on outcomes this way instead of sleeping for a guessed duration.
func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: () -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while !condition() {
        guard clock.now < deadline else { throw DeadlineExceeded(what: what) }
        try await Task.sleep(for: .milliseconds(2))
    }
}

/// Everything one transport reported, recorded by a task that drains its event stream.
final class EventLog: Sendable {
    struct Record {
        var messages: [Message] = []
        var requests: [IncomingPeerRequest] = []
        var unreachable: [NodeID] = []
        var refusals: [(peer: NodeID, reason: String)] = []
    }

    private final class Store: Sendable {
        let record = Mutex(Record())
    }

    private let store = Store()
    private let drain: Task<Void, Never>

    /// `onRequest` answers forwarded requests as the node runtime would.
    init(_ transport: RaftTransport, onRequest: (@Sendable (IncomingPeerRequest) -> Void)? = nil) {
        let store = self.store
        drain = Task {
            for await event in transport.events {
                switch event {
                case .message(let message): store.record.withLock { $0.messages.append(message) }
                case .request(let request):
                    store.record.withLock { $0.requests.append(request) }
                    onRequest?(request)
                case .unreachable(let peer): store.record.withLock { $0.unreachable.append(peer) }
                case .refused(let peer, let reason): store.record.withLock { $0.refusals.append((peer, reason)) }
                }
            }
        }
    }

    func read<T>(_ body: (Record) -> T) -> T { store.record.withLock { body($0) } }

    /// Waits for the drain to finish (the stream ends when the transport shuts down).
    func finished() async { await drain.value }
}

/// Log lines kept in memory, so tests can check that a refusal or a bad frame was logged.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }

    func contains(_ fragment: String) -> Bool { lines.withLock { $0.contains { $0.contains(fragment) } } }

    func logger(_ label: String) -> Logger {
        Logger(label: label) { _ in Handler(capture: self) }
    }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        func log(event: LogEvent) { capture.append("\(event.level) \(event.message)") }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
    }
}

/// How long a test waits for a peer's answer. The tests check which answer comes back, not
/// how soon: the unit phase runs every suite at once on two cores, and a request that dials,
/// handshakes and is answered has been seen to take longer than the transport's 5 s default.
let answerDeadline: Duration = .seconds(60)

/// Test settings: ephemeral ports on 127.0.0.1 and quick retries.
func testConfiguration(_ id: NodeID, cluster: String = "test-cluster", port: Int = 0) -> TransportConfiguration {
    var configuration = TransportConfiguration(localID: id, clusterID: cluster, host: "127.0.0.1", port: port)
    configuration.reconnectBackoff = ReconnectBackoff(initial: .milliseconds(5), maximum: .milliseconds(100))
    configuration.connectTimeout = .seconds(1)
    // A raw test peer may be starved for seconds on a loaded machine between connecting and
    // sending its hello; the server must not give up on it meanwhile.
    configuration.handshakeTimeout = .seconds(60)
    return configuration
}

func address(of transport: RaftTransport) throws -> PeerAddress {
    PeerAddress(host: "127.0.0.1", port: try #require(transport.port))
}

/// Runs `body` with started transports and shuts every one of them down afterwards, also
/// when `body` throws.
func withTransports<T>(
    _ configurations: [TransportConfiguration], logs: LogCapture? = nil,
    _ body: ([RaftTransport]) async throws -> T
) async throws -> T {
    var started: [RaftTransport] = []
    do {
        for configuration in configurations {
            let logger = logs?.logger("\(configuration.localID)") ?? Logger(label: "test")
            started.append(try await RaftTransport.start(configuration: configuration, logger: logger))
        }
        let result = try await body(started)
        for transport in started { await transport.shutdown() }
        return result
    } catch {
        for transport in started { await transport.shutdown() }
        throw error
    }
}

/// Runs `body` with a one-thread event loop group that is shut down afterwards, also on failure.
func withEventLoopGroup<T>(_ body: (any EventLoopGroup) async throws -> T) async throws -> T {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
        let result = try await body(group)
        try await group.shutdownGracefully()
        return result
    } catch {
        try? await group.shutdownGracefully()
        throw error
    }
}
