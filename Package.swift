// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-raft-kv",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "RaftCore", targets: ["RaftCore"]),
    ],
    targets: [
        // Pure Raft: standard library only, deterministic, no I/O.
        .target(name: "RaftCore"),
        .testTarget(name: "RaftCoreTests", dependencies: ["RaftCore"]),
    ],
    swiftLanguageModes: [.v6]
)
