// swift-tools-version:6.0
import PackageDescription

// A program that embeds RaftCore the way any other package would: through the RaftCore
// product of this repository, which it finds by path.
let package = Package(
    name: "EmbeddedRaft",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-raft-kv", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "EmbeddedRaft",
            dependencies: [.product(name: "RaftCore", package: "swift-raft-kv")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
