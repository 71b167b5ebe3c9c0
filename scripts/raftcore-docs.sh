#!/usr/bin/env bash
# Builds RaftCore's DocC documentation. `scripts/raftcore-docs.sh preview` serves it on
# localhost; without an argument (as CI runs it) it converts the catalog and fails on any
# warning, such as a link to a symbol that no longer exists. RaftCore needs only the
# standard library, so swiftc emits its symbol graph directly: no package build, whose
# flags would otherwise change and rebuild everything above RaftCore.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mapfile -t sources < <(find Sources/RaftCore -name '*.swift' | sort)
swiftc -emit-module -module-name RaftCore -package-name swift_raft_kv -swift-version 6 \
    -emit-module-path "$work/RaftCore.swiftmodule" \
    -emit-symbol-graph -emit-symbol-graph-dir "$work" "${sources[@]}"
if [ "${1:-}" = preview ]; then
    docc preview Sources/RaftCore/RaftCore.docc --additional-symbol-graph-dir "$work"
else
    docc convert Sources/RaftCore/RaftCore.docc --additional-symbol-graph-dir "$work" \
        --output-path "$work/RaftCore.doccarchive" --warnings-as-errors
    echo "RaftCore documentation: no warnings"
fi
