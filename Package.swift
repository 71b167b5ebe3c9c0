// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-raft-kv",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "RaftCore", targets: ["RaftCore"]),
        .library(name: "Transport", targets: ["Transport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // Pure Raft: standard library only, deterministic, no I/O.
        .target(name: "RaftCore"),
        .testTarget(name: "RaftCoreTests", dependencies: ["RaftCore"]),

        // TCP transport between nodes: framing, versioned codec, per-peer connections.
        .target(
            name: "Transport",
            dependencies: [
                "RaftCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "TransportTests",
            dependencies: [
                "Transport",
                "RaftCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "TransportBenchmark",
            dependencies: [
                "Transport",
                "RaftCore",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/TransportBenchmark"
        ),
    ],
    swiftLanguageModes: [.v6]
)
