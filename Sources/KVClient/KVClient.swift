import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// A client of a kv-node cluster: keys, transactions, watches, leases, membership and
/// maintenance, over the nodes' HTTP API.
///
/// One instance owns one `HTTPClient` (a connection pool shared by every call) and is safe to
/// use from any number of tasks at once. Call ``shutdown()`` when done: the pool's connections
/// are closed there, not in `deinit`, because closing them is asynchronous.
///
/// Every call tries the endpoint that answered last, and moves on to the next one when an
/// endpoint cannot be reached or answers 503 (see ``KVClientConfiguration/retryBudget``).
/// Writes carry an `Idempotency-Key` made once per call, so a write retried after its answer
/// was lost is applied at most once. Calls the node cannot recognise as repeated (lease
/// grants and revocations, membership changes, compaction, import) move on only when the
/// connection could not be made; once sent, a lost answer is
/// ``KVClientError/answerLost(endpoint:underlying:)``. Calls throw ``KVClientError`` or, when the calling task
/// is cancelled, `CancellationError`.
public final class KVClient: Sendable {
    public let configuration: KVClientConfiguration
    let http: HTTPClient
    let logger: Logger
    /// The index of the endpoint that answered last: the next call starts there, so a client
    /// that failed over does not go back to a dead node first on every call.
    let preferredEndpoint = Mutex(0)

    public init(configuration: KVClientConfiguration, logger: Logger? = nil) throws(KVClientError) {
        guard !configuration.endpoints.isEmpty else { throw .invalidArgument("no endpoints given") }
        guard configuration.unreachableRounds > 0 else { throw .invalidArgument("unreachableRounds must be at least 1") }
        guard configuration.streamIdleTimeout > .zero, configuration.requestTimeout > .zero else {
            throw .invalidArgument("requestTimeout and streamIdleTimeout must be positive")
        }
        self.configuration = configuration
        self.logger = logger ?? Logger(label: "kv-client", factory: { _ in SwiftLogNoOpLogHandler() })
        var settings = HTTPClient.Configuration(
            tlsConfiguration: try Self.tlsConfiguration(configuration.tls),
            redirectConfiguration: .disallow,
            timeout: .init(connect: .nanoseconds(Self.nanoseconds(min(configuration.requestTimeout, .seconds(5))))),
            ignoreUncleanSSLShutdown: false
        )
        settings.httpVersion = .http1Only
        // A connection that cannot be made fails its requests at once, instead of holding them
        // until their deadline while the pool retries: the client fails over to the next
        // endpoint itself, and such a failure proves the request was never sent (RetryPolicy).
        settings.connectionPool.retryConnectionEstablishment = false
        // Watches hold a connection each for as long as they run.
        settings.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: settings)
    }

    /// A client of `endpoints` (`host:port`, optionally with `http://` or `https://`).
    public convenience init(endpoints: [String], tls: TLSSettings? = nil, credentials: Credentials? = nil) throws(KVClientError) {
        try self.init(configuration: KVClientConfiguration(endpoints: endpoints, tls: tls, credentials: credentials))
    }

    /// Closes every connection. Calls still running fail; the client cannot be used after.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    private static func tlsConfiguration(_ settings: TLSSettings?) throws(KVClientError) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        guard let settings else { return tls }
        do {
            if let caFile = settings.caFile {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            }
            switch (settings.certificateFile, settings.keyFile) {
            case (let certificate?, let key?):
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            case (nil, nil):
                break
            default:
                throw KVClientError.invalidArgument("a client certificate needs both its certificate and its key file")
            }
        } catch let error as KVClientError {
            throw error
        } catch {
            throw .invalidArgument("TLS files: \(error)")
        }
        if !settings.verifyHostname { tls.certificateVerification = .noHostnameVerification }
        return tls
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .max }
        let (total, sumOverflow) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return sumOverflow ? .max : total
    }
}
