// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swift-raft-kv",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "RaftCore", targets: ["RaftCore"]),
        .library(name: "KVStore", targets: ["KVStore"]),
    ],
    targets: [
        // Pure Raft: standard library only, deterministic, no I/O.
        .target(name: "RaftCore"),
        .testTarget(name: "RaftCoreTests", dependencies: ["RaftCore"]),

        // Debian's liblmdb-dev, seen through a module map.
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        // Durable Raft log, key-value state machine and snapshots on LMDB.
        .target(name: "KVStore", dependencies: ["RaftCore", "CLMDB"]),
        .testTarget(
            name: "KVStoreTests",
            dependencies: ["KVStore", "RaftCore", "KVStoreCrashChild"]
        ),
        // Appends and acknowledges batches until the crash test kills it.
        .executableTarget(name: "KVStoreCrashChild", dependencies: ["KVStore"], path: "Tests/KVStoreCrashChild"),
        .executableTarget(name: "StorageBenchmark", dependencies: ["KVStore"], path: "Benchmarks/StorageBenchmark"),
    ],
    swiftLanguageModes: [.v6]
)
