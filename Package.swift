// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "swift-raft-kv",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RaftCore", targets: ["RaftCore"]),
        .library(name: "KVStore", targets: ["KVStore"]),
        .library(name: "Transport", targets: ["Transport"]),
        .library(name: "NodeRuntime", targets: ["NodeRuntime"]),
        .library(name: "KVServer", targets: ["KVServer"]),
        .library(name: "ClusterAPI", targets: ["ClusterAPI"]),
        .executable(name: "kv-node", targets: ["kv-node"]),
        .library(name: "KVClient", targets: ["KVClient"]),
        .executable(name: "kvctl", targets: ["kvctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // Without the default FullFoundation trait: kv-node links FoundationEssentials only, not
        // Foundation and ICU (Docs/BENCHMARKS.md, "Idle footprint").
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
    ],
    targets: [
        // Pure Raft: standard library only, deterministic, no I/O.
        .target(name: "RaftCore"),
        .testTarget(name: "RaftCoreTests", dependencies: ["RaftCore"]),

        // Debian's liblmdb-dev, seen through a module map.
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        // Durable Raft log, key-value state machine and snapshots on LMDB: storage only.
        .target(name: "KVStore", dependencies: ["RaftCore", "CLMDB"]),
        .testTarget(
            name: "KVStoreTests",
            dependencies: ["KVStore", "RaftCore", "KVStoreCrashChild"]
        ),
        // Appends and acknowledges batches until the crash test kills it.
        .executableTarget(name: "KVStoreCrashChild", dependencies: ["KVStore"], path: "Tests/KVStoreCrashChild"),
        .executableTarget(name: "StorageBenchmark", dependencies: ["KVStore"], path: "Benchmarks/StorageBenchmark"),

        // TCP transport between nodes: framing, versioned codec, per-peer connections,
        // optional mutual TLS.
        .target(
            name: "Transport",
            dependencies: [
                "RaftCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "TransportTests",
            dependencies: [
                "Transport",
                "RaftCore",
                "TLSTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A cluster CA and the node certificates it issues (P-256): the launcher's own CA and
        // the TLS tests' throwaway ones.
        .target(
            name: "PeerCertificates",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Certificate authorities and node certificates made in memory for the TLS tests.
        .target(
            name: "TLSTestSupport",
            dependencies: [
                "PeerCertificates",
                .product(name: "X509", package: "swift-certificates"),
            ],
            path: "Tests/TLSTestSupport"
        ),
        .executableTarget(
            name: "TransportBenchmark",
            dependencies: ["Transport", "RaftCore", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/TransportBenchmark"
        ),

        // The actor that drives RaftCore: storage below it, the transport beside it; forwarding,
        // linearizable reads and membership.
        .target(
            name: "NodeRuntime",
            dependencies: ["KVStore", "RaftCore", "Transport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "NodeRuntimeTests",
            dependencies: [
                "NodeRuntime", "KVStore", "RaftCore", "Transport", "RuntimeTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Runtimes in one process on real stores and loopback transports, for the runtime's
        // and the HTTP routes' tests.
        .target(
            name: "RuntimeTestSupport",
            dependencies: [
                "NodeRuntime", "KVStore", "RaftCore", "Transport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/RuntimeTestSupport"
        ),

        // Connection cap and idle timeout shared by kv-node's and kv-launcher's HTTP servers.
        .target(
            name: "HTTPLimits",
            dependencies: [
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),

        .testTarget(
            name: "HTTPLimitsTests",
            dependencies: [
                "HTTPLimits",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),

        // The JSON documents kv-node serves and kv-launcher (or any client) reads: Foundation only.
        .target(name: "ClusterAPI"),
        .testTarget(name: "ClusterAPITests", dependencies: ["ClusterAPI"]),

        // The node's HTTP API (Hummingbird) and the wiring of store, transport and runtime.
        .target(
            name: "KVServer",
            dependencies: [
                "NodeRuntime", "KVStore", "Transport", "RaftCore", "HTTPLimits", "ClusterAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "kv-node",
            dependencies: ["KVServer", "HTTPLimits", "Transport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            // The Swift runtime and FoundationEssentials linked in, dead code stripped: an idle
            // node maps 1.5 MB less than with the shared libraries (Docs/BENCHMARKS.md, "Idle
            // footprint"). FoundationEssentials' C shims must follow it on the link line.
            linkerSettings: [.unsafeFlags(["-static-stdlib", "-l_FoundationCShims", "-l_FoundationCollections"], .when(platforms: [.linux]))]
        ),
        // A plain loopback HTTP/1.1 exchange and its answer, for tests about what goes over the
        // wire (process tests, and the lean handler's raw-socket tests).
        .target(name: "HTTPTestSupport", path: "Tests/HTTPTestSupport"),
        .testTarget(
            name: "KVServerTests",
            dependencies: [
                "KVServer", "NodeRuntime", "KVStore", "RaftCore", "ClusterAPI", "TLSTestSupport", "KVClient", "HTTPTestSupport",
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The client library: every call of the node API over AsyncHTTPClient, with failover
        // between endpoints, retries that never apply a write twice, watches that resume.
        .target(
            name: "KVClient",
            dependencies: [
                "ClusterAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The client library's parsers and policies (event streams, endpoints, redirects, txn
        // scripts, kvctl's argument hoisting) against hostile input: pure, no processes, no sockets.
        .testTarget(name: "KVClientTests", dependencies: ["KVClient", "kvctl"]),
        // Thin executable: etcdctl's vocabulary over KVClient (KVStore only reads snapshot files).
        .executableTarget(
            name: "kvctl",
            dependencies: ["KVClient", "ClusterAPI", "KVStore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // A compiled, runnable use of the client library.
        .executableTarget(name: "KVClientExample", dependencies: ["KVClient"], path: "Examples/KVClientExample"),
        // The HTTP routes driven without sockets (HummingbirdTesting's router mode) against a
        // real in-process runtime. Not named *KVServerTests*: scripts/test-all.sh selects the
        // process tests by that name.
        .testTarget(
            name: "KVServerRouteTests",
            dependencies: [
                "KVServer", "NodeRuntime", "KVStore", "RaftCore", "RuntimeTestSupport", "HTTPTestSupport",
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),

        // Process supervision, control API, event stream and the dashboard served from resources.
        .target(
            name: "Launcher",
            dependencies: [
                "HTTPLimits", "ClusterAPI", "PeerCertificates",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            resources: [.copy("Dashboard")]
        ),
        // Thin executable: parses flags and runs the launcher.
        .executableTarget(
            name: "kv-launcher",
            dependencies: [
                "Launcher", "HTTPLimits",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "LauncherTests",
            dependencies: [
                "Launcher", "ClusterAPI", "PeerCertificates",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
