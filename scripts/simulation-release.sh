#!/usr/bin/env bash
# Runs the seeded Raft simulation optimised: RaftCore and its tests copied into a temporary
# package and tested there with `swift test -c release`. In this package, `-c release` would
# rebuild every module and dependency in release, and the test targets that use @testable
# imports would need testability besides; the copy builds in well under a minute
# (Docs/TESTING.md has the figures). Arguments go to `swift test`; the default is
# `--filter Simulation`. RAFT_SIM_SEEDS and RAFT_SIM_SEED work as with `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."

copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
mkdir -p "$copy/Sources" "$copy/Tests"
cp -r Sources/RaftCore "$copy/Sources/"
cp -r Tests/RaftCoreTests "$copy/Tests/"
cat > "$copy/Package.swift" <<'MANIFEST'
// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "RaftCoreSimulation",
    targets: [
        .target(name: "RaftCore"),
        .testTarget(name: "RaftCoreTests", dependencies: ["RaftCore"]),
    ],
    swiftLanguageModes: [.v6]
)
MANIFEST
if [ $# -eq 0 ]; then set -- --filter Simulation; fi
swift test --package-path "$copy" -c release "$@"
