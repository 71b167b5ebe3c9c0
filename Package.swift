// swift-tools-version:6.0
import PackageDescription

/// The seeded cluster simulator is CPU-bound: RaftCore and its tests are optimised even in
/// debug builds so that hundreds of seeds fit in about a minute.
let optimizedEvenInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "swift-raft-kv",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "RaftCore", targets: ["RaftCore"]),
    ],
    targets: [
        // Pure Raft: standard library only, deterministic, no I/O.
        .target(name: "RaftCore", swiftSettings: optimizedEvenInDebug),
        .testTarget(name: "RaftCoreTests", dependencies: ["RaftCore"], swiftSettings: optimizedEvenInDebug),
    ],
    swiftLanguageModes: [.v6]
)
